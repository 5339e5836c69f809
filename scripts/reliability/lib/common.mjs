// Shared by the reliability scripts (scripts/reliability/*.mjs) and their
// smaller versions in the test suite (test/integration/reliability-*.test.ts):
// a private sandbox, running the built spiderpool-ipam as a runtime does, and
// reading the store directly to check what must always hold.
//
// Plain Node ESM (the scripts run without a TypeScript step); types for the
// tests are in common.d.mts.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const IPAM_BIN = join(ROOT, "dist", "bin", "spiderpool-ipam");
export const NETWORK = "reliability-net";

export function requireBuilt() {
  if (!existsSync(IPAM_BIN)) throw new Error(`${IPAM_BIN} is missing: run "npm run build" first`);
}

/** A seeded PRNG (mulberry32): the same seed gives the same run. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
  };
}

// ---- pools ---------------------------------------------------------------

/** 256 usable addresses per family, for every network, on the one node the scripts simulate (node-a). */
export const POOL_V4 = { name: "rel-v4", subnet: "10.77.0.0/23", first: "10.77.0.10", last: "10.77.1.9", gateway: "10.77.0.1" };
export const POOL_V6 = { name: "rel-v6", subnet: "fd00:77::/64", first: "fd00:77::100", last: "fd00:77::1ff", gateway: "fd00:77::1" };
export const POOL_SIZE = 256;

export function poolYaml(p = POOL_V4) {
  return [
    "apiVersion: spiderpool.spidernet.io/v2beta1",
    "kind: SpiderIPPool",
    "metadata:",
    `  name: ${p.name}`,
    "spec:",
    `  subnet: ${p.subnet}`,
    "  ips:",
    `    - ${p.first}-${p.last}`,
    `  gateway: ${p.gateway}`,
    "  default: true",
    "  nodeName: [node-a]",
    "",
  ].join("\n");
}

export const DUAL_STACK_POOLS = `${poolYaml(POOL_V4)}---\n${poolYaml(POOL_V6)}`;

const v4Value = (s) => s.split(".").reduce((n, o) => n * 256 + Number(o), 0);
/** True when an address lies in the 256-address ranges above. */
export function inPools(address) {
  if (address.includes(":")) {
    if (!address.startsWith("fd00:77::")) return false;
    const v = parseInt(address.slice("fd00:77::".length), 16);
    return v >= 0x100 && v <= 0x1ff;
  }
  const v = v4Value(address);
  return v >= v4Value(POOL_V4.first) && v <= v4Value(POOL_V4.last);
}

// ---- sandbox -------------------------------------------------------------

