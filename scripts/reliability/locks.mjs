#!/usr/bin/env node
// Locks: a holder killed while holding the store lock, a lock that stays
// held (bounded wait, code 11, also with SIGALRM blocked or ignored), and
// maintenance (DEL, GC, store check, store repair) while ADDs wait with their
// claims pre-staged. Prints the delays.
//   node scripts/reliability/locks.mjs [--kills 20] [--repeats 3] [--default true] [--signal-repeats 5] [--maintenance-rounds 30]
import { fmtMs, flags, percentile, printFigures, requireBuilt } from "./lib/common.mjs";
import { runLocks } from "./lib/locks.mjs";

const opt = flags({ kills: 20, repeats: 3, default: true, realHolders: 10, signalRepeats: 5, maintenanceRounds: 30 });
requireBuilt();
console.log("locks: holders killed, and a lock held for good");
const f = await runLocks({ ...opt, includeDefault: opt.default, log: console.log });
const stat = (xs) => (xs.length ? `median ${fmtMs(percentile(xs, 50))}, p95 ${fmtMs(percentile(xs, 95))}, max ${fmtMs(Math.max(...xs))} (${xs.length} runs)` : "skipped (no strace)");
const rows = [
  ["ADD, lock free (median)", fmtMs(f.baseline)],
  ["flock holder killed: waiting ADD done after", stat(f.killedHolder)],
  ["plugin killed inside the lock: waiting ADD done after", stat(f.killedPlugin)],
];
for (const t of f.timeouts) rows.push([`lock held, lockTimeoutMs ${t.lockTimeoutMs}`, `code 11 after median ${fmtMs(t.median)}, max ${fmtMs(t.max)}`]);
if (f.defaultWait !== undefined) rows.push(["lock held, default lockTimeoutMs (10000)", `code 11 after ${fmtMs(f.defaultWait)}`]);
if (f.waiters) rows.push([`${f.waiters.count} waiters at once, lockTimeoutMs 1000`, `all code 11, the last after ${fmtMs(f.waiters.max)}`]);
if (f.signals.blocked.length + f.signals.ignored.length > 0) {
  rows.push(["lock held, SIGALRM blocked / ignored, lockTimeoutMs 500", `code 11 after median ${fmtMs(percentile(f.signals.blocked, 50))} / ${fmtMs(percentile(f.signals.ignored, 50))}, max ${fmtMs(Math.max(...f.signals.blocked, ...f.signals.ignored))}`]);
  rows.push(["SIGALRM blocked, holder killed: waiting ADD done after", stat(f.signals.blockedAcquired)]);
}
const m = f.maintenance;
if (m.rounds > 0) {
  rows.push([`maintenance while ADDs wait (${m.rounds} rounds)`, [...m.calls].map(([k, n]) => `${k} ${n}`).join(", ") + `; ${m.prestaged} pre-staged claims waiting`]);
  rows.push(["  ADDs failed / false stray-temp-files in store check", `${m.failedAdds} / ${m.falseStrays}`]);
}
rows.push(["violations", String(f.violations.length)]);
printFigures("figures", rows);
const slow = [...f.killedHolder, ...f.killedPlugin].filter((d) => d >= 1000);
const bad = [...f.violations, ...slow.map((d) => `a killed holder delayed the next ADD by ${d.toFixed(0)} ms`)];
for (const b of bad.slice(0, 20)) console.log(`  ! ${b}`);
console.log(`\nlocks: ${f.seconds.toFixed(1)} s; ${bad.length === 0 ? "OK" : `${bad.length} problem(s)`}`);
process.exit(bad.length === 0 ? 0 : 1);
