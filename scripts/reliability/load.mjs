#!/usr/bin/env node
// Load: concurrent workers doing ADD/DEL on one dual-stack pool of 256
// addresses per family (a script that prints figures, never a timed test).
//   node scripts/reliability/load.mjs [--workers 16] [--ops 10000] [--seed 1]
// Exit status 1 when an address was given twice, something leaked, or the
// store disagreed with what the runtime believes.
import { flags, fmtMs, printFigures, requireBuilt } from "./lib/common.mjs";
import { runLoad } from "./lib/load.mjs";

const opt = flags({ workers: 16, ops: 10_000, seed: 1, checkpoints: 4, timeLimitS: 1800 });
requireBuilt();
console.log(`load: ${opt.workers} workers, ${opt.ops} ADD/DEL in total, pool of 256 IPv4 + 256 IPv6 addresses, seed ${opt.seed}`);
const f = await runLoad({ ...opt, timeLimitMs: opt.timeLimitS * 1000, log: console.log });
const inconsistent = f.checkpoints.filter((c) => c.violations.length > 0);
printFigures("figures", [
  ["operations", `${f.adds + f.dels + f.readds + f.unknownDels} (ADD ${f.adds}, repeated ADD ${f.readds}, DEL ${f.dels}, DEL of unknown containers ${f.unknownDels}; the final DELs included)`],
  ["wall time", `${f.seconds.toFixed(1)} s (${((f.adds + f.dels + f.readds + f.unknownDels) / f.seconds).toFixed(0)} operations/s)`],
  ["ADD latency", `p50 ${fmtMs(f.p.add50)}, p95 ${fmtMs(f.p.add95)}, p99 ${fmtMs(f.p.add99)}, max ${fmtMs(f.p.addMax)}`],
  ["DEL latency", `p50 ${fmtMs(f.p.del50)}, p95 ${fmtMs(f.p.del95)}, p99 ${fmtMs(f.p.del99)}, max ${fmtMs(f.p.delMax)}`],
  ["peak attachments", `${f.peakLive} (of 256 per family)`],
  ["lock waits over 60 s (code 11, retried)", String(f.lockRetries)],
  ["addresses given twice", String(f.duplicates.length)],
  ["repeated ADDs answering other addresses", String(f.mismatches.length)],
  ["failed calls", String(f.errors.length)],
  ["store checkpoints consistent", `${f.checkpoints.length - inconsistent.length} of ${f.checkpoints.length} (records = claims = CLI counts = live attachments)`],
  ["left after deleting everything", `${f.leaked.records} records, ${f.leaked.claims} claims, ${f.leaked.strays} stray files`],
  ["store check at the end", f.finalCheck.length === 0 ? "no problems" : f.finalCheck.map((p) => p.kind ?? p).join(", ")],
]);
const bad = [...f.duplicates, ...f.mismatches, ...f.errors, ...inconsistent.flatMap((c) => c.violations), ...f.finalCheck.map((p) => JSON.stringify(p))];
if (f.leaked.records + f.leaked.claims + f.leaked.strays > 0) bad.push("something was left after deleting everything");
for (const b of bad.slice(0, 20)) console.log(`  ! ${b}`);
console.log(bad.length === 0 ? "\nload: OK" : `\nload: ${bad.length} problem(s)`);
process.exit(bad.length === 0 ? 0 : 1);
