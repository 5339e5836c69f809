// Ports of the Go reference ipvlan plugin's tests (plugins/main/ipvlan, each
// with linkInContainer false and true), run against our ipvlan-attach
// executable the way a runtime runs it (inside a "node" netns via
// `ip netns exec`, CNI_* in the environment, config on stdin), plus the Go
// reference `tuning` plugin chained after ours. Needs a kernel with ipvlan:
//   bash scripts/vm/run.sh -- npx vitest run --config scripts/vm/vitest.vm.config.ts test/vm/ipvlan-reference.test.ts
//
// Reference scenario                                       here
//   creates an ipvlan link in a non-default namespace       "creates the ipvlan link in the pod namespace, not the node's"
//   configures and deconfigures with ADD/DEL (+CHECK)       "ADD/CHECK/DEL with spiderpool-ipam, result <v>" and "... with host-local"
//   ... with ADD/DEL when chained                           "ADD/CHECK/DEL when chained"
//   deconfigures an unconfigured link with DEL              "DEL of an unconfigured link succeeds"
//   ... with ADD/DEL without master config                  "ADD/CHECK/DEL without master in the config"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ALL_VERSIONS,
  cniError,
  hostLocalAllocations,
  Lab,
  ok,
  POOL_V4,
  storeState,
  type IpLink,
  type Json,
  type Pod,
} from "./helpers/lab";

