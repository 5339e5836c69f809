// One executable for every plugin (plugins/spiderpool-cni): it runs as the
// name it was started as, through a symbolic link, a hard link or a copy, and
// refuses any other name with a clear error. ipvlan-attach runs spiderpool-ipam
// in-process when CNI_PATH's spiderpool-ipam is this very file, and executes
// it otherwise: both give the same answers, errors, logs and store, and strace
// counts one exec against two. This kernel has no ipvlan, so an ADD here fails
// after its IPAM ADD and rolls back (an IPAM DEL), which both paths must do
// alike; a kernel with ipvlan makes it succeed, compared the same way.
// test/vm/inprocess-ipam.test.ts runs successful ADDs in the guest.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempDirs, makePrivateDir } from "../helpers/tmp";
import { REPO_ROOT, SEED_POOLS_FILE, requireBuiltIpam } from "./ipam-harness";

const EXE = join(REPO_ROOT, "dist", "bin", "spiderpool-cni");
const REF_DIR = "/usr/lib/cni";
const NAMES = "spiderpool-cni, spiderpool-ipam, spiderpool, ipvlan-attach";
const tmp = new TempDirs();
const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
const nodeNs = `mc-node-${suffix}`;
const podNs = `mc-pod-${suffix}`;
let root: string;
/** The layouts under test: the IPAM in-process (symbolic, hard links) or executed (a copy that is another file). */
const bins: Record<"symbolic" | "hard" | "copy", string> = { symbolic: "", hard: "", copy: "" };

function haveStrace(): boolean {
  const ok = spawnSync("strace", ["-V"]).status === 0;
  if (!ok && process.env.CI === "true") throw new Error("strace is missing (CI=true): install it (scripts/install-deps.sh)");
  return ok;
}

beforeAll(async () => {
  requireBuiltIpam();
  root = await tmp.make("spiderpool-multicall-");
  for (const kind of ["symbolic", "hard", "copy"] as const) {
    const dir = join(root, kind);
    mkdirSync(dir);
    copyFileSync(EXE, join(dir, "spiderpool-cni"));
    bins[kind] = dir;
  }
  for (const name of ["spiderpool-ipam", "ipvlan-attach", "spiderpool"]) {
    symlinkSync("spiderpool-cni", join(bins.symbolic, name));
    linkSync(join(bins.hard, "spiderpool-cni"), join(bins.hard, name));
  }
  // ipvlan-attach is one file, its spiderpool-ipam another copy (another version, as far as it can tell).
  symlinkSync("spiderpool-cni", join(bins.copy, "ipvlan-attach"));
  copyFileSync(EXE, join(bins.copy, "spiderpool-ipam"));
  execFileSync("chmod", ["755", ...readdirSync(bins.copy).map((n) => join(bins.copy, n))]);

  execFileSync("ip", ["netns", "add", nodeNs]);
  execFileSync("ip", ["netns", "add", podNs]);
  execFileSync("ip", ["-n", nodeNs, "link", "add", "ens5", "type", "veth", "peer", "name", "vpc0"]);
  execFileSync("ip", ["-n", nodeNs, "link", "set", "ens5", "up"]);
});

