// The rows of `npm run bench`. Each returns plain objects:
//   { id, name, unit, ours, reference, goal, samples, note }
// `goal` is { ratio: x } (ours / reference <= x) or { max: x } (ours <= x, in
// unit), or undefined. scripts/bench.mjs computes ratios and verdicts.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { COMPILE_FLAGS } from "../../build/flags.mjs";
import { fillStore } from "./fill-store.mjs";
import {
  ROOT, SEED_RANGES, bin, cniEnv, compare, hostLocalConf, median, ms, oursConf, podEnv, privateDir, privateTmp, ref, run, start, writePool,
} from "./lib.mjs";

const VERSION_STDIN = JSON.stringify({ cniVersion: "1.0.0" });

export async function versionRows({ runs }) {
  const rows = [];
  for (const [ours, theirs] of [["spiderpool-ipam", "host-local"], ["ipvlan-attach", "ipvlan"]]) {
    const r = await compare(
      () => run(bin(ours), cniEnv("VERSION"), VERSION_STDIN),
      () => run(ref(theirs), cniEnv("VERSION"), VERSION_STDIN),
      { runs },
    );
    rows.push({ id: "version", name: `VERSION: ${ours} vs ${theirs}`, unit: "ms", ...r });
  }
  return rows;
}

/** One ADD then one DEL of a fresh container ID; returns both together (ms). */
const addDel = (file, stdin, prefix) => (i) => {
  const env = podEnv(`${prefix}${i}`);
  return run(file, cniEnv("ADD", env), stdin) + run(file, cniEnv("DEL", env), stdin);
};

/** The seed's pools in `dir`: our configuration and host-local's for the same ranges. */
function seedConfs(dir) {
  const poolDir = privateDir(join(dir, "pools"));
  cpSync(join(ROOT, "test", "fixtures", "pools", "seed-pools.yaml"), join(poolDir, "seed.yaml"));
  return { ours: oursConf(poolDir, join(dir, "ours")), theirs: hostLocalConf(join(dir, "theirs"), SEED_RANGES) };
}