interface Result {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { version?: string; address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
}

const NETWORK = "lab-ipvlan";

describe.each([false, true])("reference ipvlan scenarios, linkInContainer %s", (lic) => {
  let lab: Lab;
  /** The namespace the plugins run in; with linkInContainer false it also holds the master. */
  let node: string;

  beforeAll(() => {
    lab = new Lab(lic ? "ivrefc" : "ivrefh");
    node = lab.node().netns;
  });
  afterEach(() => lab?.removePods());
  afterAll(() => lab?.teardown());

  /** Where the master `ens5` lives for this pod. */
  const masterNs = (pod: Pod) => (lic ? pod.netns : node);
  const newPod = (role: string, opts: { defaultRoute?: boolean } = {}) => lab.pod(role, { master: lic, ...opts });
  const conf = (extra: Json): Json => ({ cniVersion: "1.0.0", name: NETWORK, type: "ipvlan-attach", master: "ens5", linkInContainer: lic, ...extra });

  /** The pod's ifname is an ipvlan slave of its master, with the master's MAC. */
  function expectSlave(pod: Pod, want: { mode?: string; mtu?: number } = {}): IpLink {
    const master = lab.link(masterNs(pod), "ens5")!;
    const link = lab.link(pod.netns, pod.ifname);
    expect(link, `${pod.ifname} in ${pod.netns}`).toBeDefined();
    expect(link!.linkinfo?.info_kind).toBe("ipvlan");
    expect(link!.linkinfo?.info_data?.mode).toBe(want.mode ?? "l2");
    if (link!.link !== undefined) expect(link!.link).toBe("ens5");
    else expect(link!.link_index).toBe(master.ifindex);
    if (lic) expect(link!.link_netnsid).toBeUndefined(); // parent in the same namespace
    else expect(link!.link_netnsid).toBeDefined(); // parent in another namespace (the node's)
    expect(link!.address).toBe(master.address);
    expect(link!.mtu).toBe(want.mtu ?? master.mtu);
    expect(link!.flags).toContain("UP");
    return link!;
  }

  /** Only what the scaffolding made is left in the pod (and the node): no slave, no temporary link. */
  function expectPodClean(pod: Pod): void {
    expect(lab.links(pod.netns).map((l) => l.ifname).sort()).toEqual(lic ? ["ens5", "lo"] : ["lo"]);
    expect(lab.links(node).map((l) => l.ifname).sort()).toEqual(["ens5", "lo"]);
  }

  function expectAddresses(pod: Pod, cidrs: string[]): void {
    const present = lab.addresses(pod.netns, pod.ifname).map((a) => `${a.local}/${a.prefixlen}`);
    for (const c of cidrs) expect(present).toContain(c);
  }

  it("creates the ipvlan link in the pod namespace, not the node's (mode l3, mtu 1400)", () => {
    const { ipam, dataDir } = lab.spiderIpam("create", [POOL_V4]);
    const pod = newPod("create");
    const c = conf({ mode: "l3", mtu: 1400, ipam });
    const r = ok<Result>(lab.cni(node, pod, "ADD", c));
    expectSlave(pod, { mode: "l3", mtu: 1400 });
    expect(r.interfaces).toEqual([{ name: "eth0", mac: lab.link(masterNs(pod), "ens5")!.address, sandbox: pod.path }]);
    // Created straight into the pod under a temporary name and renamed there: besides it, only
    // the coordinator's veth pair (on by default) exists, veth0 in the pod and one spd* end on the node.
    expect(lab.links(pod.netns).map((l) => l.ifname).sort()).toEqual(lic ? ["ens5", "eth0", "lo", "veth0"] : ["eth0", "lo", "veth0"]);
    const nodeLinks = lab.links(node).map((l) => l.ifname);
    expect(nodeLinks.filter((n) => !n.startsWith("spd")).sort()).toEqual(["ens5", "lo"]);
    expect(nodeLinks.filter((n) => n.startsWith("spd"))).toHaveLength(1);
    expectAddresses(pod, ["192.0.2.10/24"]);

    ok(lab.cni(node, pod, "DEL", c));
    expectPodClean(pod);
    expect(storeState(dataDir)).toEqual({ claims: [], attachments: [], problems: [] });
  });

  it.each(ALL_VERSIONS)("ADD/CHECK/DEL with spiderpool-ipam, result %s", (version) => {
    // Inline pools for some versions, a pool file for the others.
    const { ipam, dataDir } = lab.spiderIpam(`v${version}`, undefined, { inline: version !== "0.4.0" && version !== "1.1.0" });
    const pod = newPod(`v${version.replace(/\./g, "")}`);
    const c = conf({ cniVersion: version, ipam });
    const add = lab.cni(node, pod, "ADD", c);
    const r = ok<Result>(add);
    const master = lab.link(masterNs(pod), "ens5")!;

    // The result in the requested version's shape.
    const old = version === "0.3.1" || version === "0.4.0";
    expect(r.cniVersion).toBe(version);
    expect(r.interfaces).toEqual([{ name: "eth0", mac: master.address, sandbox: pod.path }]);
    expect(r.ips).toEqual([
      { ...(old ? { version: "4" } : {}), address: "192.0.2.10/24", gateway: "192.0.2.1", interface: 0 },
      { ...(old ? { version: "6" } : {}), address: "2001:db8:1::10/64", gateway: "2001:db8:1::1", interface: 0 },
    ]);
    expect(r.routes).toEqual(
      expect.arrayContaining([
        { dst: "0.0.0.0/0", gw: "192.0.2.1" },
        { dst: "::/0", gw: "2001:db8:1::1" },
      ]),
    );

    // The kernel agrees.
    expectSlave(pod);
    expectAddresses(pod, ["192.0.2.10/24", "2001:db8:1::10/64"]);
    expect(lab.routes(pod.netns, 4)).toContainEqual(expect.objectContaining({ dst: "default", gateway: "192.0.2.1", dev: "eth0" }));
    expect(lab.routes(pod.netns, 6)).toContainEqual(expect.objectContaining({ dst: "default", gateway: "2001:db8:1::1", dev: "eth0" }));
    expect(storeState(dataDir)).toEqual({ claims: ["192.0.2.10", "2001:db8:1::10"], attachments: [`${pod.containerId}/eth0`], problems: [] });

    // CHECK exists from 0.4.0; below it the spec's answer is code 1.
    const check = lab.cni(node, pod, "CHECK", { ...c, prevResult: r });
    if (version === "0.3.1") expect(cniError(check).code).toBe(1);
    else ok(check);

    ok(lab.cni(node, pod, "DEL", { ...c, prevResult: r }));
    expectPodClean(pod);
    expect(storeState(dataDir)).toEqual({ claims: [], attachments: [], problems: [] });
  });

  it("ADD/CHECK/DEL with the reference host-local IPAM (a route without gw uses the gateway)", () => {
    const dataDir = lab.dir("host-local");
    const ipam = { type: "host-local", ranges: [[{ subnet: "198.51.100.0/24", gateway: "198.51.100.1" }]], routes: [{ dst: "203.0.113.0/24" }], dataDir };
    const pod = newPod("hostlocal");
    const c = conf({ ipam });
    const r = ok<Result>(lab.cni(node, pod, "ADD", c));
    expect(r.ips).toEqual([{ address: "198.51.100.2/24", gateway: "198.51.100.1", interface: 0 }]);
    expect(r.routes).toEqual([{ dst: "203.0.113.0/24" }]);
    expectSlave(pod);
    expectAddresses(pod, ["198.51.100.2/24"]);
    expect(lab.routes(pod.netns, 4)).toContainEqual(expect.objectContaining({ dst: "203.0.113.0/24", gateway: "198.51.100.1", dev: "eth0" }));
    expect(hostLocalAllocations(dataDir, NETWORK)).toEqual(["198.51.100.2"]);

    ok(lab.cni(node, pod, "CHECK", { ...c, prevResult: r }));
    ok(lab.cni(node, pod, "DEL", { ...c, prevResult: r }));
    expectPodClean(pod);
    expect(hostLocalAllocations(dataDir, NETWORK)).toEqual([]);
  });

  it("ADD/CHECK/DEL when chained (addresses from prevResult, no ipam)", () => {
    const { ipam, dataDir } = lab.spiderIpam("chained");
    const pod = newPod("chained");
    // An earlier plugin of the chain got the addresses: here spiderpool-ipam itself.
    const prev = ok<Result>(lab.cni(node, pod, "ADD", conf({ ipam }), { plugin: "spiderpool-ipam" }));
    expect(prev.ips?.map((i) => i.address)).toEqual(["192.0.2.10/24", "2001:db8:1::10/64"]);

    const c = conf({ prevResult: prev });
    const r = ok<Result>(lab.cni(node, pod, "ADD", c));
    expect(r.interfaces).toEqual([{ name: "eth0", mac: lab.link(masterNs(pod), "ens5")!.address, sandbox: pod.path }]);
    expect(r.ips).toEqual(prev.ips!.map((i) => ({ ...i, interface: 0 })));
    expectSlave(pod);
    expectAddresses(pod, ["192.0.2.10/24", "2001:db8:1::10/64"]);
    expect(lab.routes(pod.netns, 4)).toContainEqual(expect.objectContaining({ dst: "default", gateway: "192.0.2.1", dev: "eth0" }));

    ok(lab.cni(node, pod, "CHECK", conf({ prevResult: r })));
    ok(lab.cni(node, pod, "DEL", conf({ prevResult: r })));
    expectPodClean(pod);
    // The addresses belong to the earlier plugin: still held until its own DEL.
    expect(storeState(dataDir).claims).toEqual(["192.0.2.10", "2001:db8:1::10"]);
    ok(lab.cni(node, pod, "DEL", conf({ ipam }), { plugin: "spiderpool-ipam" }));
    expect(storeState(dataDir)).toEqual({ claims: [], attachments: [], problems: [] });
  });

  it("DEL of an unconfigured link succeeds", () => {
    const { ipam, dataDir } = lab.spiderIpam("unconfigured");
    const pod = newPod("unconf");
    const r = lab.cni(node, pod, "DEL", conf({ ipam }));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toBe("");
    expectPodClean(pod);
    expect(storeState(dataDir)).toEqual({ claims: [], attachments: [], problems: [] });
  });

  it("ADD/CHECK/DEL without master in the config (the default route's interface)", () => {
    const { ipam, dataDir } = lab.spiderIpam("nomaster");
    // linkInContainer: the pod's own default route names the master.
    const pod = newPod("nomaster", { defaultRoute: true });
    const c = conf({ ipam });
    delete c.master;
    const r = ok<Result>(lab.cni(node, pod, "ADD", c));
    expectSlave(pod);
    expectAddresses(pod, ["192.0.2.10/24", "2001:db8:1::10/64"]);

    const check = lab.cni(node, pod, "CHECK", { ...c, prevResult: r });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    ok(lab.cni(node, pod, "DEL", { ...c, prevResult: r }));
    expectPodClean(pod);
    expect(storeState(dataDir)).toEqual({ claims: [], attachments: [], problems: [] });
  });
});

describe("the reference tuning plugin chained after ipvlan-attach", () => {
  let lab: Lab;
  let node: string;

  beforeAll(() => {
    lab = new Lab("ivtune");
    node = lab.node().netns;
  });
  afterEach(() => lab?.removePods());
  afterAll(() => lab?.teardown());

  it("ADD ipvlan-attach, ADD tuning (sysctl, promisc, mtu), CHECK both, DEL in reverse order", () => {
    const { ipam, dataDir } = lab.spiderIpam("tuning");
    const tuningDir = lab.dir("tuning-data");
    const pod = lab.pod("tuned");
    // Debian's reference plugins speak up to 1.0.0.
    const ours: Json = { cniVersion: "1.0.0", name: NETWORK, type: "ipvlan-attach", master: "ens5", ipam };
    const tuning: Json = {
      cniVersion: "1.0.0",
      name: NETWORK,
      type: "tuning",
      sysctl: { "net.ipv4.conf.eth0.arp_ignore": "1" },
      promisc: true,
      mtu: 1400,
      dataDir: tuningDir,
    };

    const r1 = ok<Result>(lab.cni(node, pod, "ADD", ours));
    const r2 = ok<Result>(lab.cni(node, pod, "ADD", { ...tuning, prevResult: r1 }, { plugin: "tuning" }));
    // tuning passes our result on.
    expect(r2.interfaces).toEqual(r1.interfaces);
    expect(r2.ips).toEqual(r1.ips);

    const link = lab.link(pod.netns, "eth0")!;
    expect(link.linkinfo?.info_kind).toBe("ipvlan");
    expect(link.mtu).toBe(1400);
    expect(link.flags).toContain("PROMISC");
    expect(lab.ip("netns", "exec", pod.netns, "sysctl", "-n", "net.ipv4.conf.eth0.arp_ignore").trim()).toBe("1");

    ok(lab.cni(node, pod, "CHECK", { ...ours, prevResult: r2 }));
    ok(lab.cni(node, pod, "CHECK", { ...tuning, prevResult: r2 }, { plugin: "tuning" }));

    // DEL in reverse chain order: tuning restores what it changed, then we remove the link.
    ok(lab.cni(node, pod, "DEL", { ...tuning, prevResult: r2 }, { plugin: "tuning" }));
    const restored = lab.link(pod.netns, "eth0")!;
    expect(restored.mtu).toBe(1500);
    expect(restored.flags).not.toContain("PROMISC");
    ok(lab.cni(node, pod, "DEL", { ...ours, prevResult: r2 }));
    expect(lab.links(pod.netns).map((l) => l.ifname)).toEqual(["lo"]);
    expect(storeState(dataDir)).toEqual({ claims: [], attachments: [], problems: [] });
  });
});
