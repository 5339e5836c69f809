#!/usr/bin/env node
// Locks: a holder killed while holding the store lock, and a lock that stays
// held (bounded wait, code 11). Prints the delays.
//   node scripts/reliability/locks.mjs [--kills 20] [--repeats 3] [--default true]
import { fmtMs, flags, percentile, printFigures, requireBuilt } from "./lib/common.mjs";
import { runLocks } from "./lib/locks.mjs";

const opt = flags({ kills: 20, repeats: 3, default: true, realHolders: 10 });
requireBuilt();
console.log("locks: holders killed, and a lock held for good");
const f = await runLocks({ kills: opt.kills, repeats: opt.repeats, includeDefault: opt.default, realHolders: opt.realHolders, log: console.log });
const stat = (xs) => (xs.length ? `median ${fmtMs(percentile(xs, 50))}, p95 ${fmtMs(percentile(xs, 95))}, max ${fmtMs(Math.max(...xs))} (${xs.length} runs)` : "skipped (no strace)");
const rows = [
  ["ADD, lock free (median)", fmtMs(f.baseline)],
  ["flock holder killed: waiting ADD done after", stat(f.killedHolder)],
  ["plugin killed inside the lock: waiting ADD done after", stat(f.killedPlugin)],
];
for (const t of f.timeouts) rows.push([`lock held, lockTimeoutMs ${t.lockTimeoutMs}`, `code 11 after median ${fmtMs(t.median)}, max ${fmtMs(t.max)}`]);
if (f.defaultWait !== undefined) rows.push(["lock held, default lockTimeoutMs (10000)", `code 11 after ${fmtMs(f.defaultWait)}`]);
if (f.waiters) rows.push([`${f.waiters.count} waiters at once, lockTimeoutMs 1000`, `all code 11, the last after ${fmtMs(f.waiters.max)}`]);
rows.push(["violations", String(f.violations.length)]);
printFigures("figures", rows);
const slow = [...f.killedHolder, ...f.killedPlugin].filter((d) => d >= 1000);
const bad = [...f.violations, ...slow.map((d) => `a killed holder delayed the next ADD by ${d.toFixed(0)} ms`)];
for (const b of bad.slice(0, 20)) console.log(`  ! ${b}`);
console.log(`\nlocks: ${f.seconds.toFixed(1)} s; ${bad.length === 0 ? "OK" : `${bad.length} problem(s)`}`);
process.exit(bad.length === 0 ? 0 : 1);
