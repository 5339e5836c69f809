// Runtime interop: our plugins driven through libcni, the library containerd and
// CRI-O use, by a tiny Go client (test/interop/libcni-client, built against
// Debian's libcni 1.1.2 by test/interop/build-libcni-client.sh; `npm test` builds it
// on the host before the guest boots). The client runs inside the seed's node
// "master" (SeedTopology: the VPC router, ens5, the seed's pools) as a runtime does:
// libcni runs each plugin of the conflist in order for ADD and in reverse for DEL,
// injects name/cniVersion/prevResult/runtimeConfig, caches the ADD result and
// passes it as prevResult to CHECK and DEL.
//
//   bash scripts/vm/run.sh -- node_modules/.bin/vitest run --config scripts/vm/vitest.vm.config.ts test/vm/libcni-interop.test.ts
//
// What libcni 1.1.2 has (its source, /usr/share/gocode): spec 1.0.0; AddNetworkList,
// CheckNetworkList, DelNetworkList, ValidateNetworkList, the result cache. No
// GCNetworkList or GetStatusNetworkList (CNI 1.1), and a conflist's "cniVersions" is
// not read (only "cniVersion"), so the conflists here carry "cniVersion" alone.
//
// The reference `bandwidth` plugin (Debian's v1.1.1) shapes on the host-side veth peer
// of the pod's interface (tbf on it, an ifb for egress). An ipvlan slave has no veth
// peer, so after ipvlan-attach it refuses ADD with rates and every CHECK ("container
// interface eth0 has no veth peer"); that is asserted here, with the runtime's DEL
// cleaning up after the failed ADD. Upstream Spiderpool's ipvlan bandwidth uses
// cilium's bandwidth manager, not this plugin. A control chain (the reference `ptp`,
// a veth, with spiderpool-ipam) shows bandwidth's qdiscs and ifb do work in this
// kernel through the same client.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SeedTopology } from "../scenario/seed-topology";
import { storeState, type Json } from "./helpers/lab";
import { missing } from "../helpers/prerequisite";

const ROOT = join(import.meta.dirname, "..", "..");
const CLIENT = join(ROOT, ".cache", "libcni-client", "cniclient");
const REF_DIR = "/usr/lib/cni";
const NETWORK = "ipvlan-ens5"; // the seed's pools are bound to multusName kube-system/ipvlan-ens5
const NODE = "master";
const clientMissing = existsSync(CLIENT)
  ? undefined
  : `${CLIENT}; build it on the host first: bash test/interop/build-libcni-client.sh (needs golang-go, golang-github-appc-cni-dev)`;

interface Result {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
}

interface ClientRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed (add, cached, validate). */
  json: unknown;
  /** The client's error line: libcni's message, and the CNI error code when a plugin returned one. */
  error?: { error: string; code?: number; msg?: string };
}

interface PodNs {
  netns: string;
  path: string;
  containerId: string;
}

let topo: SeedTopology;
let nodeNs: string;
let cacheDir: string;
let tuningDir: string;
/** Pods of the running test, each with what its DEL needs: afterEach DELs them again (a runtime retries DEL) and removes their namespace, so a failed assertion leaks nothing into the next test. */
const livePods: { pod: PodNs; list: string; capArgs?: Json }[] = [];

const ip = (...args: string[]) => {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const ipJson = <T>(...args: string[]): T => JSON.parse(ip("-j", ...args) || "[]") as T;
const linkNames = (netns: string) => ipJson<{ ifname: string }[]>("-n", netns, "link", "show").map((l) => l.ifname);
const qdiscs = (netns: string, dev: string): { kind: string; handle: string }[] => {
  const r = spawnSync("tc", ["-j", "-n", netns, "qdisc", "show", "dev", dev], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tc qdisc show dev ${dev} in ${netns}: ${r.stderr}`);
  return JSON.parse(r.stdout || "[]") as { kind: string; handle: string }[];
};
const sysctl = (netns: string, key: string) => readInNetns(netns, `/proc/sys/${key.replaceAll(".", "/")}`);
const readInNetns = (netns: string, file: string) => {
  const r = spawnSync("ip", ["netns", "exec", netns, "cat", file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cat ${file} in ${netns}: ${r.stderr}`);
  return r.stdout.trim();
};
const filesIn = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name) : [];

function newPod(role: string, list: string, capArgs?: Json): PodNs {
  const netns = `lc-${role}-${topo.suffix}`;
  ip("netns", "add", netns);
  const pod = { netns, path: `/var/run/netns/${netns}`, containerId: `libcni-${role}-${topo.suffix}` };
  livePods.push({ pod, list, ...(capArgs ? { capArgs } : {}) });
  ip("-n", netns, "link", "set", "lo", "up");
  return pod;
}

