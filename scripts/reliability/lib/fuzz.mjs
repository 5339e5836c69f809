// Hostile input for spiderpool-ipam, generated from a seed: the CNI_*
// environment (raw bytes that are not UTF-8 included), the configuration on
// stdin, CNI_ARGS, pool files (nested 200,000 deep, 100,000 entries) and log
// settings out of bounds with the log already full. Every
// case is invalid by construction and names the error codes that fit it; the
// runner checks that the plugin answers each with exactly one CNI error
// object on stdout, exits non-zero without a signal or a stack trace, leaves
// the store as it was, and creates no path anywhere (every hostile path holds
// the marker "fzmark", searched for afterwards).
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { DUAL_STACK_POOLS, IPAM_BIN, NETWORK, POOL_V4, ROOT, addressesOf, cni, diffSnapshots, makeSandbox, pool, rng, run, snapshot } from "./common.mjs";

export const MARK = "fzmark";
const IPVLAN_BIN = join(ROOT, "dist", "bin", "ipvlan-attach");

// ---- value pools ---------------------------------------------------------

const PATHS = [`../${MARK}`, `../../${MARK}`, `../../../../../../tmp/${MARK}`, `/tmp/${MARK}`, `a/../../${MARK}`, `/${MARK}`, `./${MARK}`, `${MARK}/..`, `..\\${MARK}`, `%2e%2e%2f${MARK}`];
const SHELLISH = [`$(touch /tmp/${MARK})`, `\`touch /tmp/${MARK}\``, `;touch /tmp/${MARK}`, `|${MARK}`, `${MARK}>x`, "*", "?", "[a-z]"];

function randomString(r, len, alphabet) {
  let s = "";
  for (let i = 0; i < len; i++) s += alphabet[r.int(alphabet.length)];
  return s;
}
const PRINTABLE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:;=, \t\\\"'$`*?[]{}()<>|&!~#%^+@";
const anyText = (r, max = 40) => randomString(r, 1 + r.int(max), PRINTABLE) + (r.chance(0.3) ? "é✓\u202e" : "");
/** Random bytes as a latin1 string (invalid UTF-8 and control bytes included, no NUL: env strings cannot hold one). */
const bytes = (r, n, nul = true) => {
  let s = "";
  for (let i = 0; i < n; i++) {
    const c = r.int(256);
    s += String.fromCharCode(c === 0 && !nul ? 1 : c);
  }
  return s;
};

// ---- the base of every case ----------------------------------------------

/**
 * ctx: { poolDir, dataDir, live: [v4, v6] (addresses of a live attachment),
 *        slotPoolDir (a poolDir the runner fills per case), fileDir, wwDir, linkDir }
 */
function baseConf(ctx, extra = {}, top = {}) {
  return {
    cniVersion: "1.0.0",
    name: NETWORK,
    type: "ipvlan-attach",
    ipam: { type: "spiderpool-ipam", poolDir: ctx.poolDir, dataDir: ctx.dataDir, nodeName: "node-a", ...extra },
    ...top,
  };
}

const ID = (i) => `fz-${i}`;

/** A case: what to send, and which codes fit. */
function mk(kind, command, { env = {}, rawEnv, conf, stdin, expect, expectMsg, containerId, ifname, args, poolFile, logFile, binary }) {
  // STATUS and GC exist from 1.1.0 on: only the version generator sends older ones.
  if (conf && (command === "STATUS" || command === "GC") && conf.cniVersion === "1.0.0" && kind !== "stdin-version") conf.cniVersion = "1.1.0";
  return { kind, command, env, rawEnv, conf, stdin, expect, expectMsg, containerId, ifname, args, poolFile, logFile, binary };
}

// ---- generators, each yielding invalid input -----------------------------

