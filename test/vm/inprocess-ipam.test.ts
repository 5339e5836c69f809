// A pod's ADD on a kernel with ipvlan, with the IPAM in-process (CNI_PATH's
// spiderpool-ipam is a symbolic or hard link to ipvlan-attach's own file) and
// executed (it is a copy: another file): strace sees one exec against two, and
// the results, the pod's addresses, the IPAM log and a DEL that releases them
// are the same.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = join(import.meta.dirname, "..", "..");
const EXE = join(REPO, "dist", "bin", "spiderpool-cni");
const suffix = `${process.pid}`;
const nsNode = `vminproc-node-${suffix}`;
const nsPod = `vminproc-pod-${suffix}`;
let root: string;
const bins: Record<"symbolic" | "hard" | "copy", string> = { symbolic: "", hard: "", copy: "" };

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

beforeAll(() => {
  expect(process.getuid?.(), "network namespaces need root").toBe(0);
  expect(spawnSync("strace", ["-V"]).status, "strace is needed (scripts/install-deps.sh)").toBe(0);
  root = mkdtempSync(join(tmpdir(), "vm-inproc-"));
  for (const kind of ["symbolic", "hard", "copy"] as const) {
    bins[kind] = join(root, kind);
    mkdirSync(bins[kind]);
    copyFileSync(EXE, join(bins[kind], "spiderpool-cni"));
    sh("chmod", ["755", join(bins[kind], "spiderpool-cni")]);
  }
  for (const name of ["spiderpool-ipam", "ipvlan-attach"]) {
    symlinkSync("spiderpool-cni", join(bins.symbolic, name));
    linkSync(join(bins.hard, "spiderpool-cni"), join(bins.hard, name));
  }
  symlinkSync("spiderpool-cni", join(bins.copy, "ipvlan-attach"));
  copyFileSync(EXE, join(bins.copy, "spiderpool-ipam"));
  sh("chmod", ["755", join(bins.copy, "spiderpool-ipam")]);
  sh("ip", ["netns", "add", nsNode]);
  sh("ip", ["netns", "add", nsPod]);
  sh("ip", ["-n", nsNode, "link", "add", "ens5", "type", "dummy"]);
  sh("ip", ["-n", nsNode, "link", "set", "ens5", "up"]);
});

afterAll(() => {
  for (const ns of [nsPod, nsNode]) spawnSync("ip", ["netns", "del", ns]);
  if (root) rmSync(root, { recursive: true, force: true });
});

function sandbox(name: string) {
  const dir = join(root, name);
  const poolDir = join(dir, "pools");
  mkdirSync(poolDir, { recursive: true, mode: 0o700 });
  sh("chmod", ["700", dir, poolDir]);
  copyFileSync(join(REPO, "test", "fixtures", "pools", "seed-pools.yaml"), join(poolDir, "seed.yaml"));
  const log = join(dir, "ipam.log");
  const conf = JSON.stringify({
    cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan-attach", master: "ens5",
    ipam: { type: "spiderpool-ipam", poolDir, dataDir: join(dir, "data"), nodeName: "master", log_file_path: log },
  });
  return { conf, log, dataDir: join(dir, "data") };
}

function call(binDir: string, command: "ADD" | "DEL", conf: string) {
  const trace = join(root, `trace-${command}-${Math.random().toString(36).slice(2)}`);
  const env = [`CNI_COMMAND=${command}`, "CNI_CONTAINERID=pod1", `CNI_NETNS=/var/run/netns/${nsPod}`, "CNI_IFNAME=eth0", `CNI_PATH=${binDir}`];
  const r = spawnSync("strace", ["-f", "-qq", "-e", "trace=execve", "-o", trace, "ip", "netns", "exec", nsNode, "env", "-i", ...env, join(binDir, "ipvlan-attach")], { input: conf, encoding: "utf8" });
  const execs = readFileSync(trace, "utf8").split("\n").filter((l) => / = 0$/.test(l)).map((l) => /execve\("([^"]+)"/.exec(l)?.[1] ?? "").filter((f) => f.startsWith(root));
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, execs };
}

const podAddresses = () =>
  (JSON.parse(sh("ip", ["-n", nsPod, "-j", "addr", "show", "dev", "eth0"])) as { addr_info: { local: string; prefixlen: number; scope: string }[] }[])[0]!.addr_info
    .filter((a) => a.scope === "global")
    .map((a) => `${a.local}/${a.prefixlen}`);

const logMessages = (file: string) => readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { component: string; msg: string; ips?: string[] }).map((l) => `${l.component} ${l.msg} ${l.ips?.join(",") ?? ""}`.trim());

describe("a pod's ADD with the IPAM in-process vs executed", () => {
  const seen: Record<string, { result: unknown; addresses: string[]; log: string[] }> = {};

  it.each([["copy"], ["symbolic"], ["hard"]] as const)("%s: the pod gets its addresses; DEL releases them", (kind) => {
    const box = sandbox(kind);
    const add = call(bins[kind], "ADD", box.conf);
    expect(add.code, add.stderr).toBe(0);
    const ipvlan = join(bins[kind], "ipvlan-attach");
    expect(add.execs).toEqual(kind === "copy" ? [ipvlan, join(bins.copy, "spiderpool-ipam")] : [ipvlan]);
    const addresses = podAddresses();
    expect(addresses).toEqual(["172.31.28.16/20", "2406:da1e:c4:ed01:c57d::/64"]);
    const del = call(bins[kind], "DEL", box.conf);
    expect(del.code, del.stderr).toBe(0);
    expect(del.execs).toHaveLength(kind === "copy" ? 2 : 1);
    expect(spawnSync("ip", ["-n", nsPod, "link", "show", "eth0"]).status).not.toBe(0);
    expect(readdirSync(join(box.dataDir, "ips"))).toEqual([]);
    seen[kind] = { result: JSON.parse(add.stdout), addresses, log: logMessages(box.log) };
    expect(seen[kind].log).toEqual(["spiderpool-ipam ADD succeeded 172.31.28.16/20,2406:da1e:c4:ed01:c57d::/64", "spiderpool-ipam DEL succeeded"]);
  });

  it("the three gave the same result, addresses and log", () => {
    expect(Object.keys(seen).sort()).toEqual(["copy", "hard", "symbolic"]);
    for (const kind of ["symbolic", "hard"]) {
      const { result, ...rest } = seen[kind]!;
      const { result: reference, ...referenceRest } = seen.copy!;
      // The interface's sandbox is the same path; its MAC is the master's (ipvlan): the whole result matches.
      expect(result).toEqual(reference);
      expect(rest).toEqual(referenceRest);
    }
  });
});