function writeConflist(file: string, plugins: Json[], name = NETWORK): string {
  const path = join(topo.work, file);
  writeFileSync(path, JSON.stringify({ cniVersion: "1.0.0", name, plugins }, null, 2), { mode: 0o600 });
  return path;
}

/** Our ipvlan-attach + spiderpool-ipam on the node's ens5, with the node's pool files and store. */
function ipvlanPlugin(): Json {
  return {
    type: "ipvlan-attach",
    master: "ens5",
    ipam: { type: "spiderpool-ipam", poolDir: topo.poolDir(NODE), dataDir: topo.dataDir(NODE) },
    coordinator: { stateDir: topo.stateDir(NODE) },
  };
}

/** The reference tuning plugin: a namespaced sysctl, one of eth0's, and an MTU (backed up in dataDir, restored on DEL). */
function tuningPlugin(): Json {
  return { type: "tuning", sysctl: { "net.core.somaxconn": "1234", "net.ipv4.conf.eth0.arp_ignore": "1" }, mtu: 1400, dataDir: tuningDir };
}

const RATES = { ingressRate: 8_000_000, ingressBurst: 800_000, egressRate: 4_000_000, egressBurst: 400_000 };

/** Runs the libcni client in the node's namespace, as a runtime on that node would. */
function client(command: string, pod: PodNs, conflist: string, opts: { cacheDir?: string; capArgs?: Json } = {}): ClientRun {
  const args = [
    command,
    "--conflist", conflist,
    "--netns", pod.path,
    "--container-id", pod.containerId,
    "--ifname", "eth0",
    "--bin-dir", topo.cniPath,
    "--bin-dir", REF_DIR,
    "--cache-dir", opts.cacheDir ?? cacheDir,
    // What containerd passes; the reference plugins refuse unknown CNI_ARGS without IgnoreUnknown.
    "--args", `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.containerId};K8S_POD_UID=uid-${pod.containerId}`,
  ];
  if (opts.capArgs) args.push("--cap-args", JSON.stringify(opts.capArgs));
  const r = spawnSync("ip", ["netns", "exec", nodeNs, "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", `NODE_NAME=${NODE}`, CLIENT, ...args], {
    encoding: "utf8",
    timeout: 120_000,
  });
  const parse = (text: string) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  };
  const lastLine = (r.stderr ?? "").trim().split("\n").pop() ?? "";
  return {
    code: r.status,
    stdout: r.stdout ?? "",
    stderr: (r.stderr ?? "") + (r.error ? `\nspawn: ${r.error.message}` : ""),
    json: parse(r.stdout ?? ""),
    error: parse(lastLine) as ClientRun["error"],
  };
}

const describeRun = (r: ClientRun) => `exit ${r.code}; stdout: ${r.stdout.trim() || "<empty>"}; stderr: ${r.stderr.trim() || "<empty>"}`;
function ok<T = Json>(r: ClientRun): T {
  if (r.code !== 0) throw new Error(`expected success, got: ${describeRun(r)}`);
  return r.json as T;
}
function failed(r: ClientRun): NonNullable<ClientRun["error"]> {
  if (r.code === 0 || !r.error) throw new Error(`expected a failure, got: ${describeRun(r)}`);
  return r.error;
}

const cacheFile = (pod: PodNs, network = NETWORK) => join(cacheDir, "results", `${network}-${pod.containerId}-eth0`);

/** The pod's eth0 holds the result's addresses and the tuning plugin's settings. */
function expectAttached(pod: PodNs, result: Result): void {
  expect(result.cniVersion).toBe("1.0.0");
  const v4 = result.ips?.find((i) => !i.address.includes(":"));
  const v6 = result.ips?.find((i) => i.address.includes(":"));
  expect(v4?.address).toMatch(/^172\.31\.28\.\d+\/20$/); // master-v4
  expect(v6?.address).toMatch(/^2406:da1e:c4:ed01:c57d::[0-9a-f]*\/64$/); // master-v6
  const eth0 = result.interfaces?.find((i) => i.name === "eth0");
  expect(eth0?.sandbox).toBe(pod.path);
  const link = ipJson<{ mtu: number; linkinfo?: { info_kind?: string } }[]>("-d", "-n", pod.netns, "link", "show", "eth0")[0];
  expect(link?.linkinfo?.info_kind).toBe("ipvlan");
  expect(link?.mtu).toBe(1400); // tuning's mtu, applied after ours
  const present = ipJson<{ addr_info: { local: string; prefixlen: number }[] }[]>("-n", pod.netns, "addr", "show", "dev", "eth0")[0]!.addr_info.map(
    (a) => `${a.local}/${a.prefixlen}`,
  );
  expect(present).toEqual(expect.arrayContaining([v4!.address, v6!.address]));
  expect(sysctl(pod.netns, "net.core.somaxconn")).toBe("1234");
  expect(sysctl(pod.netns, "net.ipv4.conf.eth0.arp_ignore")).toBe("1");
  expect(topo.ping(pod.netns, v4!.gateway!), `ping ${v4!.gateway}`).toBe(true);
}

