// ipvlan-attach's failure paths and IPv6 duplicate address detection, in a
// kernel with ipvlan, the plugins run as a runtime runs them (inside a "node"
// netns via `ip netns exec`, CNI_* in the environment, config on stdin). Each
// failure checks the CNI error code and that nothing is left behind: no link
// in the pod namespace (or the node's), no claim or attachment in
// spiderpool-ipam's store, and the store consistent. Needs a kernel with ipvlan:
//   bash scripts/vm/run.sh -- npx vitest run --config scripts/vm/vitest.vm.config.ts test/vm/ipvlan-failures.test.ts
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BIN_DIR,
  CNI_PATH,
  cniError,
  describeRun,
  hostLocalAllocations,
  Lab,
  ok,
  POOL_V6,
  spiderPool,
  LAB_NODE,
  storeState,
  type Json,
  type Pod,
} from "./helpers/lab";

const NETWORK = "lab-ipvlan";
const EMPTY_STORE = { claims: [], attachments: [], problems: [] };

describe("ipvlan-attach failures leave nothing behind", () => {
  let lab: Lab;
  let node: string;
  const NODE_LINKS = ["down0", "ens5", "ipvl0", "lo", "st0"];

  beforeAll(() => {
    lab = new Lab("ivfail");
    node = lab.node().netns;
    // down0: a master that is down; ipvl0: an ipvlan slave (not a usable parent); st0: toggled by STATUS.
    lab.ipBatch(node, ["link add down0 type dummy", "link add ipvl0 link ens5 type ipvlan mode l2", "link add st0 type dummy", "link set st0 up"]);
  });
  afterEach(() => lab?.removePods());
  afterAll(() => lab?.teardown());

  const conf = (extra: Json): Json => ({ cniVersion: "1.0.0", name: NETWORK, type: "ipvlan-attach", master: "ens5", ...extra });

  function expectNothingLeft(pod: Pod, dataDir: string, podLinks = ["lo"]): void {
    expect(lab.links(pod.netns).map((l) => l.ifname).sort()).toEqual(podLinks);
    expect(lab.links(node).map((l) => l.ifname).sort()).toEqual(NODE_LINKS);
    expect(storeState(dataDir)).toEqual(EMPTY_STORE);
  }

  it.each([
    ["missing", "nosuch0", 104, /master interface nosuch0 not found/],
    ["down", "down0", 105, /master interface down0 is down/],
    ["loopback", "lo", 106, /loopback/],
    ["an ipvlan slave", "ipvl0", 106, /ipvlan device/],
  ])("master %s (%s): code %i before anything is allocated", (_what, master, code, msg) => {
    const { ipam, dataDir } = lab.spiderIpam(`master-${master}`, undefined, { inline: false });
    const pod = lab.pod(`m${master}`);
    const e = cniError(lab.cni(node, pod, "ADD", conf({ master, ipam })));
    expect(e.code).toBe(code);
    expect(e.msg).toMatch(msg);
    expectNothingLeft(pod, dataDir);
  });

  it("unknown mode: code 7, nothing allocated", () => {
    const { ipam, dataDir } = lab.spiderIpam("mode", undefined, { inline: false });
    const pod = lab.pod("mode");
    const e = cniError(lab.cni(node, pod, "ADD", conf({ mode: "l4", ipam })));
    expect(e.code).toBe(7);
    expect(e.msg).toMatch(/unknown ipvlan mode: "l4"/);
    expectNothingLeft(pod, dataDir);
  });

  it("CNI_IFNAME already in the pod namespace: code 107, the existing link untouched, nothing allocated", () => {
    const { ipam, dataDir } = lab.spiderIpam("exists", undefined, { inline: false });
    const pod = lab.pod("exists");
    lab.ip("-n", pod.netns, "link", "add", "eth0", "type", "dummy");
    const e = cniError(lab.cni(node, pod, "ADD", conf({ ipam })));
    expect(e.code).toBe(107);
    expect(e.msg).toMatch(/eth0 already exists/);
    expect(lab.link(pod.netns, "eth0")?.linkinfo?.info_kind).toBe("dummy");
    expectNothingLeft(pod, dataDir, ["eth0", "lo"]);
  });

  it("a network namespace path that does not exist: code 3, nothing allocated", () => {
    const { ipam, dataDir } = lab.spiderIpam("nons", undefined, { inline: false });
    const ghost: Pod = { netns: "", path: `/var/run/netns/${lab.tag}-ghost-${lab.id}`, containerId: `ghost-${lab.id}`, ifname: "eth0" };
    const e = cniError(lab.cni(node, ghost, "ADD", conf({ ipam })));
    expect(e.code).toBe(3);
    expect(e.msg).toContain(ghost.path);
    expect(lab.links(node).map((l) => l.ifname).sort()).toEqual(NODE_LINKS);
    expect(storeState(dataDir)).toEqual(EMPTY_STORE);
  });

  it("mtu larger than the master's: code 7 before anything is allocated (the kernel itself would accept it)", () => {
    const { ipam, dataDir } = lab.spiderIpam("mtu", undefined, { inline: false });
    const pod = lab.pod("mtu");
    const r = lab.cni(node, pod, "ADD", conf({ mtu: 9000, ipam }));
    const e = cniError(r);
    expect(e.code, describeRun(r)).toBe(7);
    expect(e.msg).toMatch(/mtu 9000 is larger than the mtu 1500 of master ens5/);
    expectNothingLeft(pod, dataDir);
  });

  it("a route the kernel refuses after IPAM ADD (gateway = the subnet's broadcast): code 108, link removed, addresses released", () => {
    // Valid for the pool (the gateway is inside the subnet), refused by the kernel: "Nexthop has invalid gateway".
    const v4 = spiderPool("lab-v4", { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.60"], gateway: "192.0.2.1", routes: [{ dst: "198.51.100.0/24", gw: "192.0.2.255" }] });
    const { ipam, dataDir } = lab.spiderIpam("badroute", [v4, POOL_V6], { inline: false });
    const pod = lab.pod("badroute");
    const r = lab.cni(node, pod, "ADD", conf({ ipam }));
    const e = cniError(r);
    expect(e.code, describeRun(r)).toBe(108);
    expect(e.msg).toMatch(/198\.51\.100\.0\/24|gateway/i);
    expectNothingLeft(pod, dataDir);
  });

  it("the same with the reference host-local (a gateway off the link): code 108, host-local's allocation released", () => {
    const dataDir = lab.dir("hl-badroute");
    const ipam = { type: "host-local", ranges: [[{ subnet: "198.51.100.0/24" }]], routes: [{ dst: "10.99.0.0/16", gw: "203.0.113.1" }], dataDir };
    const pod = lab.pod("hlbad");
    const r = lab.cni(node, pod, "ADD", conf({ ipam }));
    expect(cniError(r).code, describeRun(r)).toBe(108);
    expect(lab.links(pod.netns).map((l) => l.ifname)).toEqual(["lo"]);
    expect(hostLocalAllocations(dataDir, NETWORK)).toEqual([]);
  });

  it("an address another slave of the same master already holds (two stores handing out the same IP): code 108, rolled back", () => {
    const first = lab.spiderIpam("holder", undefined, { inline: false });
    const second = lab.spiderIpam("clash", undefined, { inline: false });
    const holder = lab.pod("holder");
    const pod = lab.pod("clash");
    const r = ok(lab.cni(node, holder, "ADD", conf({ ipam: first.ipam })));
    const clash = lab.cni(node, pod, "ADD", conf({ ipam: second.ipam }));
    const e = cniError(clash);
    expect(e.code, describeRun(clash)).toBe(108);
    expect(e.msg).toMatch(/192\.0\.2\.10.*already assigned to an ipvlan device/);
    // Nothing of the clash is left (the holder's side-channel veth is the only extra node link).
    expect(lab.links(pod.netns).map((l) => l.ifname).sort()).toEqual(["lo"]);
    expect(storeState(second.dataDir)).toEqual(EMPTY_STORE);
    expect(lab.links(node).filter((l) => l.ifname.startsWith("spd"))).toHaveLength(1);
    // The holder is untouched.
    expect(lab.addresses(holder.netns, "eth0").map((a) => a.local)).toContain("192.0.2.10");
    ok(lab.cni(node, holder, "DEL", conf({ ipam: first.ipam, prevResult: r })));
    expect(storeState(first.dataDir)).toEqual(EMPTY_STORE);
    expect(lab.links(node).map((l) => l.ifname).sort()).toEqual(NODE_LINKS);
  });

  it("DEL when the namespace is already gone: success, the addresses released", () => {
    const { ipam, dataDir } = lab.spiderIpam("gone", undefined, { inline: false });
    const pod = lab.pod("gone");
    const r = ok(lab.cni(node, pod, "ADD", conf({ ipam })));
    expect(storeState(dataDir).claims).toHaveLength(2);
    lab.deleteNetns(pod.netns);
    ok(lab.cni(node, pod, "DEL", conf({ ipam, prevResult: r })));
    expect(storeState(dataDir)).toEqual(EMPTY_STORE);
    expect(lab.links(node).map((l) => l.ifname).sort()).toEqual(NODE_LINKS);
  });

  it("DEL twice: both succeed", () => {
    const { ipam, dataDir } = lab.spiderIpam("twice", undefined, { inline: false });
    const pod = lab.pod("twice");
    const r = ok(lab.cni(node, pod, "ADD", conf({ ipam })));
    ok(lab.cni(node, pod, "DEL", conf({ ipam, prevResult: r })));
    const again = lab.cni(node, pod, "DEL", conf({ ipam, prevResult: r }));
    expect(again.code, describeRun(again)).toBe(0);
    expect(again.stdout).toBe("");
    expectNothingLeft(pod, dataDir);
  });

  it("STATUS (1.1.0): ready while the master is up; code 50 when it is down or missing; code 1 below 1.1.0", () => {
    const { ipam } = lab.spiderIpam("status", undefined, { inline: false });
    const status = (c: Json) => lab.run(node, join(BIN_DIR, "ipvlan-attach"), { CNI_COMMAND: "STATUS", CNI_PATH, NODE_NAME: LAB_NODE }, JSON.stringify(c));
    const c = conf({ cniVersion: "1.1.0", master: "st0", ipam });
    const up = status(c);
    expect(up.code, describeRun(up)).toBe(0);
    expect(up.stdout).toBe("");

    lab.ip("-n", node, "link", "set", "st0", "down");
    try {
      const down = cniError(status(c));
      expect(down.code).toBe(50);
      expect(down.msg).toMatch(/st0 is down/);
    } finally {
      lab.ip("-n", node, "link", "set", "st0", "up");
    }
    expect(cniError(status({ ...c, master: "nosuch0" })).code).toBe(50);
    expect(cniError(status({ ...c, cniVersion: "1.0.0" })).code).toBe(1);
  });

  it("GC (1.1.0) forwards to IPAM: releases what is not in cni.dev/valid-attachments, keeps the rest", () => {
    const { ipam, dataDir } = lab.spiderIpam("gc", undefined, { inline: false });
    const keep = lab.pod("gckeep");
    const stale = lab.pod("gcstale");
    const c = conf({ cniVersion: "1.1.0", ipam });
    const rk = ok(lab.cni(node, keep, "ADD", c));
    const rs = ok(lab.cni(node, stale, "ADD", c));
    expect(storeState(dataDir).attachments).toEqual([`${keep.containerId}/eth0`, `${stale.containerId}/eth0`].sort());

    const gc = lab.run(
      node,
      join(BIN_DIR, "ipvlan-attach"),
      { CNI_COMMAND: "GC", CNI_PATH },
      JSON.stringify({ ...c, "cni.dev/valid-attachments": [{ containerID: keep.containerId, ifname: "eth0" }] }),
    );
    expect(gc.code, describeRun(gc)).toBe(0);
    expect(gc.stdout).toBe("");
    const after = storeState(dataDir);
    expect(after.attachments).toEqual([`${keep.containerId}/eth0`]);
    expect(after.claims).toEqual(["192.0.2.10", "2001:db8:1::10"]);
    expect(after.problems).toEqual([]);

    // The runtime then DELs both (the stale one's addresses are already free): both succeed.
    ok(lab.cni(node, stale, "DEL", { ...c, prevResult: rs }));
    ok(lab.cni(node, keep, "DEL", { ...c, prevResult: rk }));
    expectNothingLeft(keep, dataDir);
    expect(lab.links(stale.netns).map((l) => l.ifname)).toEqual(["lo"]);
  });
});

describe("IPv6 duplicate address detection", () => {
  let lab: Lab;
  let node: string;
  /** Another host on the master's L2 (the veth peer of ens5), holding 2001:db8:1::50. */
  let peer: string;
  const DUP = "2001:db8:1::50";

  beforeAll(() => {
    lab = new Lab("ivdad");
    const n = lab.node("node", { veth: true });
    node = n.netns;
    peer = n.peer!;
    lab.ip("-n", peer, "addr", "add", `${DUP}/64`, "dev", "eth0", "nodad");
    // Load the executables into the page cache so ADD timings below measure the plugin.
    for (const p of ["ipvlan-attach", "spiderpool-ipam"]) lab.run(node, join(BIN_DIR, p), {}, "");
  });
  afterEach(() => lab?.removePods());
  afterAll(() => lab?.teardown());

  const conf = (extra: Json): Json => ({ cniVersion: "1.0.0", name: NETWORK, type: "ipvlan-attach", master: "ens5", ...extra });
  const globalV6 = (pod: Pod) => lab.addresses(pod.netns, "eth0").filter((a) => a.family === "inet6" && a.scope === "global");

  it("disabled (the default): ADD does not wait for DAD and the address is usable at once", () => {
    const { ipam, dataDir } = lab.spiderIpam("nodad");
    const pod = lab.pod("nodad");
    // DAD in this pod would take 20 s (20 probes, 1 s apart): the address is
    // added without DAD (nodad) and usable at once, so there is nothing to wait for.
    lab.ip("netns", "exec", pod.netns, "sysctl", "-qw", "net.ipv6.conf.default.dad_transmits=20");
    const add = lab.cni(node, pod, "ADD", conf({ ipam }));
    const r = ok(add);
    const v6 = globalV6(pod);
    expect(v6).toHaveLength(1);
    expect(v6[0]).toMatchObject({ local: "2001:db8:1::10", prefixlen: 64, nodad: true });
    expect(v6[0]!.tentative).toBeUndefined();
    ok(lab.cni(node, pod, "DEL", conf({ ipam, prevResult: r })));
    expect(storeState(dataDir)).toEqual(EMPTY_STORE);
  });

  it("enabled: ADD waits (bounded) for DAD and returns with a non-tentative address", () => {
    const { ipam, dataDir } = lab.spiderIpam("dad");
    const pod = lab.pod("dad");
    const r = ok(lab.cni(node, pod, "ADD", conf({ ipam, ipv6DAD: { enabled: true, timeoutMs: 3000 } })));
    const v6 = globalV6(pod);
    expect(v6).toHaveLength(1);
    expect(v6[0]!.local).toBe("2001:db8:1::10");
    expect(v6[0]!.nodad).toBeUndefined(); // DAD did run
    expect(v6[0]!.tentative).toBeUndefined();
    expect(v6[0]!.dadfailed).toBeUndefined();
    ok(lab.cni(node, pod, "DEL", conf({ ipam, prevResult: r })));
    expect(storeState(dataDir)).toEqual(EMPTY_STORE);
  });

  it("enabled, the address already used by another host on the L2: code 103, link removed, both addresses released", () => {
    const { ipam, dataDir } = lab.spiderIpam("dup");
    const pod = lab.pod("dup");
    const r = lab.cni(node, pod, "ADD", conf({ ipam, ipv6DAD: { enabled: true, timeoutMs: 3000 } }), {
      env: { CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=dup;IP=192.0.2.50,${DUP}` },
    });
    const e = cniError(r);
    expect(e.code, describeRun(r)).toBe(103);
    // Detected (a neighbour answered), not merely timed out.
    expect(e.msg).toMatch(new RegExp(`${DUP}.*already used by another host`));
    expect(lab.links(pod.netns).map((l) => l.ifname)).toEqual(["lo"]);
    expect(storeState(dataDir)).toEqual(EMPTY_STORE);
    // The other host keeps its address.
    expect(lab.addresses(peer, "eth0").map((a) => a.local)).toContain(DUP);
  });
});
