#!/usr/bin/env node
// Crashes: spiderpool-ipam killed (SIGKILL) at a random instant of ADD or DEL,
// then the runtime's follow-up (retried ADD, DEL or GC). With strace, also a
// kill at every store syscall of ADD and DEL in turn.
//   node scripts/reliability/crash.mjs [--runs 500] [--seed 1] [--strace true]
import { flags, printFigures, requireBuilt } from "./lib/common.mjs";
import { hasStrace, runCrash, runSyscallKills } from "./lib/crash.mjs";

const opt = flags({ runs: 500, seed: 1, strace: true, timeLimitS: 1200 });
requireBuilt();
console.log(`crash: spiderpool-ipam ADD and DEL killed with SIGKILL at a random instant until ${opt.runs} were killed, seed ${opt.seed}`);
const f = await runCrash({ runs: opt.runs, seed: opt.seed, mode: "random", timeLimitMs: opt.timeLimitS * 1000, log: console.log });
const rows = [
  ["calls", `${f.killed + f.finishedFirst}: ${f.killed} killed, ${f.finishedFirst} finished before their kill instant (checked too)`],
  ["call duration (median, unkilled)", `ADD ${f.calibration.ADD.toFixed(1)} ms, DEL ${f.calibration.DEL.toFixed(1)} ms`],
  ["wall time", `${f.seconds.toFixed(1)} s`],
];
for (const [where, n] of [...f.landings].sort()) rows.push([`  ${where}`, String(n)]);
rows.push(["follow-ups", [...f.follows].map(([k, n]) => `${k} ${n}`).join(", ")]);
rows.push(["periodic GC + full store checks", String(f.gcRounds)]);
rows.push(["violations (doubled, lost, damaged, not released)", String(f.violations.length)]);
rows.push(["left after deleting everything", `${f.final.records} records, ${f.final.claims} claims, ${f.final.strays} stray files`]);
printFigures("kills at random instants", rows);
const bad = [...f.violations];
if (f.final.records + f.final.claims + f.final.strays > 0) bad.push("something was left after deleting everything");
if (opt.strace && hasStrace()) {
  console.log("\ncrash: a kill at every mkdir/rename/fsync/unlink/rmdir of ADD and DEL (strace fault injection)");
  const g = await runSyscallKills({ log: console.log });
  const sys = [["kill points", `${g.points} (ADD ${g.byCommand.ADD}, DEL ${g.byCommand.DEL})`], ["wall time", `${g.seconds.toFixed(1)} s`]];
  const byState = new Map();
  for (const k of g.landings.keys()) {
    const state = k.replace(/ at \w+ #\d+/, "");
    byState.set(state, (byState.get(state) ?? 0) + 1);
  }
  for (const [state, n] of [...byState].sort()) sys.push([`  ${state}`, String(n)]);
  sys.push(["violations", String(g.violations.length)]);
  printFigures("kills at every store syscall", sys);
  bad.push(...g.violations);
} else if (opt.strace) console.log("\n(strace not installed: the per-syscall kills are skipped)");
for (const b of bad.slice(0, 20)) console.log(`  ! ${b}`);
console.log(bad.length === 0 ? "\ncrash: OK" : `\ncrash: ${bad.length} problem(s)`);
process.exit(bad.length === 0 ? 0 : 1);
