#!/usr/bin/env node
// `npm run reliability`: every reliability script in turn (figures on stdout),
// after building. Extra arguments are not passed on; run a script alone to
// change its counts. Exit status: the number of scripts that found a problem.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const build = spawnSync("node", [join(root, "build", "build.mjs"), "spiderpool-ipam", "ipvlan-attach"], { stdio: "inherit" });
if (build.status !== 0) process.exit(1);
let failed = 0;
const summary = [];
for (const script of ["load.mjs", "crash.mjs", "locks.mjs", "fuzz.mjs", "tamper.mjs"]) {
  console.log(`\n### node scripts/reliability/${script}`);
  const t0 = Date.now();
  const r = spawnSync("node", [join(here, script)], { stdio: "inherit", timeout: 45 * 60_000 });
  const ok = r.status === 0;
  if (!ok) failed++;
  summary.push(`${script.padEnd(10)} ${ok ? "OK" : `FAILED (${r.signal ?? `exit ${r.status}`})`} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
console.log(`\n### reliability\n${summary.join("\n")}`);
process.exit(failed);
