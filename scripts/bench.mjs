#!/usr/bin/env node
// Benchmarks (a script, never a test): our plugins against the Go reference
// plugins from Debian's containernetworking-plugins, same machine, same run,
// alternating ours and theirs. Prints one table and writes
// bench-results/bench.json.
//   node scripts/bench.mjs [--runs N] [--only ROW,...]
// Rows (for --only): version, ipam, etcd, ipvlan, burst, scale, poolfiles, cli, rss.
// --runs N (default 200, or BENCH_RUNS) is the sample count of the quick rows;
// slow rows take fewer (each row's count is in the JSON). BENCH_BIN_DIR runs
// another build's executables instead of dist/bin (not in the ipvlan row).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";
import { BIN_DIR, ROOT, bin, loadAverage } from "./bench/lib.mjs";
import { burstRow, cleanupScale, ipamRow, ipvlanRows, poolFilesRows, poolsCliRow, rssRow, scaleRow, versionRows } from "./bench/rows.mjs";
import { etcdRows } from "./bench/etcd.mjs";

const argv = process.argv.slice(2);
const valueOf = (flag) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
const runs = Number(valueOf("--runs")) || Number(process.env.BENCH_RUNS) || 200;
const only = valueOf("--only")?.split(",");

const ROWS = [
  ["version", versionRows],
  ["ipam", ipamRow],
  ["etcd", etcdRows],
  ["burst", burstRow],
  ["scale", scaleRow],
  ["poolfiles", poolFilesRows],
  ["cli", poolsCliRow],
  ["rss", rssRow],
  ["ipvlan", ipvlanRows],
];
if (only) {
  const unknown = only.filter((n) => !ROWS.some(([id]) => id === n));
  if (unknown.length) throw new Error(`unknown row(s) ${unknown.join(", ")}; known: ${ROWS.map(([id]) => id).join(", ")}`);
}
for (const p of ["spiderpool-ipam", "ipvlan-attach"]) if (!existsSync(bin(p))) throw new Error(`${bin(p)} missing: run npm run build`);

const bunVersion = spawnSync(join(ROOT, "node_modules", ".bin", "bun"), ["--version"], { encoding: "utf8" }).stdout?.trim();
const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Bun ${bunVersion}`;
const loadBefore = loadAverage();

const rows = [];
for (const [id, fn] of ROWS) {
  if (only && !only.includes(id)) continue;
  process.stderr.write(`bench: ${id} (load average ${loadAverage()})\n`);
  try {
    rows.push(...(await fn({ runs })));
  } catch (e) {
    process.stderr.write(`bench: ${id} failed: ${e.stack ?? e}\n`);
    rows.push({ id, name: `${id}: FAILED`, error: String(e.message ?? e) });
  }
}
cleanupScale();
const loadAfter = loadAverage();
// Shown in the order; run with the guest boot last.
const ORDER = ["version", "ipam", "etcd", "ipvlan", "burst", "scale", "poolfiles", "cli", "rss"];
rows.sort((a, b) => ORDER.indexOf(a.id) - ORDER.indexOf(b.id));

for (const r of rows) {
  if (r.error) continue;
  r.ratio = r.reference ? r.ours / r.reference : null;
  r.met = r.goal?.ratio !== undefined ? r.ratio <= r.goal.ratio : r.goal?.max !== undefined ? r.ours <= r.goal.max : null;
}

const goalText = (g) => (g?.ratio !== undefined ? `ratio <= ${g.ratio}` : g?.max !== undefined ? `<= ${g.max}` : "");
const num = (x, unit) => (x === undefined || x === null ? "-" : `${x.toFixed(unit === "MB" ? 1 : 2)}`);
const header = ["benchmark", "unit", "ours", "ref", "ratio", "goal", ""];
const table = [
  header,
  ...rows.map((r) =>
    r.error
      ? [r.name, "", "", "", "", "", r.error.split("\n")[0].slice(0, 60)]
      : [r.name, r.unit, num(r.ours, r.unit), num(r.reference, r.unit), r.ratio === null ? "-" : r.ratio.toFixed(2), goalText(r.goal), r.met === null ? "" : r.met ? "met" : "MISSED"],
  ),
];
const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
const right = new Set([2, 3, 4]);
console.log(`machine: ${machine}`);
console.log(`load average: ${loadBefore} (start), ${loadAfter} (end); medians; samples per row in bench-results/bench.json`);
for (const row of table) console.log(row.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd());
for (const r of rows) if (r.note) console.log(`  ${r.name}: ${r.note}`);

mkdirSync(join(ROOT, "bench-results"), { recursive: true });
writeFileSync(
  join(ROOT, "bench-results", "bench.json"),
  JSON.stringify({ date: new Date().toISOString(), machine, binaries: BIN_DIR, loadAverage: { start: loadBefore, end: loadAfter }, runs, rows }, null, 2) + "\n",
);