/** After DEL: the pod holds only lo, the node has no side channel left, the store and caches are empty. */
function expectDetached(pod: PodNs): void {
  expect(linkNames(pod.netns)).toEqual(["lo"]);
  expect(linkNames(nodeNs).filter((n) => n.startsWith("spd") || n.startsWith("bwp"))).toEqual([]);
  expect(ip("-n", nodeNs, "rule", "show")).not.toMatch(/lookup 500/);
  const store = storeState(topo.dataDir(NODE));
  expect(store).toEqual({ claims: [], attachments: [], problems: [] });
  expect(existsSync(cacheFile(pod))).toBe(false);
  expect(filesIn(tuningDir)).toEqual([]);
  expect(filesIn(topo.stateDir(NODE))).toEqual([]);
}

beforeAll(() => {
  if (clientMissing) return;
  topo = new SeedTopology().build();
  nodeNs = topo.nodeNetns(NODE);
  cacheDir = join(topo.work, "libcni-cache");
  tuningDir = join(topo.work, "tuning");
  mkdirSync(tuningDir, { mode: 0o700 });
});

afterEach(() => {
  for (const { pod, list, capArgs } of livePods.splice(0)) {
    client("del", pod, list, capArgs ? { capArgs } : {});
    spawnSync("ip", ["netns", "del", pod.netns]);
  }
});

afterAll(() => topo?.teardown());

