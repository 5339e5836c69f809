// Shared pieces of the benchmark (scripts/bench.mjs): timing a process,
// medians, alternating comparisons, and the network configurations both
// sides get. A script, never a test: nothing here asserts on time.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const REF = process.env.CNI_REFERENCE_DIR ?? "/usr/lib/cni";
/** Our executables: dist/bin, or BENCH_BIN_DIR (to compare two builds with the same bench). */
export const BIN_DIR = process.env.BENCH_BIN_DIR ?? join(ROOT, "dist", "bin");
export const bin = (name) => join(BIN_DIR, name);
export const ref = (name) => join(REF, name);

/** A private (0700) temp directory, as the plugins require for poolDir and dataDir. */
export function privateTmp(prefix = join(tmpdir(), "spd-bench-")) {
  const dir = mkdtempSync(prefix);
  chmodSync(dir, 0o700);
  return dir;
}

export function privateDir(dir) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}

export const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

/** Runs a plugin once (synchronously) and returns its wall time in ms; throws on failure. */
export function run(file, env, stdin, args = []) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { env, input: stdin, encoding: "utf8", maxBuffer: 64 << 20 });
  const took = ms(t0);
  if (r.status !== 0) throw new Error(`${file} ${args.join(" ")} ${env.CNI_COMMAND ?? ""} failed (${r.status ?? r.signal}): ${r.stdout}${r.stderr}`);
  return took;
}

/** Starts a plugin without waiting; resolves to its exit status. */
export function start(file, env, stdin) {
  return new Promise((resolve, reject) => {
    const p = spawn(file, [], { env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${file} ${env.CNI_COMMAND} failed (${code}): ${out}`))));
    p.stdin.on("error", () => {}); // a plugin that fails early closes stdin; its exit code reports it
    p.stdin.end(stdin);
  });
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Alternates ours and theirs, so drift in machine load hits both alike.
 * Each callback returns one sample (ms) and may be async.
 */
export async function compare(ours, theirs, { runs, warmup = 3 }) {
  const a = [];
  const b = [];
  for (let i = 0; i < warmup; i++) (await ours(-1 - i), await theirs(-1 - i));
  for (let i = 0; i < runs; i++) {
    a.push(await ours(i));
    b.push(await theirs(i));
  }
  return { ours: median(a), reference: median(b), samples: runs };
}

export const cniEnv = (command, extra = {}) => ({ CNI_COMMAND: command, CNI_PATH: REF, ...extra });
export const podEnv = (id, ifname = "eth0") => ({ CNI_CONTAINERID: id, CNI_NETNS: "/proc/self/ns/net", CNI_IFNAME: ifname });

export function oursConf(poolDir, dataDir, nodeName = "master") {
  return JSON.stringify({
    cniVersion: "1.0.0",
    name: "ipvlan-ens5",
    type: "ipvlan-attach",
    ipam: { type: "spiderpool-ipam", poolDir, dataDir, nodeName },
  });
}

export function hostLocalConf(dataDir, ranges) {
  return JSON.stringify({ cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan", ipam: { type: "host-local", dataDir, ranges } });
}

/** The seed's master pools as host-local ranges (what the IPAM rows compare). */
export const SEED_RANGES = [
  [{ subnet: "172.31.16.0/20", rangeStart: "172.31.28.16", rangeEnd: "172.31.28.31", gateway: "172.31.16.1" }],
  [{ subnet: "2406:da1e:c4:ed01::/64", rangeStart: "2406:da1e:c4:ed01:c57d::", rangeEnd: "2406:da1e:c4:ed01:c57d::f", gateway: "2406:da1e:c4:ed01::1" }],
];

/** A SpiderIPPool document as YAML text. */
export function poolYaml({ name, subnet, ips, gateway, nodeName, isDefault = true }) {
  return [
    "apiVersion: spiderpool.spidernet.io/v2beta1",
    "kind: SpiderIPPool",
    "metadata:",
    `  name: ${name}`,
    "spec:",
    `  subnet: ${subnet}`,
    "  ips:",
    ...ips.map((r) => `    - ${r}`),
    ...(gateway ? [`  gateway: ${gateway}`] : []),
    `  default: ${isDefault}`,
    ...(nodeName ? [`  nodeName: [${JSON.stringify(nodeName)}]`] : []),
    "",
  ].join("\n");
}

export function writePool(dir, file, docs) {
  writeFileSync(join(dir, file), docs.map(poolYaml).join("---\n"), { mode: 0o600 });
}

/** "load average: 1.00, 2.00, 3.65" of uptime(1). */
export function loadAverage() {
  const r = spawnSync("uptime", [], { encoding: "utf8" });
  const m = /load averages?:\s*(.*)$/.exec(r.stdout?.trim() ?? "");
  return m ? m[1] : "?";
}