const GEN = {
  // CNI_COMMAND a runtime would never send (empty means "a person runs the CLI", so not here).
  "env-command": (r, ctx, i) => {
    const v = r.pick(["add", "Add", "ADDD", "DELETE", " ADD", "ADD ", "ADD\n", "VERSION;ADD", "../ADD", "ÄDD", "A".repeat(10_000), anyText(r), ...PATHS]);
    return mk("env-command", v, { containerId: ID(i), conf: baseConf(ctx), expect: [4] });
  },
  // Container IDs that are paths, too long, or outside the spec's alphabet.
  "env-containerid": (r, ctx) => {
    const v = r.pick([
      ...PATHS,
      ...SHELLISH,
      "..",
      ".",
      `.${MARK}`,
      `-${MARK}`,
      `_${MARK}`,
      `${MARK} x`,
      `${MARK}\tx`,
      `${MARK}\nx`,
      `${MARK}:x`,
      `${MARK}/x`,
      "x".repeat(256),
      "x".repeat(5_000 + r.int(60_000)),
      `pöd-${MARK}`,
      `${MARK}\u202e`,
      anyText(r).replace(/^[A-Za-z0-9]/, "/"),
    ]);
    const command = r.pick(["ADD", "DEL", "CHECK"]);
    return mk("env-containerid", command, { containerId: v, conf: command === "CHECK" ? baseConf(ctx, {}, {}) : baseConf(ctx), expect: [4] });
  },
  // Interface names that are paths, too long, or hidden from store listings.
  "env-ifname": (r, ctx, i) => {
    const v = r.pick([
      ...PATHS.filter((p) => p.includes("/")), // "%2e%2e%2f..." is a name like any other
      "/",
      ".",
      "..",
      `e/${MARK}`,
      "eth 0",
      "eth:0",
      "eth0\n",
      "x".repeat(16),
      "x".repeat(1000 + r.int(50_000)),
      "éééééééé",
      `.tmp-${MARK}`.slice(0, 15),
      `.${MARK}`,
      "...",
    ]);
    return mk("env-ifname", r.pick(["ADD", "DEL", "CHECK"]), { containerId: ID(i), ifname: v, conf: baseConf(ctx), expect: [4] });
  },
  // Required variables missing.
  "env-missing": (r, ctx, i) => {
    const command = r.pick(["ADD", "DEL", "CHECK", "GC"]);
    const drop = r.pick(command === "GC" ? ["CNI_PATH"] : command === "DEL" ? ["CNI_CONTAINERID", "CNI_IFNAME"] : ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_NETNS"]);
    const conf = command === "GC" ? { ...baseConf(ctx), cniVersion: "1.1.0", "cni.dev/valid-attachments": [] } : baseConf(ctx);
    return mk("env-missing", command, { containerId: ID(i), conf, env: { [drop]: undefined }, expect: [4] });
  },
  // CNI_ARGS that are not KEY=VALUE pairs.
  "args-malformed": (r, ctx, i) => {
    const v = r.pick(["novalue", "=v", ";;=;", "K8S_POD_NAME", "a=b;c", "x".repeat(50_000), `;${MARK}`, `IP=10.77.0.20;${anyText(r).replace(/=/g, "")}`]);
    const v2 = v.split(";").some((p) => p !== "" && p.indexOf("=") <= 0) ? v : `${v};broken`;
    return mk("args-malformed", r.pick(["ADD", "DEL", "CHECK"]), { containerId: ID(i), args: v2, conf: baseConf(ctx), expect: [4] });
  },
  // Pod identity that looks like paths, with a static IP that cannot be given.
  "args-hostile": (r, ctx, i) => {
    // Values without ";" or "=" (those would make the pairs malformed: code 4, another generator).
    const plain = SHELLISH.filter((v) => !/[;=]/.test(v));
    const pod = `K8S_POD_NAMESPACE=${r.pick(PATHS)};K8S_POD_NAME=${r.pick([...PATHS, "x".repeat(20_000)])};K8S_POD_UID=${r.pick(plain)}`;
    const [ip, expect] = r.pick([
      [`not-an-ip-${MARK}`, [7]],
      [`../../${MARK}`, [7]],
      ["999.1.1.1", [7]],
      ["10.77.0.10%eth0", [7]],
      ["1.2.3.4", [102]],
      ["10.77.0.10,10.77.0.11", [102]],
      [POOL_V4.gateway, [102]],
      [ctx.live[0], [102]],
      [ctx.live[1], [102]],
      ["fd00:77::1", [102]],
      ["10.77.2.1", [102]],
    ]);
    return mk("args-hostile", "ADD", { containerId: ID(i), args: `${pod};IP=${ip}`, conf: baseConf(ctx), expect });
  },
  // stdin that is not a JSON object.
  "stdin-not-json": (r, ctx, i) => {
    const valid = JSON.stringify(baseConf(ctx));
    let text = r.pick([
      "",
      "{",
      "}",
      '{"cniVersion":',
      "null",
      "[]",
      "42",
      '"text"',
      "true",
      "\uFEFF" + valid,
      "[".repeat(100_000),
      '{"a":'.repeat(50_000),
      `{"name":"${"x".repeat(2_000_000)}`,
      bytes(r, 1 + r.int(400)),
      valid.slice(0, r.int(valid.length - 1)),
      valid + "}",
      valid + valid,
      valid.replace("{", "{\u0000"),
      `{'cniVersion': '1.0.0'}`,
    ]);
    try {
      const v = JSON.parse(text);
      if (typeof v === "object" && v !== null && !Array.isArray(v)) text = `${text}x`; // keep it invalid
    } catch {
      /* invalid, as wanted */
    }
    return mk("stdin-not-json", r.pick(["ADD", "DEL", "CHECK", "STATUS", "GC"]), { containerId: ID(i), stdin: text, expect: [6] });
  },
  // Versions that are not ours, or too old for the command.
  "stdin-version": (r, ctx, i) => {
    const command = r.pick(["ADD", "DEL", "CHECK", "STATUS", "GC"]);
    const old = { CHECK: ["0.3.1", "0.3.0"], STATUS: ["1.0.0", "0.4.0"], GC: ["1.0.0", "0.3.1"] }[command] ?? [];
    const v = r.pick([undefined, null, "", "0.1.0", "0.2.0", "2.0.0", "1.0", "1.0.0-rc1", "v1.0.0", " 1.0.0", 1, 1.0, [], {}, "x".repeat(1000), `../${MARK}`, ...old]);
    const conf = { ...baseConf(ctx), "cni.dev/valid-attachments": [] };
    if (v === undefined) delete conf.cniVersion;
    else conf.cniVersion = v;
    return mk("stdin-version", command, { containerId: ID(i), conf, expect: [1] });
  },
  // The network's own keys.
  "stdin-shape": (r, ctx, i) => {
    const conf = baseConf(ctx);
    const [key, value] = r.pick([
      ["name", undefined],
      ["name", ""],
      ["name", 5],
      ["name", `../${MARK}`],
      ["name", "a/b"],
      ["name", "x".repeat(300)],
      ["name", " net"],
      ["name", "näme"],
      ["name", "a\u0000b"],
      ["type", undefined],
      ["type", ""],
      ["type", 5],
      ["ipam", undefined],
      ["ipam", null],
      ["ipam", []],
      ["ipam", "spiderpool-ipam"],
      ["ipam", 5],
    ]);
    if (value === undefined) delete conf[key];
    else conf[key] = value;
    return mk("stdin-shape", r.pick(["ADD", "DEL", "CHECK", "STATUS"]), { containerId: ID(i), conf, expect: [7] });
  },
  // Keys of the ipam object that do not exist.
  "ipam-unknown-key": (r, ctx, i) => {
    const key = r.pick(["poolDirr", "datadir", "__proto__", "constructor", "toString", `../${MARK}`, "", "x".repeat(500), anyText(r)]);
    const conf = baseConf(ctx);
    // defineProperty: a plain assignment to "__proto__" would set the prototype, not a key.
    Object.defineProperty(conf.ipam, key, { value: r.pick([1, "x", null, {}, [], MARK]), enumerable: true, configurable: true, writable: true });
    return mk("ipam-unknown-key", r.pick(["ADD", "DEL", "CHECK", "STATUS"]), { containerId: ID(i), conf, expect: [2] });
  },
  // An IPAM type that names a path.
  "ipam-type": (r, ctx, i) => {
    const v = r.pick(["/bin/sh", "../spiderpool-ipam", "./spiderpool-ipam", "a/b", "", 5, null, [], `/tmp/${MARK}`, ...PATHS.filter((p) => p.includes("/"))]);
    return mk("ipam-type", r.pick(["ADD", "DEL", "CHECK", "STATUS"]), { containerId: ID(i), conf: baseConf(ctx, { type: v }), expect: [7] });
  },
  // poolDir and dataDir that are not absolute paths, or not directories to trust.
  "ipam-dirs": (r, ctx, i) => {
    const key = r.pick(["poolDir", "dataDir"]);
    const [v, expect] = r.pick([
      ["relative", [7]],
      ["", [7]],
      [`../../${MARK}`, [7]],
      [`~/${MARK}`, [7]],
      [`/tmp/\u0000${MARK}`, [7]],
      [5, [7]],
      [[], [7]],
      [{}, [7]],
      [ctx.wwDir, [7]],
      [ctx.linkDir, [7]],
      [ctx.fileDir, [5, 7]],
    ]);
    const command = key === "poolDir" ? r.pick(["ADD", "STATUS"]) : r.pick(["ADD", "DEL", "CHECK", "STATUS"]);
    return mk("ipam-dirs", command, { containerId: ID(i), conf: baseConf(ctx, { [key]: v }), expect });
  },
  // Values of the wrong type or out of range.
  "ipam-values": (r, ctx, i) => {
    const [key, v] = r.pick([
      ["nodeName", 5],
      ["nodeName", []],
      ["ippools", "x"],
      ["ippools", 5],
      ["default_ipv4_ippool", 5],
      ["default_ipv6_ippool", [1]],
      ["clean_gateway", "yes"],
      ["lockTimeoutMs", 0],
      ["lockTimeoutMs", -1],
      ["lockTimeoutMs", 1.5],
      ["lockTimeoutMs", "10"],
      ["lockTimeoutMs", 1e300],
      ["lockTimeoutMs", 600_001],
      ["log_level", "trace"],
      ["log_level", 5],
      ["log_file_path", "relative.log"],
      ["log_file_path", `../${MARK}`],
      ["log_file_max_size", -1],
      ["log_file_max_count", 0],
      ["nodeLabels", []],
      ["podLabels", { a: 5 }],
      ["multusName", 5],
      ["metricsFile", `../${MARK}`],
    ]);
    return mk("ipam-values", r.pick(["ADD", "DEL", "CHECK", "STATUS"]), { containerId: ID(i), conf: baseConf(ctx, { [key]: v }), expect: [7] });
  },
  // Inline pools that are not valid SpiderIPPools.
  "ipam-inline-pools": (r, ctx, i) => {
    const doc = invalidPoolDoc(r);
    return mk("ipam-inline-pools", r.pick(["ADD", "STATUS"]), { containerId: ID(i), conf: baseConf(ctx, { ippools: [doc.doc] }), expect: doc.expect });
  },
  // Pool choice naming pools that do not exist.
  "pool-choice": (r, ctx, i) => {
    const names = [[`../../${MARK}`], ["ghost"], ["ghost*"], ["[z-a]"], ["x".repeat(300)], [`*${MARK}*`]];
    const [extra, top] = r.pick([
      [{ default_ipv4_ippool: r.pick(names), default_ipv6_ippool: r.pick(names) }, {}],
      [{}, { args: { cni: { ippool: { ipv4: r.pick(names), ipv6: r.pick(names) } } } }],
      [{}, { args: { cni: { ippools: [{ interface: "eth0", ipv4: r.pick(names), ipv6: r.pick(names) }] } } }],
      [{}, { args: { cni: { ippools: JSON.stringify([{ interface: "eth0", ipv4: r.pick(names) }]) } } }],
    ]);
    return mk("pool-choice", "ADD", { containerId: ID(i), conf: baseConf(ctx, extra, top), expect: [100] });
  },
  // Pool annotations and static IPs of the wrong shape, or not grantable.
  "args-cni": (r, ctx, i) => {
    const [top, expect] = r.pick([
      [{ args: { cni: { ippools: "not json" } } }, [7]],
      [{ args: { cni: { ippools: 5 } } }, [7]],
      [{ args: { cni: { ippools: [5] } } }, [7]],
      [{ args: { cni: { ippools: [{ interface: "eth0", ipv4: "x" }] } } }, [7]],
      [{ args: { cni: { ippool: { bad: 1 } } } }, [7]],
      [{ args: { cni: { ippool: "{" } } }, [7]],
      [{ args: { cni: { ips: [5] } } }, [7]],
      [{ args: { cni: { ips: "10.77.0.20" } } }, [7]],
      [{ args: { cni: { ips: [`../${MARK}`] } } }, [7]],
      [{ args: { cni: { ips: ["10.77.0.20\u0000x"] } } }, [7]],
      [{ args: { cni: { ips: ["1.2.3.4"] } } }, [102]],
      [{ args: { cni: { ips: [ctx.live[0]] } } }, [102]],
      [{ args: { cni: { ips: ["10.77.0.20", "10.77.0.21"] } } }, [102]],
      [{ runtimeConfig: { ips: "x" } }, [7]],
      [{ runtimeConfig: { ips: [ctx.live[1]] } }, [102]],
      [{ runtimeConfig: { ips: ["::ffff:10.77.0.20"] } }, [7, 102]],
    ]);
    return mk("args-cni", "ADD", { containerId: ID(i), conf: baseConf(ctx, {}, top), expect });
  },
  // prevResult that is not a result.
  "prev-result": (r, ctx, i) => {
    const v = r.pick([5, "x", [], { ips: 5 }, { ips: [{ address: 5 }] }, { interfaces: [{ name: 5 }] }, { routes: [{ dst: 5 }] }, { cniVersion: "9.9.9", ips: [] }]);
    return mk("prev-result", "CHECK", { containerId: ID(i), conf: baseConf(ctx, {}, { prevResult: v }), expect: [1, 6, 7] });
  },
  // GC without a usable list of valid attachments.
  gc: (r, ctx) => {
    const [top, expect] = r.pick([
      [{}, [7]],
      [{ "cni.dev/valid-attachments": 5 }, [7]],
      [{ "cni.dev/valid-attachments": "x" }, [7]],
      [{ "cni.dev/valid-attachments": [{ containerID: 5, ifname: "eth0" }] }, [7]],
      [{ "cni.dev/valid-attachments": [{ containerID: `../../${MARK}` }] }, [7]],
      [{ "cni.dev/valid-attachments": [{ containerID: "a", ifname: "eth0" }, null] }, [7]],
    ]);
    return mk("gc", "GC", { conf: { ...baseConf(ctx, {}, top), cniVersion: "1.1.0" }, expect });
  },
  // A huge but well-formed configuration with one bad key.
  "stdin-huge": (r, ctx, i) => {
    const conf = baseConf(ctx);
    conf.ipam.junk = "x".repeat(1_000_000 + r.int(3_000_000));
    return mk("stdin-huge", r.pick(["ADD", "DEL", "STATUS"]), { containerId: ID(i), conf, expect: [2] });
  },
  // A hostile file in poolDir.
  "pool-file": (r, ctx, i) => {
    const file = hostilePoolFile(r);
    return mk("pool-file", r.pick(["ADD", "STATUS"]), { containerId: ID(i), conf: baseConf(ctx), poolFile: file, expect: file.expect });
  },
  // ipvlan-attach: the IPAM type may not name a path, and is found only in CNI_PATH.
  "delegate-path": (r, ctx, i) => {
    const type = r.pick(["/bin/sh", `/tmp/${MARK}-evil`, `../${MARK}-evil`, `${MARK}-evil`, "./spiderpool-ipam", "spiderpool-ipam/..", ""]);
    const conf = { ...baseConf(ctx, { type }), type: "ipvlan-attach", master: "lo" };
    return mk("delegate-path", "DEL", { containerId: ID(i), conf, expect: [7], binary: "ipvlan-attach" });
  },
  // Names from the runtime that are not valid UTF-8, sent as raw bytes (bash
  // puts them in the environment): two such names must never become one.
  "env-raw-bytes": (r, ctx, i) => {
    const bad = [...r.pick(INVALID_UTF8)];
    const around = (prefix) => [...Buffer.from(prefix), ...bad, ...(r.chance(0.5) ? Buffer.from(`-${i}`) : [])];
    const [name, value] = r.pick([
      ["CNI_IFNAME", around("eth")],
      ["CNI_IFNAME", bad],
      ["CNI_CONTAINERID", around("fz-")],
      ["CNI_NETNS", around("/var/run/netns/")],
      ["CNI_ARGS", around("K8S_POD_NAMESPACE=default;K8S_POD_NAME=")],
      ["CNI_ARGS", around("K8S_POD_NAMESPACE=")],
      ["CNI_ARGS", around("K8S_POD_UID=")],
    ]);
    const command = name === "CNI_NETNS" ? r.pick(["ADD", "CHECK"]) : r.pick(["ADD", "DEL", "CHECK"]);
    return mk("env-raw-bytes", command, { containerId: ID(i), conf: baseConf(ctx), rawEnv: { [name]: value }, expect: [4], expectMsg: /not valid UTF-8/ });
  },
  // The network name on stdin holding bytes that are not UTF-8.
  "stdin-raw-bytes": (r, ctx, i) => {
    const [before, after] = JSON.stringify({ ...baseConf(ctx), cniVersion: "1.1.0" }).split(`"name":"${NETWORK}"`);
    const name = Buffer.from([...Buffer.from("net"), ...r.pick(INVALID_UTF8)]);
    const stdin = Buffer.concat([Buffer.from(`${before}"name":"`), name, Buffer.from(`"${after}`)]);
    return mk("stdin-raw-bytes", r.pick(["ADD", "DEL", "CHECK", "STATUS"]), { containerId: ID(i), stdin, expect: [7], expectMsg: /network name/ });
  },
  // Closed nesting far beyond any real input: on stdin, in an inline pool, in a pool file.
  "deep-nesting": (r, ctx, i) => {
    const depth = r.pick([101, 1_000, 20_000, 200_000]);
    const deep = r.chance(0.5) ? `${"[".repeat(depth)}${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
    const where = r.pick(["stdin", "inline-pool", "pool-file-json", "pool-file-yaml", "pool-file-bare"]);
    if (where === "stdin") {
      const stdin = JSON.stringify({ ...baseConf(ctx, { junk: "DEEP" }), cniVersion: "1.1.0" }).replace('"DEEP"', deep);
      return mk("deep-nesting", r.pick(["ADD", "DEL", "CHECK", "STATUS"]), { containerId: ID(i), stdin, expect: [7], expectMsg: /nest/ });
    }
    const doc = validPoolDoc();
    doc.spec.ips = "DEEP";
    const text = JSON.stringify(doc).replace('"DEEP"', deep);
    if (where === "inline-pool") {
      const stdin = JSON.stringify({ ...baseConf(ctx, { ippools: ["DOC"] }), cniVersion: "1.1.0" }).replace('"DOC"', text);
      return mk("deep-nesting", r.pick(["ADD", "STATUS"]), { containerId: ID(i), stdin, expect: [7], expectMsg: /nest/ });
    }
    const file = {
      name: `z-${MARK}.${where === "pool-file-json" ? "json" : "yaml"}`,
      text: where === "pool-file-bare" ? deep : where === "pool-file-json" ? text : `kind: SpiderIPPool\nspec:\n  ips: ${deep}\n`,
    };
    return mk("deep-nesting", r.pick(["ADD", "STATUS"]), { containerId: ID(i), conf: baseConf(ctx), poolFile: file, expect: [7], expectMsg: /nest/ });
  },
  // Log settings out of their bounds (or a FIFO, a directory, /dev/full as
  // the log), with the log already full: refused with code 7, and the call
  // ends by itself (rotation counting down from 2^53 kept it alive).
  "log-settings": (r, ctx, i) => {
    const [key, value] = r.pick([
      ["log_file_max_count", 2 ** 53 - 1],
      ["log_file_max_count", 1e300],
      ["log_file_max_count", 101],
      ["log_file_max_count", -1],
      ["log_file_max_count", 0.5],
      ["log_file_max_count", "100"],
      ["log_file_max_size", 2 ** 53 - 1],
      ["log_file_max_size", 1025],
      ["log_file_max_size", 0],
      ["log_file_max_age", 2 ** 53 - 1],
      ["log_file_max_age", 366],
      ["log_file_max_age", -5],
      ["lockTimeoutMs", 0], // the log settings are fine, another key is not
    ]);
    const log = r.pick(["full", "full", "full", "fifo", "dir", "dev-full"]);
    const path = log === "dev-full" ? "/dev/full" : join(ctx.logDir, `${i}.log`);
    const extra = { log_file_path: path, log_level: "debug", log_file_max_size: 1, log_file_max_count: 2, [key]: value };
    const logFile = log === "dev-full" ? undefined : { path, kind: log };
    return mk("log-settings", r.pick(["ADD", "DEL", "CHECK", "STATUS"]), { containerId: ID(i), conf: baseConf(ctx, extra), logFile, expect: [7], expectMsg: new RegExp(`ipam\\.${key}`) });
  },
  // Pool files of 100,000 single-address entries with one thing wrong:
  // validated in far less than the kill timeout (it was quadratic).
  "huge-pool": (r, ctx, i) => {
    const wrong = r.pick(["outside", "gateway", "duplicate-name", "usable-gateway"]);
    return mk("huge-pool", r.pick(["ADD", "STATUS"]), { containerId: ID(i), conf: baseConf(ctx), poolFile: { name: `z-${MARK}.yaml`, text: hugePool(wrong) }, expect: [7] });
  },
};

/** Byte sequences that are not UTF-8 (and U+FFFD itself, refused as well). */
const INVALID_UTF8 = [[0xff], [0xfe], [0xc3], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xef, 0xbf, 0xbd]];

const hugePools = new Map();
/** A pool of 100,000 addresses in 10.88.0.0/14 (10.88.1.0 on), one entry per address, with one thing wrong. */
function hugePool(wrong) {
  if (!hugePools.has(wrong)) {
    const address = (k) => `10.${88 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`;
    const ips = Array.from({ length: 100_000 }, (_, k) => `    - ${address(k + 256)}`);
    const gateway = { gateway: "10.92.0.1", "usable-gateway": address(256 + 99_999) }[wrong] ?? "10.88.0.1";
    if (wrong === "outside") ips.push("    - 10.92.0.1");
    const lines = [
      "apiVersion: spiderpool.spidernet.io/v2beta1",
      "kind: SpiderIPPool",
      "metadata:",
      `  name: ${wrong === "duplicate-name" ? POOL_V4.name : "fz-huge"}`,
      "spec:",
      "  subnet: 10.88.0.0/14",
      `  gateway: ${gateway}`,
      "  nodeName: [node-a]",
      "  ips:",
      ...ips,
    ];
    // 50,000 excluded, the gateway not among them: a pod could be given it.
    if (wrong === "usable-gateway") lines.push("  excludeIPs:", ...ips.slice(0, 50_000));
    hugePools.set(wrong, `${lines.join("\n")}\n`);
  }
  return hugePools.get(wrong);
}

// ---- pool documents ------------------------------------------------------

function validPoolDoc(name = "fz-pool") {
  return {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderIPPool",
    metadata: { name },
    spec: { subnet: "10.88.0.0/24", ips: ["10.88.0.10-10.88.0.20"], gateway: "10.88.0.1" },
  };
}

/** A SpiderIPPool with one thing wrong; expect is 2 for unknown fields, else 7. */
export function invalidPoolDoc(r) {
  const d = validPoolDoc();
  const mutations = [
    () => (d.spec.subnet = r.pick(["10.88.0.0/33", "10.88.0.0", "abc", "", 5, null, "10.88.0.0/-1", "::/129", "10.88.0.5/24", `../${MARK}`])),
    () => (d.spec.ips = r.pick([["10.88.0.300"], ["10.88.0.20-10.88.0.10"], ["1.2.3.4"], [5], "10.88.0.10", [["x"]], [`../../${MARK}`], ["10.88.0.10-"]])),
    () => (d.spec.gateway = r.pick(["1.2.3.4", "x", 5, "fd00::1"])),
    () => (d.apiVersion = r.pick(["v1", "spiderpool.spidernet.io/v1", 5, undefined])),
    () => (d.kind = r.pick(["Pod", "spiderippool", undefined, 5])),
    () => (d.metadata.name = r.pick([`../../${MARK}`, "UPPER", "", `a/${MARK}`, "x".repeat(300), 5, ".hidden", `${MARK}\u0000`])),
    () => (d.metadata = r.pick([null, "x", 5])),
    () => (d.spec.routes = r.pick([[{ dst: "bad", gw: "10.88.0.1" }], [{ dst: "0.0.0.0/0" }], "x"])),
    () => (d.spec.nodeAffinity = r.pick([{ matchExpressions: [{ key: "a", operator: "In" }] }, { matchExpressions: [{ key: "a", operator: "Near", values: ["x"] }] }, 5])),
    () => (d.spec.ipVersion = r.pick([5, "4", 6])),
    () => (d.metadata.name = POOL_V4.name), // duplicate of a pool of the poolDir (or of the ADD's pools)
    () => {
      d.spec.subnet = POOL_V4.subnet; // overlaps the pool in poolDir
      d.spec.ips = ["10.77.0.10-10.77.0.12"];
      d.spec.gateway = POOL_V4.gateway;
      d.spec.default = true;
    },
    () => delete d.spec,
    () => (d.spec = r.pick(["x", 5, [], null])),
    () => (d.spec.excludeIPs = r.pick([[5], "x", ["nope"]])),
    () => (d.spec.default = r.pick(["yes", 1])),
    () => (d.spec.nodeName = r.pick(["node-a", [5]])),
  ];
  const unknown = [
    () => (d.spec[r.pick([MARK, "vlan", "subnets", "IPs"])] = 1),
    () => (d[`${MARK}`] = { x: 1 }),
  ];
  if (r.chance(0.15)) {
    r.pick(unknown)();
    return { doc: d, expect: [2, 7] };
  }
  r.pick(mutations)();
  return { doc: d, expect: [7] };
}

/** Text that is YAML syntax for a document (JSON is YAML). */
function toYaml(doc) {
  const out = [];
  const emit = (v, indent) => {
    const pad = " ".repeat(indent);
    for (const [k, x] of Object.entries(v)) {
      if (x !== null && typeof x === "object" && !Array.isArray(x)) {
        out.push(`${pad}${JSON.stringify(k)}:`);
        emit(x, indent + 2);
      } else out.push(`${pad}${JSON.stringify(k)}: ${JSON.stringify(x) ?? "null"}`);
    }
  };
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return JSON.stringify(doc) + "\n";
  emit(doc, 0);
  return out.join("\n") + "\n";
}

/** A file for poolDir: bad content, or not a file one may read. */
export function hostilePoolFile(r) {
  const name = `z-${MARK}.${r.pick(["yaml", "yml", "json"])}`;
  const kind = r.int(100);
  if (kind < 45) {
    const { doc, expect } = invalidPoolDoc(r);
    const text = r.chance(0.5) ? toYaml(doc) : JSON.stringify(doc);
    return { name, text: r.chance(0.2) ? `${DUAL_STACK_POOLS.split("---")[0]}---\n${text}` : text, expect };
  }
  if (kind < 70) {
    const valid = toYaml(validPoolDoc());
    const text = r.pick([
      "spec: [unterminated\n",
      ": : :\n",
      "\t- tab\n\t\tindent: x\n",
      bytes(r, 1 + r.int(2000)),
      valid.slice(0, 1 + r.int(valid.indexOf('"spec"') - 1)), // cut before spec: never a whole pool
      "[".repeat(100_000),
      '{"a":'.repeat(20_000),
      "a: &a [x]\n" + Array.from({ length: 9 }, (_, k) => `b${k}: &b${k} [${Array(10).fill(k ? `*b${k - 1}` : "*a").join(",")}]`).join("\n") + "\n",
      "- 5\n- x\n",
      "kind: List\nitems: 5\n",
      "kind: SpiderIPPoolList\nitems: [5]\n",
      "!!binary aGVsbG8=\n",
      "x: !!js/function 'function(){}'\n",
      `${"# comment\n".repeat(10)}${MARK}\n`,
      "---\n".repeat(1000) + "x: 1\n",
    ]);
    return { name, text, expect: [2, 7] };
  }
  if (kind < 75) return { name, text: "x".repeat(1_000_000 + r.int(2_000_000)), expect: [7] };
  const special = r.pick(["dir", "fifo", "symlink-dev", "symlink-loop", "symlink-dangling", "world-writable", "foreign-owner", "symlink-dir"]);
  return { name, special, expect: special === "symlink-loop" || special === "symlink-dangling" ? [5] : [7] };
}

// ---- generation ----------------------------------------------------------

const WEIGHTS = [
  ["env-command", 4],
  ["env-containerid", 8],
  ["env-ifname", 8],
  ["env-missing", 4],
  ["args-malformed", 5],
  ["args-hostile", 6],
  ["stdin-not-json", 9],
  ["stdin-version", 5],
  ["stdin-shape", 6],
  ["ipam-unknown-key", 5],
  ["ipam-type", 5],
  ["ipam-dirs", 5],
  ["ipam-values", 6],
  ["ipam-inline-pools", 3],
  ["pool-choice", 4],
  ["args-cni", 5],
  ["prev-result", 3],
  ["gc", 2],
  ["stdin-huge", 1],
  ["pool-file", 12],
  ["delegate-path", 2],
  ["env-raw-bytes", 6],
  ["stdin-raw-bytes", 2],
  ["deep-nesting", 4],
  ["log-settings", 4],
  ["huge-pool", 1],
];

export const KINDS = WEIGHTS.map(([k]) => k);

/** `count` cases from `seed` (the same seed gives the same cases). */
export function generateCases(seed, count, ctx, { delegate = true } = {}) {
  const r = rng(seed);
  const weights = WEIGHTS.filter(([k]) => delegate || k !== "delegate-path");
  const total = weights.reduce((n, [, w]) => n + w, 0);
  const cases = [];
  for (let i = 0; i < count; i++) {
    let x = r.int(total);
    const [kind] = weights.find(([, w]) => (x -= w) < 0);
    cases.push({ id: i, ...GEN[kind](r, ctx, i) });
  }
  return cases;
}

// ---- running -------------------------------------------------------------

function writePoolSlot(slotDir, file) {
  for (const n of readdirSync(slotDir)) if (n.startsWith("z-")) rmSync(join(slotDir, n), { recursive: true, force: true });
  if (!file) return;
  const p = join(slotDir, file.name);
  switch (file.special) {
    case undefined:
      writeFileSync(p, file.text, { mode: 0o600 });
      break;
    case "dir":
      mkdirSync(p, { mode: 0o700 });
      break;
    case "fifo":
      mkfifoSync(p, 0o600);
      break;
    case "symlink-dev":
      symlinkSync("/dev/zero", p);
      break;
    case "symlink-loop":
      symlinkSync(p, p);
      break;
    case "symlink-dangling":
      symlinkSync(join(slotDir, `missing-${MARK}`), p);
      break;
    case "symlink-dir":
      symlinkSync("/", p);
      break;
    case "world-writable":
      writeFileSync(p, toYaml(validPoolDoc()), { mode: 0o600 });
      chmodSync(p, 0o666);
      break;
    case "foreign-owner":
      writeFileSync(p, toYaml(validPoolDoc()), { mode: 0o600 });
      chownSync(p, 65534, 65534);
      break;
  }
}

/**
 * The log a log case starts with: full (a sparse file past the 1 MB its
 * settings allow, two copies already rotated), a FIFO or a directory.
 */
function prepareLog(log) {
  if (!log) return;
  if (log.kind === "fifo") return mkfifoSync(log.path);
  if (log.kind === "dir") return mkdirSync(log.path, { mode: 0o700 });
  for (const p of [log.path, `${log.path}.1`, `${log.path}.2`]) {
    writeFileSync(p, "", { mode: 0o600 });
    truncateSync(p, 1024 * 1024 + 1);
  }
}

/**
 * Runs `file` through bash with the given variables holding raw bytes (Node
 * passes environment strings as UTF-8, so it cannot send invalid bytes).
 */
function withRawEnv(file, rawEnv) {
  const sets = Object.entries(rawEnv).map(([name, bytes]) => {
    const escaped = bytes.map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("");
    return `printf -v ${name} '%b' '${escaped}'; export ${name}`;
  });
  return { file: "/bin/bash", argv: ["-c", `${sets.join("; ")}; exec "$0"`, file] };
}

// node:fs has no mkfifo; coreutils has.
function mkfifoSync(p) {
  const r = spawnSync("mkfifo", ["-m", "600", p]);
  if (r.status !== 0) throw new Error(`mkfifo ${p} failed`);
}

/** Checks one answer; returns the problems (empty: it fits). */
export function judge(c, r) {
  const p = [];
  if (r.signal) p.push(`killed by ${r.signal}${r.signal === "SIGKILL" ? " (hang: timed out)" : ""}`);
  if (r.code === 0) p.push("exit 0 (expected a failure)");
  let json;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    p.push(`stdout is not exactly one JSON value: ${JSON.stringify(r.stdout.slice(0, 200))}`);
  }
  if (json !== undefined) {
    const ok =
      typeof json === "object" &&
      json !== null &&
      !Array.isArray(json) &&
      typeof json.cniVersion === "string" &&
      /^\d+\.\d+\.\d+$/.test(json.cniVersion) &&
      Number.isInteger(json.code) &&
      typeof json.msg === "string" &&
      json.msg.length > 0 &&
      (json.details === undefined || typeof json.details === "string") &&
      Object.keys(json).every((k) => ["cniVersion", "code", "msg", "details"].includes(k));
    if (!ok) p.push(`not a CNI error object: ${r.stdout.slice(0, 200)}`);
    else if (!c.expect.includes(json.code)) p.push(`code ${json.code} (expected ${c.expect.join(" or ")}): ${json.msg.slice(0, 300)}`);
    else if (c.expectMsg && !c.expectMsg.test(json.msg)) p.push(`message does not match ${c.expectMsg}: ${json.msg.slice(0, 300)}`);
    if (r.stdout.split("\n").filter((l) => l.trim() !== "").length !== 1) p.push("stdout holds more than one line");
  }
  const trace = /\n\s+at \S|\bat .*\(.*:\d+:\d+\)|\$bunfs|node:internal/;
  if (trace.test(r.stdout)) p.push("stack trace on stdout");
  if (trace.test(r.stderr)) p.push(`stack trace on stderr: ${r.stderr.slice(0, 300)}`);
  return p;
}

/** Paths holding the marker anywhere we can look cheaply: the sandbox, /tmp, / and cwd. */
function markedPaths(dirs) {
  const found = [];
  const walk = (d, depth) => {
    let names;
    try {
      names = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n.name);
      if (n.name.includes(MARK) && !/\/fpools-\d+\/z-fzmark\.(ya?ml|json)$/.test(p) && !p.endsWith(`/planted/${MARK}-evil`)) found.push(p);
      if (n.isDirectory() && depth > 0) walk(p, depth - 1);
    }
  };
  for (const [d, depth] of dirs) walk(d, depth);
  return found;
}

/**
 * Sets up a sandbox, runs the cases (`concurrency` at a time) and returns
 * the figures. log(line) reports progress.
 */
export async function runFuzz({ seed = 1, count = 10_000, concurrency = 4, timeoutMs = 20_000, log = () => {}, delegate = existsSync(IPVLAN_BIN) } = {}) {
  const box = makeSandbox("spiderpool-fuzz-");
  const started = Date.now();
  try {
    // A store with something in it: one live attachment, and the pool cache warm.
    const add = await cni(box, "ADD", "fz-live");
    if (add.code !== 0) throw new Error(`set-up ADD failed: ${add.stdout}${add.stderr}`);
    const live = addressesOf(add.stdout);
    const cwd = join(box.root, "cwd");
    mkdirSync(cwd, { mode: 0o700 });
    const wwDir = join(box.root, "ww");
    mkdirSync(wwDir);
    chmodSync(wwDir, 0o777);
    const linkDir = join(box.root, "link");
    symlinkSync(box.dataDir, linkDir);
    const fileDir = join(box.poolDir, "pools.yaml");
    // Empty dirs in CNI_PATH and PATH holding a planted "fzmark-evil" that would leave a mark if run.
    const plant = join(box.root, "planted");
    mkdirSync(plant, { mode: 0o700 });
    writeFileSync(join(plant, `${MARK}-evil`), `#!/bin/sh\ntouch /tmp/${MARK}-ran\n`, { mode: 0o700 });
    const cniPath = join(box.root, "cni-bin");
    mkdirSync(cniPath, { mode: 0o700 });
    const slots = Array.from({ length: concurrency }, (_, k) => {
      const d = join(box.root, `fpools-${k}`);
      mkdirSync(d, { mode: 0o700 });
      writeFileSync(join(d, "pools.yaml"), DUAL_STACK_POOLS, { mode: 0o600 });
      return d;
    });
    const logDir = join(box.root, "logs");
    mkdirSync(logDir, { mode: 0o700 });
    const ctx = { poolDir: box.poolDir, dataDir: box.dataDir, live, wwDir, linkDir, fileDir, logDir };
    const cases = generateCases(seed, count, ctx, { delegate });

    // The log directory is the log cases' own: a refused call still logs its refusal.
    const watch = () => snapshot(box.root, { skip: ["cwd", "logs", ...slots.map((_, k) => `fpools-${k}`)] });
    let base = watch();
    const failures = [];
    const byKind = new Map();
    const byCode = new Map();
    const durations = [];
    let storeChanges = 0;
    let escapes = 0;

    for (let start = 0; start < cases.length; start += concurrency) {
      const batch = cases.slice(start, start + concurrency);
      const results = await pool(batch, concurrency, async (c, k) => {
        const conf = c.conf && c.poolFile ? { ...c.conf, ipam: { ...c.conf.ipam, poolDir: slots[k] } } : c.conf;
        writePoolSlot(slots[k], c.poolFile);
        prepareLog(c.logFile);
        // Everything a command may need, then the case's own values and removals.
        const env = { CNI_COMMAND: c.command, CNI_NETNS: "/var/run/netns/rel", CNI_IFNAME: c.ifname ?? "eth0", CNI_PATH: cniPath };
        if (c.containerId !== undefined) env.CNI_CONTAINERID = c.containerId;
        if (c.args !== undefined) env.CNI_ARGS = c.args;
        if (c.binary === "ipvlan-attach") env.PATH = `${plant}:/usr/sbin:/usr/bin:/sbin:/bin`;
        for (const [key, value] of Object.entries(c.env)) {
          if (value === undefined) delete env[key];
          else env[key] = value;
        }
        const stdin = c.stdin ?? JSON.stringify(conf);
        const file = c.binary === "ipvlan-attach" ? IPVLAN_BIN : IPAM_BIN;
        for (const key of Object.keys(c.rawEnv ?? {})) delete env[key];
        const exec = c.rawEnv ? withRawEnv(file, c.rawEnv) : { file, argv: [] };
        return run(exec.file, { argv: exec.argv, env, stdin, timeoutMs, cwd: c.binary === "ipvlan-attach" ? plant : cwd });
      });
      for (const [k, c] of batch.entries()) {
        const r = results[k];
        durations.push(r.ms);
        byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + 1);
        let code = "none";
        try {
          code = String(JSON.parse(r.stdout).code);
        } catch {
          /* judged below */
        }
        byCode.set(code, (byCode.get(code) ?? 0) + 1);
        const problems = judge(c, r);
        if (problems.length > 0) failures.push({ id: c.id, kind: c.kind, command: c.command, problems, stderr: r.stderr.slice(0, 300) });
      }
      for (const n of readdirSync(logDir)) rmSync(join(logDir, n), { recursive: true, force: true });
      const now = watch();
      const diff = diffSnapshots(base, now);
      if (diff.length > 0) {
        storeChanges++;
        failures.push({ id: batch[0].id, kind: "store-change", command: batch.map((c) => `${c.id}:${c.kind}`).join(","), problems: diff.slice(0, 10) });
        base = now;
      }
      if (readdirSync(cwd).length > 0) {
        failures.push({ id: batch[0].id, kind: "cwd-write", command: "", problems: readdirSync(cwd) });
        for (const n of readdirSync(cwd)) rmSync(join(cwd, n), { recursive: true, force: true });
      }
      if ((start / concurrency) % 100 === 0) {
        const marks = markedPaths([[box.root, 6], ["/tmp", 0], ["/", 0]]);
        if (marks.length > 0) {
          escapes += marks.length;
          failures.push({ id: batch[0].id, kind: "path-created", command: "", problems: marks });
          for (const m of marks) rmSync(m, { recursive: true, force: true });
        }
      }
      if (start % 1000 < concurrency && start > 0) log(`  ${start} cases, ${failures.length} failure(s), ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    const marks = markedPaths([[box.root, 6], ["/tmp", 0], ["/", 0]]);
    escapes += marks.length;
    if (marks.length > 0) failures.push({ id: -1, kind: "path-created", command: "", problems: marks });
    for (const m of marks) rmSync(m, { recursive: true, force: true });
    // The live attachment is still whole.
    const check = await cni(box, "CHECK", "fz-live", { top: { prevResult: JSON.parse(add.stdout) } });
    if (check.code !== 0) failures.push({ id: -1, kind: "live-attachment", command: "CHECK", problems: [check.stdout] });
    return { seed, count, cases: cases.length, failures, byKind, byCode, durations, storeChanges, escapes, seconds: (Date.now() - started) / 1000, delegate };
  } finally {
    box.cleanup();
    rmSync(`/tmp/${MARK}-ran`, { force: true });
  }
}
