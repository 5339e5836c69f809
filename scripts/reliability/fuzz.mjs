#!/usr/bin/env node
// Hostile input: generated cases across the CNI_* environment (raw bytes
// that are not UTF-8 too), stdin JSON, CNI_ARGS, pool files (deep nesting,
// huge pools) and log settings, each invalid by construction.
//   node scripts/reliability/fuzz.mjs [--cases 10000] [--seed 1] [--concurrency 4]
import { fmtMs, flags, percentile, printFigures, requireBuilt } from "./lib/common.mjs";
import { runFuzz } from "./lib/fuzz.mjs";

const opt = flags({ cases: 10_000, seed: 1, concurrency: 4 });
requireBuilt();
console.log(`fuzz: ${opt.cases} generated hostile cases, seed ${opt.seed}`);
const f = await runFuzz({ seed: opt.seed, count: opt.cases, concurrency: opt.concurrency, log: console.log });
const rows = [
  ["cases", `${f.cases} in ${f.seconds.toFixed(1)} s (a call: median ${fmtMs(percentile(f.durations, 50))}, max ${fmtMs(Math.max(...f.durations))})`],
  ["by kind", [...f.byKind].sort().map(([k, n]) => `${k} ${n}`).join(", ")],
  ["answers by error code", [...f.byCode].sort((a, b) => Number(a[0]) - Number(b[0])).map(([k, n]) => `${k}: ${n}`).join(", ")],
  ["wrong answers (not one CNI error, wrong code, exit 0, signal, stack trace)", String(f.failures.filter((x) => !["store-change", "path-created", "cwd-write"].includes(x.kind)).length)],
  ["store changes (snapshot of the sandbox, dataDir included)", String(f.storeChanges)],
  ["paths created outside dataDir (marker search)", String(f.escapes)],
  ["ipvlan-attach delegate cases", f.delegate ? "run" : "skipped (dist/bin/ipvlan-attach missing)"],
];
printFigures("figures", rows);
for (const x of f.failures.slice(0, 20)) console.log(`  ! case ${x.id} ${x.kind} ${x.command}: ${x.problems.join("; ").slice(0, 400)}`);
console.log(f.failures.length === 0 ? "\nfuzz: OK" : `\nfuzz: ${f.failures.length} problem(s)`);
process.exit(f.failures.length === 0 ? 0 : 1);
