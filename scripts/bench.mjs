#!/usr/bin/env node
// Benchmarks (a script, never a test): our plugins against the Go reference
// plugins from Debian's containernetworking-plugins, same machine, same run.
// Prints one table and writes bench-results/bench.json.
//   node scripts/bench.mjs [--runs N] [--only NAME,...]
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem, release } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "dist", "bin", name);
const REF = process.env.CNI_REFERENCE_DIR ?? "/usr/lib/cni";
const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf("--runs") + 1]) || Number(process.env.BENCH_RUNS) || 200;
const only = argv.includes("--only") ? argv[argv.indexOf("--only") + 1].split(",") : undefined;

function run(file, env, stdin) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, [], { env, input: stdin, encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${file} ${env.CNI_COMMAND} failed (${r.status}): ${r.stdout}${r.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Alternates ours and theirs so drift in machine load hits both alike. */
function compare(name, ours, theirs, goal) {
  const a = [];
  const b = [];
  for (let i = 0; i < 5; i++) (ours(i), theirs(i)); // warm the page cache
  for (let i = 0; i < runs; i++) {
    a.push(ours(i));
    b.push(theirs(i));
  }
  const row = { name, ours_ms: median(a), reference_ms: median(b), goal };
  row.ratio = row.ours_ms / row.reference_ms;
  return row;
}

const cniEnv = (command, extra = {}) => ({ CNI_COMMAND: command, CNI_PATH: REF, ...extra });

function versionRow(ours, theirs) {
  const stdin = JSON.stringify({ cniVersion: "1.0.0" });
  return compare(
    `VERSION ${ours} vs ${theirs}`,
    () => run(bin(ours), cniEnv("VERSION"), stdin),
    () => run(join(REF, theirs), cniEnv("VERSION"), stdin),
    undefined,
  );
}

function ipamAddDelRow() {
  const dir = mkdtempSync(join(tmpdir(), "spd-bench-"));
  chmodSync(dir, 0o700);
  try {
    const poolDir = join(dir, "pools");
    mkdirSync(poolDir, { mode: 0o700 });
    cpSync(join(root, "test", "fixtures", "pools", "seed-pools.yaml"), join(poolDir, "seed.yaml"));
    const ours = JSON.stringify({
      cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan-attach",
      ipam: { type: "spiderpool-ipam", poolDir, dataDir: join(dir, "ours"), nodeName: "master" },
    });
    const theirs = JSON.stringify({
      cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan",
      ipam: { type: "host-local", dataDir: join(dir, "theirs"), ranges: [[{ subnet: "172.31.16.0/20", rangeStart: "172.31.28.16", rangeEnd: "172.31.28.31", gateway: "172.31.16.1" }], [{ subnet: "2406:da1e:c4:ed01::/64", rangeStart: "2406:da1e:c4:ed01:c57d::", rangeEnd: "2406:da1e:c4:ed01:c57d::f", gateway: "2406:da1e:c4:ed01::1" }]] },
    });
    const addDel = (file, stdin) => (i) => {
      const env = { CNI_CONTAINERID: `bench${i}`, CNI_NETNS: "/proc/self/ns/net", CNI_IFNAME: "eth0" };
      return run(file, cniEnv("ADD", env), stdin) + run(file, cniEnv("DEL", env), stdin);
    };
    return compare("IPAM ADD+DEL dual-stack: spiderpool-ipam vs host-local", addDel(bin("spiderpool-ipam"), ours), addDel(join(REF, "host-local"), theirs), 1.5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ipvlan needs a kernel with it: here if this one has it, else one guest boot. */
function ipvlanRows() {
  const out = join(root, ".cache", "bench-ipvlan.json");
  rmSync(out, { force: true });
  const bun = join(root, "node_modules", ".bin", "bun");
  const cmd = [bun, join(root, "scripts", "bench-ipvlan.ts"), out, String(Math.min(runs, 30))];
  const direct = spawnSync("bash", [join(root, "scripts", "vm", "host-has-ipvlan.sh")]).status === 0;
  const r = direct ? spawnSync(cmd[0], cmd.slice(1), { stdio: "inherit" }) : spawnSync("bash", [join(root, "scripts", "vm", "run.sh"), "--", ...cmd], { stdio: "inherit" });
  if (r.status !== 0 || !existsSync(out)) throw new Error("the ipvlan benchmark failed");
  return JSON.parse(readFileSync(out, "utf8"));
}

const rows = [];
const want = (n) => !only || only.includes(n);
for (const p of ["spiderpool-ipam", "ipvlan-attach"]) if (!existsSync(bin(p))) throw new Error(`${bin(p)} missing: run npm run build`);
if (want("version")) rows.push(versionRow("spiderpool-ipam", "host-local"), versionRow("ipvlan-attach", "ipvlan"));
if (want("ipam")) rows.push(ipamAddDelRow());
if (want("ipvlan")) rows.push(...ipvlanRows());

const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}`;
const fmt = (x) => x.toFixed(2).padStart(8);
console.log(`machine: ${machine}; ${runs} runs per row, medians in ms`);
console.log(`${"benchmark".padEnd(60)} ${"ours".padStart(8)} ${"ref".padStart(8)} ${"ratio".padStart(7)}  goal`);
for (const r of rows) {
  const verdict = r.goal === undefined ? "" : r.ratio <= r.goal ? `<= ${r.goal} met` : `<= ${r.goal} MISSED`;
  console.log(`${r.name.padEnd(60)} ${fmt(r.ours_ms)} ${fmt(r.reference_ms)} ${r.ratio.toFixed(2).padStart(7)}  ${verdict}${r.note ? `  (${r.note})` : ""}`);
}
mkdirSync(join(root, "bench-results"), { recursive: true });
writeFileSync(join(root, "bench-results", "bench.json"), JSON.stringify({ date: new Date().toISOString(), machine, runs, rows }, null, 2) + "\n");