describe.skipIf(missing(clientMissing && `libcni interop client ${clientMissing}`))("libcni 1.1.2 runtime interop", () => {
  it("validate: libcni asks every plugin of the chain for VERSION and accepts 1.0.0", () => {
    const list = writeConflist("validate.conflist", [ipvlanPlugin(), tuningPlugin(), { type: "bandwidth", capabilities: { bandwidth: true } }]);
    const r = client("validate", { netns: "", path: "", containerId: "" }, list);
    expect(ok(r)).toEqual({ cniVersion: "1.0.0", capabilities: ["bandwidth"] });
  });

  it("ADD, CHECK, DEL of ipvlan-attach + spiderpool-ipam -> tuning through libcni", () => {
    const list = writeConflist("ipvlan-tuning.conflist", [ipvlanPlugin(), tuningPlugin()]);
    const pod = newPod("a", list);

    const result = ok<Result>(client("add", pod, list));
    expectAttached(pod, result);
    expect(storeState(topo.dataDir(NODE)).attachments).toEqual([`${pod.containerId}/eth0`]);
    expect(filesIn(tuningDir).length).toBe(1); // tuning's backup of eth0's MTU
    // libcni cached the chain's result: that is the prevResult CHECK and DEL get.
    expect(existsSync(cacheFile(pod))).toBe(true);
    expect(ok(client("cached", pod, list))).toEqual(result);

    expect(ok(client("check", pod, list))).toBeUndefined();
    // Without libcni's cache there is no prevResult: our CHECK refuses, so the one above got it.
    const noCache = failed(client("check", pod, list, { cacheDir: join(topo.work, "empty-cache") }));
    expect(noCache.code).toBe(7);
    expect(noCache.msg).toMatch(/CHECK needs prevResult/);

    ok(client("del", pod, list));
    expectDetached(pod);
    // A runtime repeats DEL until it succeeds: the second one (no cached result now) succeeds too.
    ok(client("del", pod, list));
    expectDetached(pod);
  });

  it("bandwidth after ipvlan-attach: ADD passes through without rates, CHECK fails (no veth peer), DEL cleans up", () => {
    const list = writeConflist("ipvlan-tuning-bw.conflist", [ipvlanPlugin(), tuningPlugin(), { type: "bandwidth", capabilities: { bandwidth: true } }]);
    const pod = newPod("b", list);
    const result = ok<Result>(client("add", pod, list));
    expectAttached(pod, result);
    const check = failed(client("check", pod, list));
    expect(check.msg).toMatch(/container interface eth0 has no veth peer/);
    ok(client("del", pod, list));
    expectDetached(pod);
  });

  it("bandwidth with rates after ipvlan-attach: ADD fails (no veth peer) and creates nothing; the runtime's DEL frees the rest", () => {
    const list = writeConflist("ipvlan-tuning-bw.conflist", [ipvlanPlugin(), tuningPlugin(), { type: "bandwidth", capabilities: { bandwidth: true } }]);
    const pod = newPod("c", list, { bandwidth: RATES });
    const add = failed(client("add", pod, list, { capArgs: { bandwidth: RATES } }));
    expect(add.error).toMatch(/plugin type="bandwidth" failed \(add\): container interface eth0 has no veth peer/);
    // No shaping anywhere: no ifb on the node, no tbf on eth0 or the master.
    expect(linkNames(nodeNs).filter((n) => n.startsWith("bwp"))).toEqual([]);
    expect(qdiscs(nodeNs, "ens5").map((q) => q.kind)).not.toContain("tbf");
    expect(existsSync(cacheFile(pod))).toBe(false); // a failed ADD is not cached
    // ipvlan-attach and tuning did their part before bandwidth failed; the runtime's DEL undoes it.
    expect(linkNames(pod.netns)).toContain("eth0");
    expect(storeState(topo.dataDir(NODE)).claims.length).toBe(2);
    ok(client("del", pod, list, { capArgs: { bandwidth: RATES } }));
    expectDetached(pod);
  });

  it("control: bandwidth with rates shapes a veth (reference ptp + spiderpool-ipam) in this kernel, CHECK passes, DEL removes the ifb", () => {
    const dataDir = join(topo.work, "ptp-data");
    const poolDir = join(topo.work, "ptp-pools"); // empty: only the inline pool
    mkdirSync(poolDir, { mode: 0o700 });
    const list = writeConflist("ptp-bw.conflist", [
      {
        type: "ptp",
        ipam: {
          type: "spiderpool-ipam",
          poolDir,
          dataDir,
          ippools: [
            { apiVersion: "spiderpool.spidernet.io/v2beta1", kind: "SpiderIPPool", metadata: { name: "ptp-v4" }, spec: { subnet: "198.51.100.0/24", ips: ["198.51.100.10-198.51.100.20"], gateway: "198.51.100.1", default: true, nodeName: ["master"] } },
          ],
        },
      },
      { type: "bandwidth", capabilities: { bandwidth: true } },
    ], "ptp-bw");
    const pod = newPod("d", list, { bandwidth: RATES });
    const result = ok<Result>(client("add", pod, list, { capArgs: { bandwidth: RATES } }));
    const hostVeth = result.interfaces?.find((i) => !i.sandbox && !i.name.startsWith("bwp"))?.name;
    const ifb = result.interfaces?.find((i) => i.name.startsWith("bwp"))?.name;
    expect(hostVeth, JSON.stringify(result)).toBeDefined();
    expect(ifb, JSON.stringify(result)).toBeDefined();
    expect(qdiscs(nodeNs, hostVeth!).map((q) => q.kind)).toEqual(expect.arrayContaining(["tbf", "ingress"]));
    expect(qdiscs(nodeNs, ifb!).map((q) => q.kind)).toContain("tbf");
    expect(ok(client("check", pod, list, { capArgs: { bandwidth: RATES } }))).toBeUndefined();
    ok(client("del", pod, list, { capArgs: { bandwidth: RATES } }));
    expect(linkNames(nodeNs)).not.toContain(ifb);
    expect(linkNames(nodeNs)).not.toContain(hostVeth);
    expect(linkNames(pod.netns)).toEqual(["lo"]);
    expect(storeState(dataDir)).toEqual({ claims: [], attachments: [], problems: [] });
    expect(existsSync(cacheFile(pod, "ptp-bw"))).toBe(false);
  });

  it("gc and status: libcni 1.1.2 has neither (the client says so and exits 3)", () => {
    const list = writeConflist("ipvlan-tuning.conflist", [ipvlanPlugin(), tuningPlugin()]);
    const pod = { netns: "", path: "", containerId: "" };
    for (const cmd of ["gc", "status"]) {
      const r = client(cmd, pod, list);
      expect(r.code, describeRun(r)).toBe(3);
      expect(r.error?.error).toMatch(/libcni \(1\.1\.2, spec 1\.0\.0\) has no (GCNetworkList|GetStatusNetworkList)/);
    }
  });

  it("leaves nothing behind on the node: links, rules, libcni's cache", () => {
    expect(linkNames(nodeNs).sort()).toEqual(["ens5", "lo"]);
    expect(ip("-n", nodeNs, "rule", "show")).not.toMatch(/lookup 500/);
    expect(filesIn(cacheDir)).toEqual([]);
  });
});