/** A private temp root with pools/ and data/ (0700), removed by cleanup(). */
export function makeSandbox(prefix = "spiderpool-rel-", pools = DUAL_STACK_POOLS) {
  const root = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(root, 0o700);
  const poolDir = join(root, "pools");
  const dataDir = join(root, "data");
  mkdirSync(poolDir, { mode: 0o700 });
  mkdirSync(dataDir, { mode: 0o700 });
  chmodSync(poolDir, 0o700);
  chmodSync(dataDir, 0o700);
  writeFileSync(join(poolDir, "pools.yaml"), pools, { mode: 0o600 });
  return {
    root,
    poolDir,
    dataDir,
    conf(extra = {}, top = {}) {
      return {
        cniVersion: "1.0.0",
        name: NETWORK,
        type: "ipvlan-attach",
        ipam: { type: "spiderpool-ipam", poolDir, dataDir, nodeName: "node-a", ...extra },
        ...top,
      };
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

// ---- running the plugin --------------------------------------------------

/**
 * Runs the plugin (or anything) with a clean environment; never rejects.
 * killAfterMs: SIGKILL it after that long (the crash experiments).
 * onSpawn(child): called once it is started (for its pid).
 * Resolves { code, signal, stdout, stderr, ms, killed }.
 */
export function run(file, { argv = [], env = {}, stdin = "", timeoutMs = 60_000, killAfterMs, cwd, onSpawn } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(file, argv, { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...env }, cwd, stdio: ["pipe", "pipe", "pipe"] });
    onSpawn?.(child);
    const out = [];
    const err = [];
    let killed = false;
    child.stdout.on("data", (b) => out.push(b));
    child.stderr.on("data", (b) => err.push(b));
    child.stdin.on("error", () => {});
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const killer =
      killAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            killed = child.exitCode === null && child.signalCode === null;
            child.kill("SIGKILL");
          }, killAfterMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      if (killer) clearTimeout(killer);
      reject(new Error(`cannot run ${file}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (killer) clearTimeout(killer);
      resolve({
        code,
        signal,
        killed: killed && signal === "SIGKILL",
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        ms: Number(process.hrtime.bigint() - t0) / 1e6,
      });
    });
    child.stdin.end(stdin);
  });
}

/** The CNI_* environment of one call (NUL-free; a runtime cannot send NUL anyway). */
export function cniEnv(command, { containerId, ifname = "eth0", args, path } = {}) {
  const env = { CNI_COMMAND: command };
  if (containerId !== undefined) env.CNI_CONTAINERID = containerId;
  if (command === "ADD" || command === "CHECK") env.CNI_NETNS = "/var/run/netns/rel";
  if (command === "ADD" || command === "DEL" || command === "CHECK") env.CNI_IFNAME = ifname;
  if (args !== undefined) env.CNI_ARGS = args;
  if (path !== undefined) env.CNI_PATH = path;
  if (command === "GC") env.CNI_PATH = path ?? "/opt/cni/bin";
  return env;
}

/** One plugin call; wrap(file) => { file, argv } runs it through another program (e.g. one that blocks a signal, then execs). */
export function cni(box, command, containerId, { ifname, ipam = {}, top = {}, killAfterMs, timeoutMs, version, onSpawn, wrap } = {}) {
  const conf = box.conf(ipam, top);
  if (version) conf.cniVersion = version;
  const opts = { env: cniEnv(command, { containerId, ifname }), stdin: JSON.stringify(conf), killAfterMs, timeoutMs, onSpawn };
  const exec = wrap ? wrap(IPAM_BIN) : { file: IPAM_BIN, argv: [] };
  return run(exec.file, { ...opts, argv: exec.argv });
}

/**
 * Resolves once process `pid` waits for a flock (the kernel lists it in
 * /proc/locks as "-> FLOCK ... <pid> ..."); rejects if it ends first or
 * `withinMs` passes. Plain Node, so the tests use it too (test/helpers/lock-wait.ts).
 */
export async function lockWaitStarted(pid, withinMs = 20_000) {
  const end = Date.now() + withinMs;
  // A second waiter on the same lock is indented one space more, and so on.
  const waiting = new RegExp(`^\\d+: +-> FLOCK +\\S+ +\\S+ +${pid} `, "m");
  while (!waiting.test(readFileSync("/proc/locks", "utf8"))) {
    if (!existsSync(`/proc/${pid}`)) throw new Error(`process ${pid} ended before it waited for the lock`);
    if (Date.now() > end) throw new Error(`process ${pid} did not start waiting for the lock within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function gc(box, valid, opts = {}) {
  return cni(box, "GC", undefined, { ...opts, version: "1.1.0", top: { "cni.dev/valid-attachments": valid } });
}

export function cli(argv, opts = {}) {
  return run(IPAM_BIN, { argv, ...opts });
}

export const addressesOf = (stdout) => JSON.parse(stdout).ips.map((ip) => ip.address.split("/")[0]);

export const describe = (r) =>
  `${r.signal ? `killed by ${r.signal}` : `exit ${r.code}`}; stdout: ${r.stdout.trim().slice(0, 400) || "<empty>"}; stderr: ${r.stderr.trim().slice(0, 400) || "<empty>"}`;

// ---- reading the store ---------------------------------------------------

function names(dir) {
  try {
    return readdirSync(dir).sort();
  } catch (e) {
    if (e.code === "ENOENT") return [];
    throw e;
  }
}

/**
 * Reads the store as files, independently of the plugin's code:
 * records (key "containerID/ifname"), claims (by address), files that do
 * not parse, stray temp files and empty container directories.
 */
export function readStore(dataDir) {
  const store = { records: new Map(), claims: new Map(), damaged: [], strays: [], emptyDirs: [] };
  const parse = (file) => {
    try {
      const v = JSON.parse(readFileSync(file, "utf8"));
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
      return v;
    } catch (e) {
      store.damaged.push(`${file}: ${e.message}`);
      return undefined;
    }
  };
  const attachments = join(dataDir, "attachments");
  for (const id of names(attachments)) {
    if (id.startsWith(".")) {
      store.strays.push(join(attachments, id));
      continue;
    }
    const dir = join(attachments, id);
    const files = names(dir);
    if (files.length === 0) store.emptyDirs.push(dir);
    for (const ifname of files) {
      if (ifname.startsWith(".")) {
        store.strays.push(join(dir, ifname));
        continue;
      }
      const r = parse(join(dir, ifname));
      if (r) store.records.set(`${id}/${ifname}`, r);
    }
  }
  const ips = join(dataDir, "ips");
  for (const address of names(ips)) {
    if (address.startsWith(".")) {
      store.strays.push(join(ips, address));
      continue;
    }
    const c = parse(join(ips, address));
    if (c) store.claims.set(address, c);
  }
  for (const dir of ["hints"]) for (const n of names(join(dataDir, dir))) if (n.startsWith(".")) store.strays.push(join(dataDir, dir, n));
  return store;
}

/**
 * What must hold after any crash. Returns the violations (empty: all good).
 *   live: Map key -> addresses the runtime believes the attachment holds
 *   strict: no half-written records and no stray files either (after DEL/GC)
 *   only: when given, records and claims must belong to these keys only
 */
export function verifyStore(dataDir, { live = new Map(), strict = false, only } = {}) {
  const s = readStore(dataDir);
  const v = [];
  for (const d of s.damaged) v.push(`damaged store file ${d}`);
  const key = (o) => `${o.containerID}/${o.ifname}`;
  for (const [address, claim] of s.claims) {
    const owner = s.records.get(key(claim));
    if (!owner) v.push(`claim ${address} of ${key(claim)} has no record (could never be released by DEL)`);
    else if (!owner.ips.some((e) => e.address === address)) v.push(`claim ${address} is not listed by its owner ${key(claim)}`);
  }
  const seen = new Map();
  for (const [k, addresses] of live) {
    const r = s.records.get(k);
    if (!r) v.push(`live attachment ${k} lost its record`);
    for (const a of addresses) {
      if (seen.has(a)) v.push(`address ${a} held by two live attachments: ${seen.get(a)} and ${k}`);
      seen.set(a, k);
      const c = s.claims.get(a);
      if (!c) v.push(`live attachment ${k} lost its claim on ${a} (it could be handed out again)`);
      else if (key(c) !== k) v.push(`address ${a} of live attachment ${k} is claimed by ${key(c)}`);
    }
  }
  if (strict) {
    for (const [k, r] of s.records) {
      for (const e of r.ips) {
        const c = s.claims.get(e.address);
        if (!c || key(c) !== k) v.push(`record ${k} lists ${e.address} without holding it`);
      }
    }
    for (const f of s.strays) v.push(`stray file ${f}`);
    for (const d of s.emptyDirs) v.push(`empty directory ${d}`);
  }
  if (only) {
    for (const k of s.records.keys()) if (!only.has(k)) v.push(`unexpected record ${k}`);
    for (const [a, c] of s.claims) if (!only.has(key(c))) v.push(`unexpected claim ${a} of ${key(c)}`);
  }
  return v;
}

// ---- snapshots -----------------------------------------------------------

/** Every path under dir with its kind, mode and a hash of its content. */
export function snapshot(dir, { skip = [] } = {}) {
  const out = new Map();
  const walk = (d) => {
    for (const n of names(d)) {
      const p = join(d, n);
      const rel = relative(dir, p);
      if (skip.some((s) => rel === s || rel.startsWith(`${s}/`))) continue;
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out.set(rel, `dir ${(st.mode & 0o7777).toString(8)}`);
        walk(p);
      } else if (st.isFile()) {
        out.set(rel, `file ${(st.mode & 0o7777).toString(8)} ${createHash("sha256").update(readFileSync(p)).digest("hex").slice(0, 16)}`);
      } else out.set(rel, `other ${st.mode.toString(8)}`);
    }
  };
  walk(dir);
  return out;
}

/** Differences between two snapshots, as readable lines. */
export function diffSnapshots(before, after) {
  const d = [];
  for (const [p, v] of after) {
    if (!before.has(p)) d.push(`created ${p} (${v})`);
    else if (before.get(p) !== v) d.push(`changed ${p}: ${before.get(p)} -> ${v}`);
  }
  for (const p of before.keys()) if (!after.has(p)) d.push(`removed ${p}`);
  return d;
}

// ---- figures -------------------------------------------------------------

export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const fmtMs = (x) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : "-");

/** Prints an aligned two-column block of figures. */
export function printFigures(title, rows) {
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(`\n${title}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
}

/** Runs fn over items with at most `limit` at once. */
export async function pool(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Parses "--name value" flags into numbers/strings with defaults. */
export function flags(defaults) {
  const out = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) continue;
    const name = m[1].replace(/-(\w)/g, (_, c) => c.toUpperCase());
    if (!(name in defaults)) throw new Error(`unknown option --${m[1]}`);
    const raw = m[2] ?? (typeof defaults[name] === "boolean" ? "true" : argv[++i]);
    out[name] = typeof defaults[name] === "number" ? Number(raw) : typeof defaults[name] === "boolean" ? raw !== "false" : raw;
  }
  return out;
}
