// README "From a fresh node to a pod with an address", end to end on a kernel
// with ipvlan: scripts/install.sh into a temporary root (one executable, the
// plugins linked to it, so the IPAM runs inside ipvlan-attach's process), the seed's pools from
// the installed example, the network configuration from `nad -o conflist`,
// then ADD and DEL as a runtime runs them (inside a "node" namespace holding a
// dummy ens5), with the metrics file following along, and the uninstall.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = join(import.meta.dirname, "..", "..");
const suffix = `${process.pid}`;
const nsNode = `vminstall-node-${suffix}`;
const nsPod = `vminstall-pod-${suffix}`;
let root: string;
let dest: string;
let poolDir: string;
let dataDir: string;
let metricsFile: string;

const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });

function plugin(command: "ADD" | "DEL", conf: object): { code: number | null; stdout: string; stderr: string } {
  const env = {
    PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    NODE_NAME: "master",
    CNI_COMMAND: command,
    CNI_CONTAINERID: "pod1",
    CNI_NETNS: `/var/run/netns/${nsPod}`,
    CNI_IFNAME: "eth0",
    CNI_PATH: dest,
  };
  const r = spawnSync("ip", ["netns", "exec", nsNode, join(dest, "ipvlan-attach")], { env, input: JSON.stringify(conf), encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const allocatedV4 = () => /spiderpool_ippool_allocated_ips\{pool="master-v4",ipversion="4",node="master"\} (\d+)/.exec(readFileSync(metricsFile, "utf8"))?.[1];

describe("install, pools, NAD, a pod with an address, uninstall", () => {
  beforeAll(() => {
    expect(process.getuid?.(), "network namespaces need root").toBe(0);
    root = mkdtempSync(join(tmpdir(), "vm-install-"));
    dest = join(root, "opt", "cni", "bin");
    poolDir = join(root, "etc", "cni", "spiderpool", "ippools");
    dataDir = join(root, "var", "lib", "cni", "spiderpool");
    metricsFile = join(root, "spiderpool.prom");
    sh("ip", ["netns", "add", nsNode]);
    sh("ip", ["netns", "add", nsPod]);
    sh("ip", ["-n", nsNode, "link", "add", "ens5", "type", "dummy"]);
    sh("ip", ["-n", nsNode, "link", "set", "ens5", "up"]);
    sh("ip", ["-n", nsNode, "addr", "add", "172.31.22.228/20", "dev", "ens5"]);
  });

  afterAll(() => {
    for (const ns of [nsPod, nsNode]) spawnSync("ip", ["netns", "del", ns]);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("walks the README path", () => {
    const installed = sh("bash", [join(REPO, "scripts", "install.sh"), "--dest", dest, "--pool-dir", poolDir, "--data-dir", dataDir, "--alias"]);
    expect(installed).toContain(`installed ${dest}/spiderpool-cni (755)`);
    expect(installed).toContain(`linked ${dest}/ipvlan-attach -> spiderpool-cni`);

    const pools = sh("sed", ["-n", "s/^# //p", join(poolDir, "seed-pools.yaml.example")]);
    writeFileSync(join(poolDir, "seed.yaml"), pools, { mode: 0o600 });
    expect(sh(join(dest, "spiderpool-ipam"), ["validate", join(poolDir, "seed.yaml")])).toContain("4 pool(s) valid");

    const conflist = JSON.parse(sh(join(dest, "spiderpool-ipam"), ["nad", "-f", join(REPO, "test", "fixtures", "multus", "seed-ipvlan-ens5.yaml"), "-o", "conflist"])) as {
      cniVersion: string;
      name: string;
      plugins: { ipam: Record<string, unknown> }[];
    };
    // What a runtime hands the first (only) plugin of the list; the temp root's dirs added.
    const first = conflist.plugins[0]!;
    const conf = { cniVersion: conflist.cniVersion, name: conflist.name, ...first, ipam: { ...first.ipam, poolDir, dataDir, metricsFile } };

    const add = plugin("ADD", conf);
    expect(add.code, add.stderr).toBe(0);
    const addrs = JSON.parse(sh("ip", ["-n", nsPod, "-j", "addr", "show", "dev", "eth0"])) as { addr_info: { local: string; prefixlen: number; scope: string }[] }[];
    const global = addrs[0]!.addr_info.filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`);
    expect(global).toEqual(["172.31.28.16/20", "2406:da1e:c4:ed01:c57d::/64"]);
    expect(allocatedV4()).toBe("1");

    const del = plugin("DEL", conf);
    expect(del.code, del.stderr).toBe(0);
    expect(allocatedV4()).toBe("0");

    const removed = sh("bash", [join(REPO, "scripts", "install.sh"), "--dest", dest, "--pool-dir", poolDir, "--data-dir", dataDir, "--uninstall"]);
    expect(removed).toContain(`removed ${dest}/spiderpool`);
    expect(readdirSync(dest)).toEqual([]);
    expect(readdirSync(poolDir)).toEqual(["seed.yaml"]);
  });
});