afterAll(async () => {
  for (const ns of [podNs, nodeNs]) spawnSync("ip", ["netns", "del", ns]);
  await tmp.cleanup();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Files of ours executed (strace), when traced. */
  execs?: string[];
}

function run(file: string, args: string[], env: Record<string, string> = {}, input = ""): Run {
  const r = spawnSync(file, args, { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...env }, input, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("one executable, many names", () => {
  it.each([["symbolic"], ["hard"]] as const)("answers as each plugin through %s links", (kind) => {
    for (const name of ["spiderpool-ipam", "spiderpool", "ipvlan-attach"]) {
      const as = name === "spiderpool" ? "spiderpool-ipam" : name;
      const v = run(join(bins[kind], name), ["--version"]);
      expect(v.stdout, v.stderr).toMatch(new RegExp(`^${as} \\d+\\.\\d+\\.\\d+ \\(CNI spec`));
      const cni = run(join(bins[kind], name), [], { CNI_COMMAND: "VERSION" }, '{"cniVersion":"1.0.0"}');
      expect(JSON.parse(cni.stdout).supportedVersions).toContain("1.1.0");
    }
    expect(run(join(bins[kind], "spiderpool-ipam"), ["validate", SEED_POOLS_FILE]).stdout).toContain("4 pool(s) valid");
    expect(run(join(bins[kind], "spiderpool-cni"), ["--help"]).stdout).toContain("spiderpool-cni install");
  });

  it.each([["a symbolic link"], ["a hard link"], ["a copy"]])("started as an unknown name through %s: exits 2 naming the names it answers to", (how) => {
    const odd = join(root, `spiderpool-cni-amd64-${how.replace(/ /g, "-")}`);
    if (how === "a symbolic link") symlinkSync(EXE, odd);
    else if (how === "a hard link") linkSync(join(bins.hard, "spiderpool-cni"), odd);
    else copyFileSync(EXE, odd);
    const byHand = run(odd, ["--version"]);
    expect(byHand.code).toBe(2);
    expect(byHand.stdout).toBe("");
    expect(byHand.stderr).toContain(`started as "${odd.split("/").pop()}", which is none of its names: ${NAMES}`);
    // Run by a runtime: one CNI error on stdout, code 7, never a crash.
    const byRuntime = run(odd, [], { CNI_COMMAND: "ADD", CNI_CONTAINERID: "c", CNI_NETNS: "/proc/self/ns/net", CNI_IFNAME: "eth0", CNI_PATH: REF_DIR }, "{}");
    expect(byRuntime.code).toBe(2);
    const err = JSON.parse(byRuntime.stdout) as { code: number; msg: string };
    expect(err.code).toBe(7);
    expect(err.msg).toContain(NAMES);
  });

  it("run by a runtime as spiderpool-cni itself: a CNI error naming the plugins", () => {
    const r = run(join(bins.symbolic, "spiderpool-cni"), [], { CNI_COMMAND: "VERSION" }, '{"cniVersion":"1.0.0"}');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 7, msg: expect.stringContaining("not a CNI plugin itself") });
  });
});

describe("ipvlan-attach's IPAM: in-process when it is this file, executed otherwise", () => {
  let traced = false;
  beforeAll(() => {
    traced = haveStrace();
  });

  /** A private poolDir (seed pools) and an empty dataDir and log file for one path. */
  async function sandbox(name: string) {
    const dir = await makePrivateDir(join(root, name));
    const poolDir = await makePrivateDir(join(dir, "pools"));
    copyFileSync(SEED_POOLS_FILE, join(poolDir, "seed.yaml"));
    return { poolDir, dataDir: join(dir, "data"), log: join(dir, "ipam.log") };
  }

  function conf(box: { poolDir: string; dataDir: string; log: string }, ipam: Record<string, unknown> = {}) {
    return JSON.stringify({
      cniVersion: "1.1.0", name: "ipvlan-ens5", type: "ipvlan-attach", master: "ens5",
      ipam: { type: "spiderpool-ipam", poolDir: box.poolDir, dataDir: box.dataDir, nodeName: "master", log_file_path: box.log, ...ipam },
    });
  }

  /** One call the way a runtime makes it, in the node's netns, traced for execve when strace is here. */
  function call(binDir: string, command: string, stdin: string, containerId = "pod1", cniPath = binDir): Run {
    const trace = join(root, `trace-${Math.random().toString(36).slice(2)}`);
    const env = [`CNI_COMMAND=${command}`, `CNI_CONTAINERID=${containerId}`, `CNI_NETNS=/var/run/netns/${podNs}`, "CNI_IFNAME=eth0", `CNI_PATH=${cniPath}`];
    const cmd = ["ip", "netns", "exec", nodeNs, "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", ...env, join(binDir, "ipvlan-attach")];
    const r = traced
      ? spawnSync("strace", ["-f", "-qq", "-e", "trace=execve", "-o", trace, ...cmd], { input: stdin, encoding: "utf8" })
      : spawnSync(cmd[0]!, cmd.slice(1), { input: stdin, encoding: "utf8" });
    const out: Run = { code: r.status, stdout: r.stdout, stderr: r.stderr };
    if (traced) {
      // Successful execs of any plugin file (ours or the reference's), in order.
      out.execs = readFileSync(trace, "utf8")
        .split("\n")
        .filter((l) => / = 0$/.test(l))
        .map((l) => /execve\("([^"]+)"/.exec(l)?.[1] ?? "")
        .filter((f) => f.startsWith(root) || f.startsWith(REF_DIR));
    }
    return out;
  }

  /** The IPAM's invocation log lines without what differs by run (time, duration). */
  const logLines = (file: string) =>
    existsSync(file)
      ? readFileSync(file, "utf8").trim().split("\n").map((l) => {
          const { time: _t, durationMs: _d, ...rest } = JSON.parse(l) as Record<string, unknown>;
          return rest;
        })
      : [];

  /** Every file under a dataDir with its contents, "created" times blanked: the store as the calls left it. */
  function storeOf(dataDir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (dir: string) => {
      for (const name of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, name.name);
        if (name.isDirectory()) walk(path);
        else if (!path.includes("/cache/")) out[path.slice(dataDir.length)] = readFileSync(path, "utf8").replace(/"created":"[^"]*"/g, '"created":"-"');
      }
    };
    if (existsSync(dataDir)) walk(dataDir);
    return out;
  }

  const plugin = (kind: keyof typeof bins, name: string) => join(bins[kind], name);

  it.each([["symbolic"], ["hard"]] as const)("%s links: one process per call; the same answers, errors, logs and store as with the IPAM executed", async (kind) => {
    const inside = await sandbox(`in-${kind}`);
    const outside = await sandbox(`out-${kind}`);
    const steps: [string, (box: typeof inside) => string, string][] = [
      // ADD: on this kernel the ipvlan cannot be made: the IPAM ADD is rolled back by an IPAM DEL.
      ["ADD", (b) => conf(b), "pod1"],
      ["DEL", (b) => conf(b), "pod1"],
      ["DEL", (b) => conf(b), "never-added"],
      ["GC", (b) => JSON.stringify({ ...JSON.parse(conf(b)), "cni.dev/valid-attachments": [] }), "gc"],
      ["STATUS", (b) => conf(b), "status"],
      // The IPAM's own errors pass through unchanged: no pool for this node, a bad ipam key.
      ["ADD", (b) => conf(b, { nodeName: "nowhere" }), "pod2"],
      ["DEL", (b) => conf(b, { dataDir: "relative/data" }), "pod2"],
    ];
    const outcomes: string[] = [];
    for (const [command, make, id] of steps) {
      const a = call(bins[kind], command, make(inside), id);
      const b = call(bins.copy, command, make(outside), id);
      const same = (s: string) => s.replaceAll(inside.poolDir, "POOLS").replaceAll(inside.dataDir, "DATA").replaceAll(outside.poolDir, "POOLS").replaceAll(outside.dataDir, "DATA");
      expect({ code: a.code, stdout: same(a.stdout) }, `${command} ${id}: ${a.stderr}`).toEqual({ code: b.code, stdout: same(b.stdout) });
      expect(same(a.stderr), `${command} ${id}`).toBe(same(b.stderr));
      outcomes.push(`${command} ${id}: ${a.code === 0 ? "ok" : JSON.parse(a.stdout).code}`);
      if (traced) {
        expect(a.execs, `${command} ${id} in-process`).toEqual([plugin(kind, "ipvlan-attach")]);
        expect(b.execs, `${command} ${id} executed`).toEqual([plugin("copy", "ipvlan-attach"), plugin("copy", "spiderpool-ipam")].concat(command === "ADD" && b.code !== 0 && id === "pod1" ? [plugin("copy", "spiderpool-ipam")] : []));
      }
    }
    // The calls above reached the IPAM and failed or succeeded as meant.
    expect(outcomes).toEqual([expect.stringMatching(/^ADD pod1: (106|ok)$/), "DEL pod1: ok", "DEL never-added: ok", "GC gc: ok", "STATUS status: ok", "ADD pod2: 100", "DEL pod2: 7"]);
    expect(logLines(inside.log)).toEqual(logLines(outside.log));
    expect(logLines(inside.log).map((l) => `${l.msg}`)).toContain("ADD succeeded");
    expect(storeOf(inside.dataDir)).toEqual(storeOf(outside.dataDir));
  });

  it("the ADD's rollback releases the addresses in-process: nothing is left allocated", async () => {
    const box = await sandbox("rollback");
    const add = call(bins.symbolic, "ADD", conf(box), "pod-rb");
    if (add.code === 0) return expect(call(bins.symbolic, "DEL", conf(box), "pod-rb").code).toBe(0); // a kernel with ipvlan: no rollback to see
    expect(JSON.parse(add.stdout).code).toBe(106);
    expect(logLines(box.log).map((l) => l.msg)).toEqual(["ADD succeeded", "DEL succeeded"]);
    expect(Object.keys(storeOf(box.dataDir)).filter((f) => f.startsWith("/ips/") || f.startsWith("/attachments/"))).toEqual([]);
  });

  it("upstream's type name (the spiderpool alias) runs in-process too; another IPAM (host-local) is executed", async () => {
    if (!traced) return;
    const box = await sandbox("alias");
    expect(call(bins.symbolic, "DEL", conf(box, { type: "spiderpool" })).execs).toEqual([plugin("symbolic", "ipvlan-attach")]);
    const hostLocal = JSON.stringify({
      // Debian's host-local knows CNI versions up to 1.0.0.
      cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan-attach", master: "ens5",
      ipam: { type: "host-local", dataDir: box.dataDir, ranges: [[{ subnet: "10.1.0.0/24" }]] },
    });
    const r = call(bins.symbolic, "DEL", hostLocal, "pod1", `${bins.symbolic}:${REF_DIR}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.execs).toEqual([plugin("symbolic", "ipvlan-attach"), join(REF_DIR, "host-local")]);
  });
});
