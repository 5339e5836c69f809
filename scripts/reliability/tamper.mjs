#!/usr/bin/env node
// The store tampered with: FIFOs, character devices and symbolic links in
// place of store files and directories, and dataDir or poolDir reached
// through a directory another user could replace; ADD, DEL, GC, STATUS and
// store check against each. Every case is listed (no seed).
//   node scripts/reliability/tamper.mjs
import { printFigures, requireBuilt } from "./lib/common.mjs";
import { runTamper } from "./lib/tamper.mjs";

requireBuilt();
console.log("tamper: FIFOs, devices and links in the store, untrusted directories on dataDir's and poolDir's way");
const f = await runTamper({ log: console.log });
printFigures("figures", [
  ["cases", `${f.cases} in ${f.seconds.toFixed(1)} s`],
  ["answers", `success ${f.ok}, ${[...f.byCode].sort((a, b) => a[0] - b[0]).map(([k, n]) => `code ${k}: ${n}`).join(", ")}, store check ${f.cases - f.ok - [...f.byCode.values()].reduce((a, b) => a + b, 0)}`],
  ["hangs (killed at 20 s)", String(f.hangs)],
  ["violations (hang, wrong answer, success through an untrusted path, write outside dataDir, address twice)", String(f.violations.length)],
]);
for (const v of f.violations.slice(0, 20)) console.log(`  ! ${v}`);
console.log(f.violations.length === 0 ? "\ntamper: OK" : `\ntamper: ${f.violations.length} problem(s)`);
process.exit(f.violations.length === 0 ? 0 : 1);