async function ipamAddDel(runs, base) {
  const dir = privateTmp(base);
  try {
    const { ours, theirs } = seedConfs(dir);
    return await compare(addDel(bin("spiderpool-ipam"), ours, "bench"), addDel(ref("host-local"), theirs, "bench"), { runs });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function ipamRow({ runs }) {
  const rows = [{ id: "ipam", name: "IPAM ADD+DEL dual-stack: spiderpool-ipam vs host-local", unit: "ms", goal: { ratio: 1.5 }, ...(await ipamAddDel(runs)) }];
  // The same on tmpfs, where fsync costs nothing: what is left is process
  // start and work (host-local never fsyncs; spiderpool-ipam makes each ADD
  // durable before answering). For reading the row above; no goal.
  if (existsSync("/dev/shm")) {
    rows.push({
      id: "ipam",
      name: "  same, dataDir on tmpfs (fsync free): diagnostic",
      unit: "ms",
      ...(await ipamAddDel(runs, "/dev/shm/spd-bench-")),
    });
  }
  rows.push(await startFloorRow(runs));
  rows.push(...instructionRows());
  return rows;
}

/**
 * Instructions executed in user space (callgrind) by one process: unlike
 * wall time on a shared 2-core machine, the same binary and input give the
 * same count to within ~0.1%, so a change of a few percent shows. Counts
 * neither the kernel (exec, page faults, fsync) nor waiting.
 */
function instructions(file, env, stdin) {
  // Go's signal-based preemption can trip an assertion of callgrind 3.19
  // (vgCallgrind_post_signal); without it the Go plugin runs the same code.
  const r = spawnSync("valgrind", ["--tool=callgrind", "--callgrind-out-file=/dev/null", file], {
    env: { ...env, GODEBUG: "asyncpreemptoff=1" },
    input: stdin,
    encoding: "utf8",
  });
  const m = /Collected : (\d+)/.exec(r.stderr ?? "");
  if (r.status !== 0 || !m) throw new Error(`callgrind of ${file} ${env.CNI_COMMAND} failed (exit ${r.status}): ${(r.stderr ?? "").slice(-300)}`);
  return Number(m[1]) / 1e6;
}

/** ADD+DEL in user-space instructions (millions), ours vs host-local, and the empty Bun floor under it. Diagnostics. */
function instructionRows() {
  if (spawnSync("valgrind", ["--version"]).status !== 0) return [];
  const dir = privateTmp();
  try {
    const { ours, theirs } = seedConfs(dir);
    const pair = (file, stdin, i) => {
      const env = podEnv(`instr${i}`);
      return instructions(file, cniEnv("ADD", env), stdin) + instructions(file, cniEnv("DEL", env), stdin);
    };
    addDel(bin("spiderpool-ipam"), ours, "instr-warm")(0); // creates the store and the pool cache
    const empty = buildEmptyExecutable(dir);
    const counts = { ours: [], theirs: [], empty: [] };
    for (let i = 0; i < 3; i++) {
      counts.ours.push(pair(bin("spiderpool-ipam"), ours, i));
      counts.theirs.push(pair(ref("host-local"), theirs, i));
      counts.empty.push(instructions(empty, cniEnv("VERSION"), "") * 2);
    }
    const reference = median(counts.theirs);
    return [
      { id: "ipam", name: "  user-space instructions of ADD+DEL (callgrind): diagnostic", unit: "M instr", ours: median(counts.ours), reference, samples: 3 },
      { id: "ipam", name: "  the same for an empty Bun executable started twice: diagnostic", unit: "M instr", ours: median(counts.empty), reference, samples: 3 },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A Bun executable that does nothing, built with our flags, in `dir`. */
function buildEmptyExecutable(dir) {
  const source = join(dir, "empty.ts");
  const empty = join(dir, "empty");
  writeFileSync(source, "// nothing: the cost of starting and exiting the runtime\n");
  const bun = join(ROOT, "node_modules", ".bin", "bun");
  const built = spawnSync(bun, ["build", ...COMPILE_FLAGS, source, "--outfile", empty], { encoding: "utf8" });
  if (built.status !== 0) throw new Error(`cannot build the empty executable: ${built.stderr}`);
  return empty;
}

/**
 * The runtime's floor under the row above: a Bun-compiled executable that
 * does nothing, built with our flags and started twice (as ADD+DEL start us
 * twice), against host-local's whole ADD+DEL. Its ratio is the best the
 * IPAM row could reach with zero work of our own. No goal.
 */
async function startFloorRow(runs) {
  const dir = privateTmp();
  try {
    const empty = buildEmptyExecutable(dir);
    const stdin = hostLocalConf(join(dir, "theirs"), SEED_RANGES);
    const r = await compare(
      () => run(empty, cniEnv("VERSION"), "") + run(empty, cniEnv("VERSION"), ""),
      addDel(ref("host-local"), stdin, "floor"),
      { runs },
    );
    return { id: "ipam", name: "  floor: an empty Bun executable started twice vs host-local ADD+DEL: diagnostic", unit: "ms", ...r };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ipvlan needs a kernel with it: this one if it has it, else one guest boot (both sides in it). */
export async function ipvlanRows({ runs }) {
  const out = join(ROOT, ".cache", "bench-ipvlan.json");
  rmSync(out, { force: true });
  // The burst's floor runs an empty executable in the guest, which sees the checkout.
  const emptyDir = join(ROOT, ".cache", "bench-empty");
  mkdirSync(emptyDir, { recursive: true });
  const empty = buildEmptyExecutable(emptyDir);
  const bun = join(ROOT, "node_modules", ".bin", "bun");
  const guestRuns = Math.min(runs, 30);
  const cmd = [bun, join(ROOT, "scripts", "bench-ipvlan.ts"), out, String(guestRuns), empty];
  const direct = spawnSync("bash", [join(ROOT, "scripts", "vm", "host-has-ipvlan.sh")]).status === 0;
  const r = direct
    ? spawnSync(cmd[0], cmd.slice(1), { stdio: ["ignore", "inherit", "inherit"] })
    : spawnSync("bash", [join(ROOT, "scripts", "vm", "run.sh"), "--", ...cmd], { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0 || !existsSync(out)) throw new Error(`the ipvlan benchmark failed (exit ${r.status})`);
  return JSON.parse(readFileSync(out, "utf8")).map((row) => ({
    id: "ipvlan",
    name: row.name,
    unit: row.unit,
    ours: row.ours,
    reference: row.reference,
    goal: row.goal,
    samples: row.samples ?? guestRuns,
    note: `${direct ? "this kernel" : "guest VM"}; ${row.note}`,
  }));
}

// 100 ADDs started at once need more addresses than the seed's 16.
const BURST = 100;
const BURST_V4 = { subnet: "10.80.0.0/24", start: "10.80.0.10", end: "10.80.0.250", gateway: "10.80.0.1" };
const BURST_V6 = { subnet: "fd00:80::/64", start: "fd00:80::10", end: "fd00:80::fa", gateway: "fd00:80::1" };

/** Starts `BURST` invocations at once; resolves when all have exited. */
async function burst(file, stdin, command, round) {
  const jobs = [];
  for (let k = 0; k < BURST; k++) jobs.push(start(file, cniEnv(command, podEnv(`burst${round}-${k}`)), stdin));
  await Promise.all(jobs);
}

export async function burstRow({ runs }) {
  const dir = privateTmp();
  try {
    const poolDir = privateDir(join(dir, "pools"));
    writePool(poolDir, "burst.yaml", [
      { name: "burst-v4", subnet: BURST_V4.subnet, ips: [`${BURST_V4.start}-${BURST_V4.end}`], gateway: BURST_V4.gateway, nodeName: "master" },
      { name: "burst-v6", subnet: BURST_V6.subnet, ips: [`${BURST_V6.start}-${BURST_V6.end}`], gateway: BURST_V6.gateway, nodeName: "master" },
    ]);
    const ours = oursConf(poolDir, join(dir, "ours"));
    const theirs = hostLocalConf(join(dir, "theirs"), [
      [{ subnet: BURST_V4.subnet, rangeStart: BURST_V4.start, rangeEnd: BURST_V4.end, gateway: BURST_V4.gateway }],
      [{ subnet: BURST_V6.subnet, rangeStart: BURST_V6.start, rangeEnd: BURST_V6.end, gateway: BURST_V6.gateway }],
    ]);
    // Wall time of the 100 ADDs only; the 100 DELs that empty the pool again are not timed.
    const timed = (file, stdin) => async (i) => {
      const t0 = process.hrtime.bigint();
      await burst(file, stdin, "ADD", i);
      const took = ms(t0);
      await burst(file, stdin, "DEL", i);
      return took;
    };
    const samples = Math.max(3, Math.min(10, Math.ceil(runs / 20)));
    const r = await compare(timed(bin("spiderpool-ipam"), ours), timed(ref("host-local"), theirs), { runs: samples, warmup: 1 });
    // The same with our dataDir on tmpfs, where fsync costs nothing: how much
    // of the row above is durability (the lock is held across the commit's
    // fsyncs, so a burst queues behind the disk). No goal.
    let tmpfs;
    if (existsSync("/dev/shm")) {
      const shm = privateTmp("/dev/shm/spd-bench-");
      try {
        const oursOnTmpfs = oursConf(poolDir, join(shm, "ours"));
        tmpfs = await compare(timed(bin("spiderpool-ipam"), oursOnTmpfs), timed(ref("host-local"), theirs), { runs: samples, warmup: 1 });
      } finally {
        rmSync(shm, { recursive: true, force: true });
      }
    }
    // The runtime's floor under that row: as many empty Bun executables at once.
    const empty = buildEmptyExecutable(dir);
    const floor = await compare(
      async (i) => {
        const t0 = process.hrtime.bigint();
        await burst(empty, "", "VERSION", i);
        return ms(t0);
      },
      timed(ref("host-local"), theirs),
      { runs: samples, warmup: 1 },
    );
    return [
      { id: "burst", name: `${BURST} ADDs started at once (wall until all exit): vs host-local`, unit: "ms", goal: { ratio: 1.5 }, ...r, note: "dual-stack; 2 cores" },
      ...(tmpfs ? [{ id: "burst", name: "  same, dataDir on tmpfs (fsync free): diagnostic", unit: "ms", ...tmpfs }] : []),
      { id: "burst", name: `  floor: ${BURST} empty Bun executables at once vs host-local's ${BURST} ADDs: diagnostic`, unit: "ms", ...floor },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The scale fixture: a /16 pool, one store holding 60,000 of its addresses
// and one empty store. Shared by the scale, pools CLI and RSS rows.
const SCALE_COUNT = 60_000;
const SCALE_POOL = { name: "scale-v4", subnet: "10.64.0.0/16", ips: ["10.64.0.2-10.64.255.254"], gateway: "10.64.0.1", nodeName: "bench" };
const SCALE_FIRST = "10.64.0.2"; // ordinal 0 of the pool

let scaleFixture;
export function scale() {
  if (scaleFixture) return scaleFixture;
  const dir = privateTmp();
  try {
    const poolDir = privateDir(join(dir, "pools"));
    writePool(poolDir, "scale.yaml", [SCALE_POOL]);
    const empty = join(dir, "empty");
    const full = join(dir, "full");
    const file = bin("spiderpool-ipam");
    for (const dataDir of [empty, full]) {
      // One real ADD+DEL: creates the store and its pool cache, and leaves the hint naming the pool's fingerprint.
      const stdin = oursConf(poolDir, dataDir, "bench");
      run(file, cniEnv("ADD", podEnv("setup")), stdin);
      run(file, cniEnv("DEL", podEnv("setup")), stdin);
    }
    const t0 = process.hrtime.bigint();
    fillStore({ dataDir: full, pool: SCALE_POOL.name, first: SCALE_FIRST, count: SCALE_COUNT });
    const fillMs = ms(t0);
    if (readdirSync(join(full, "ips")).length !== SCALE_COUNT) throw new Error("the scale store was not filled");
    scaleFixture = { dir, poolDir, empty, full, fillMs };
    return scaleFixture;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
export function cleanupScale() {
  if (scaleFixture) rmSync(scaleFixture.dir, { recursive: true, force: true });
  scaleFixture = undefined;
}

export async function scaleRow({ runs }) {
  const s = scale();
  const file = bin("spiderpool-ipam");
  const r = await compare(
    addDel(file, oursConf(s.poolDir, s.full, "bench"), "scale"),
    addDel(file, oursConf(s.poolDir, s.empty, "bench"), "scale"),
    { runs: Math.min(runs, 100) },
  );
  return [{
    id: "scale",
    name: `ADD+DEL, /16 pool holding ${SCALE_COUNT.toLocaleString("en")} allocations vs empty pool`,
    unit: "ms",
    goal: { ratio: 1.2 },
    ...r,
    note: `reference = the same plugin on an empty store; store filled by writing its files directly (${(s.fillMs / 1000).toFixed(1)} s)`,
  }];
}

export async function poolsCliRow({ runs }) {
  const s = scale();
  const args = ["pools", "--pool-dir", s.poolDir, "--data-dir", s.full, "--node", "bench"];
  const env = { PATH: process.env.PATH };
  const check = spawnSync(bin("spiderpool-ipam"), [...args, "-o", "json"], { env, encoding: "utf8" });
  const allocated = check.status === 0 ? JSON.parse(check.stdout).pools.find((p) => p.name === SCALE_POOL.name)?.allocated : undefined;
  if (allocated !== SCALE_COUNT) throw new Error(`pools CLI reports ${allocated} allocations, expected ${SCALE_COUNT}: ${check.stderr}`);
  const xs = [];
  for (let i = 0; i < Math.min(runs, 30) + 2; i++) {
    const took = run(bin("spiderpool-ipam"), env, "", args);
    if (i >= 2) xs.push(took);
  }
  return [{ id: "cli", name: `\`pools\` CLI on the ${SCALE_COUNT.toLocaleString("en")}-allocation store`, unit: "ms", ours: median(xs), samples: xs.length }];
}

// 1,000 pool files: 500 IPv4 and 500 IPv6 pools, one pair per node; the
// node under test is node-0. Every file is read and validated on a cache miss.
const POOL_FILES = 1000;
function poolFilesFixture(dir) {
  const poolDir = privateDir(join(dir, "pools"));
  for (let i = 0; i < POOL_FILES; i++) {
    const n = i >> 1;
    const doc = i % 2 === 0
      ? { name: `node-${n}-v4`, subnet: `10.${100 + (n >> 8)}.${n & 255}.0/24`, ips: [`10.${100 + (n >> 8)}.${n & 255}.10-10.${100 + (n >> 8)}.${n & 255}.250`], gateway: `10.${100 + (n >> 8)}.${n & 255}.1` }
      : { name: `node-${n}-v6`, subnet: `fd00:${n.toString(16)}:1::/64`, ips: [`fd00:${n.toString(16)}:1::10-fd00:${n.toString(16)}:1::fa`], gateway: `fd00:${n.toString(16)}:1::1` };
    writePool(poolDir, `pool-${String(i).padStart(4, "0")}.yaml`, [{ ...doc, nodeName: `node-${n}` }]);
  }
  return poolDir;
}

export async function poolFilesRows({ runs }) {
  const dir = privateTmp();
  try {
    const poolDir = poolFilesFixture(dir);
    const dataDir = join(dir, "data");
    const stdin = oursConf(poolDir, dataDir, "node-0");
    const file = bin("spiderpool-ipam");
    const add = (cold) => (i) => {
      if (cold) rmSync(join(dataDir, "cache"), { recursive: true, force: true });
      const env = podEnv(`pf${cold ? "c" : "w"}${i}`);
      const took = run(file, cniEnv("ADD", env), stdin);
      run(file, cniEnv("DEL", env), stdin);
      return took;
    };
    const sample = (fn, n) => {
      const xs = [];
      for (let i = -2; i < n; i++) {
        const t = fn(i);
        if (i >= 0) xs.push(t);
      }
      return xs;
    };
    const cold = sample(add(true), Math.min(runs, 20));
    const warm = sample(add(false), Math.min(runs, 50));
    return [
      { id: "poolfiles", name: `ADD with ${POOL_FILES.toLocaleString("en")} pool files, cold (cache empty: read + validate all)`, unit: "ms", ours: median(cold), samples: cold.length, note: "whole ADD process" },
      { id: "poolfiles", name: `ADD with ${POOL_FILES.toLocaleString("en")} pool files, warm (cache hit)`, unit: "ms", ours: median(warm), samples: warm.length, note: "whole ADD process" },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Peak RSS (MB) of one ADD, from GNU time's %M (KiB), median over several. */
export async function rssRow({ runs }) {
  const dir = privateTmp();
  try {
    const poolDir = privateDir(join(dir, "pools"));
    cpSync(join(ROOT, "test", "fixtures", "pools", "seed-pools.yaml"), join(poolDir, "seed.yaml"));
    const measure = (file, stdin) => (i) => {
      const env = podEnv(`rss${i}`);
      const out = join(dir, "rss.txt");
      const r = spawnSync("/usr/bin/time", ["-f", "%M", "-o", out, file], { env: cniEnv("ADD", env), input: stdin, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`${file} ADD failed: ${r.stdout}${r.stderr}`);
      run(file, cniEnv("DEL", env), stdin);
      return Number(readFileSync(out, "utf8").trim().split("\n").pop()) / 1024;
    };
    const r = await compare(
      measure(bin("spiderpool-ipam"), oursConf(poolDir, join(dir, "ours"))),
      measure(ref("host-local"), hostLocalConf(join(dir, "theirs"), SEED_RANGES)),
      { runs: Math.min(runs, 20), warmup: 1 },
    );
    return [
      { id: "rss", name: "peak RSS of one IPAM ADD: spiderpool-ipam (host-local for scale)", unit: "MB", goal: { max: 40 }, ...r },
      installedSizeRow(dir),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}


/** Disk used by what a node's /opt/cni/bin holds for our plugins (du: links count once) vs the reference ipvlan + host-local. */
function installedSizeRow(dir) {
  const duMB = (...paths) => Number(spawnSync("du", ["-skcL", ...paths], { encoding: "utf8" }).stdout.trim().split("\n").pop().split("\t")[0]) / 1024;
  let ours;
  let note;
  if (existsSync(bin("spiderpool-cni"))) {
    const dest = join(dir, "installed");
    run(bin("spiderpool-cni"), { PATH: process.env.PATH }, "", ["install", "--dest", dest, "--pool-dir", join(dir, "installed-pools")]);
    ours = Number(spawnSync("du", ["-sk", dest], { encoding: "utf8" }).stdout.split("\t")[0]) / 1024;
    note = "spiderpool-cni install: one file, spiderpool-ipam and ipvlan-attach linked to it";
  } else {
    ours = duMB(bin("spiderpool-ipam"), bin("ipvlan-attach"));
    note = "one executable per plugin (a build before spiderpool-cni)";
  }
  return { id: "rss", name: "size installed in /opt/cni/bin: ours vs ipvlan + host-local", unit: "MB", ours, reference: duMB(ref("ipvlan"), ref("host-local")), goal: { max: 115 }, samples: 1, note };
}
