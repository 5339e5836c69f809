// lib/net against the real kernel, in namespaces made for the test: a "node"
// netns holding the master (a veth end: this host has no dummy driver) and a
// "pod" netns. This host's kernel lacks ipvlan, so the plugin's ADD sequence
// runs with macvlan through the same code path; ipvlan is checked to fail the
// way callers detect ("kernel lacks ipvlan"), or to work where the kernel has it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ip, ipJson, probe, Scratch, kernelSupports } from "../fixtures/net/scaffold";

const scratch = new Scratch();
let node: string;
let pod: string;
let hasIpvlan: boolean;
let hasVlan: boolean;

beforeAll(() => {
  hasIpvlan = kernelSupports("ipvlan", scratch);
  hasVlan = kernelSupports("vlan", scratch);
  node = scratch.netns("node");
  pod = scratch.netns("pod");
  ip("-n", node, "link", "add", "m0", "type", "veth", "peer", "name", "m0p");
  ip("-n", node, "link", "set", "m0", "up");
  ip("-n", node, "link", "set", "m0p", "up");
});

afterAll(() => scratch.cleanup());

describe.each(["macvlan", "ipvlan"])("ADD sequence with %s", (kind) => {
  it("creates the link in the pod, renames it, configures sysctls, addresses and default routes", (ctx) => {
    // A platform difference, not a missing tool: a kernel without ipvlan (this
    // host's) skips it here; the guest run (test/vm, a kernel with ipvlan)
    // creates ipvlan links through the same calls, and the ipvlan case below
    // checks how a kernel without it refuses.
    if (kind === "ipvlan" && !hasIpvlan) ctx.skip();
    // Each kind gets its own master: a device cannot carry macvlan and ipvlan ports at once.
    const master = `m${kind.slice(0, 3)}`;
    ip("-n", node, "link", "add", master, "type", "veth", "peer", "name", `${master}p`);
    ip("-n", node, "link", "set", master, "up");
    ip("-n", node, "link", "set", `${master}p`, "up");
    const nodeLinksBefore = ipJson("-n", node, "link").map((l: any) => l.ifname);
    const ns = scratch.netns(`p${kind.slice(0, 3)}`);
    const out = probe("attach", node, master, ns, kind, "eth0", "10.6.0.21/24", "10.6.0.1", "fd00:6::21/64", "fd00:6::1");

    const [link] = ipJson("-n", ns, "-d", "link", "show", "eth0");
    expect(link.linkinfo.info_kind).toBe(kind);
    expect(link.link_netnsid).toBe(0); // the parent lives in another netns
    expect(link.flags).toContain("UP");
    expect(out.link).toMatchObject({ index: link.ifindex, name: "eth0", up: true, mac: link.address, mtu: link.mtu, kind, linkNetnsId: 0 });
    expect(out.link.linkIndex).toBe(out.master.index);
    if (kind === "ipvlan") expect(out.link.ipvlanMode).toBe("l2");
    else expect(out.link.macvlanMode).toBe("bridge");

    // The temporary name is gone; only lo and eth0 in the pod.
    expect(ipJson("-n", ns, "link").map((l: any) => l.ifname).sort()).toEqual(["eth0", "lo"]);
    expect(out.links.map((l: any) => [l.index, l.name])).toEqual(ipJson("-n", ns, "link").map((l: any) => [l.ifindex, l.ifname]));

    const [addrs] = ipJson("-n", ns, "addr", "show", "eth0");
    const v4 = addrs.addr_info.find((a: any) => a.family === "inet");
    const v6 = addrs.addr_info.find((a: any) => a.family === "inet6" && a.scope === "global");
    expect(v4).toMatchObject({ local: "10.6.0.21", prefixlen: 24, broadcast: "10.6.0.255" });
    expect(v6).toMatchObject({ local: "fd00:6::21", prefixlen: 64, nodad: true });
    expect(v6.tentative).toBeUndefined(); // NODAD: usable at once
    const ours6 = out.addresses.find((a: any) => a.ip === "fd00:6::21");
    expect(ours6).toMatchObject({ family: 6, prefix: 64, tentative: false, dadFailed: false });
    expect(ours6.flags & 0x02).toBe(0x02);
    // The scope filter (read from the message header) keeps only global addresses, of every link:
    // not eth0's link-local fe80::/64 (scope link) nor lo's (scope host).
    expect(out.addresses.some((a: any) => a.scope === 253)).toBe(true);
    expect(out.globalAddresses.map((a: any) => a.ip).sort()).toEqual(["10.6.0.21", "fd00:6::21"]);

    expect(ipJson("-n", ns, "route", "show", "default")).toEqual([expect.objectContaining({ dst: "default", gateway: "10.6.0.1", dev: "eth0" })]);
    expect(ipJson("-n", ns, "-6", "route", "show", "default")).toEqual([expect.objectContaining({ dst: "default", gateway: "fd00:6::1", dev: "eth0" })]);
    expect(out.routes4).toContainEqual(expect.objectContaining({ dst: "0.0.0.0/0", gw: "10.6.0.1", oif: link.ifindex, table: 254 }));
    expect(out.routes6).toContainEqual(expect.objectContaining({ dst: "::/0", gw: "fd00:6::1", oif: link.ifindex }));

    // sysctls written inside withNetns landed in the pod's netns
    expect(out.sysctls).toEqual({ arp_notify: "1", disable_ipv6: "0" });
    expect(ip("netns", "exec", ns, "cat", "/proc/sys/net/ipv4/conf/eth0/arp_notify").trim()).toBe("1");
    expect(ip("netns", "exec", ns, "cat", "/proc/sys/net/ipv6/conf/eth0/ndisc_notify").trim()).toBe("1");

    // Before link up a gateway route fails with the kernel's explanation.
    expect(out.routeBeforeUp.error).toMatchObject({ cniCode: 108, errnoName: "ENETUNREACH", kernelMessage: "Nexthop has invalid gateway" });
    // A second ADD for the same interface fails at the rename, and leaves nothing behind.
    expect(out.secondCreate.error).toMatchObject({ errnoName: "EEXIST" });
    expect(ipJson("-n", ns, "link")).toHaveLength(2);

    // The node netns holds no new links.
    expect(ipJson("-n", node, "link").map((l: any) => l.ifname)).toEqual(nodeLinksBefore);
  });
});

describe("kernel refusals", () => {
  let out: any;
  beforeAll(() => {
    out = probe("errors", node, "m0", pod);
  });

  it("reports ipvlan creation failing on a kernel without ipvlan with the kernel's own message", () => {
    if (hasIpvlan) {
      expect(out.ipvlan.ok).toBe(true);
      return;
    }
    expect(out.ipvlan.error).toMatchObject({
      name: "NetlinkError",
      cniCode: 108,
      errno: 95,
      errnoName: "EOPNOTSUPP",
      kernelMessage: "Unknown device type",
    });
    expect(out.ipvlan.error.message).toMatch(/^create ipvlan link "ipv-probe" on parent index \d+: Unknown device type \(EOPNOTSUPP\)$/);
    expect(out.ipvlanUnsupported).toBe(true); // isUnsupportedLinkKind() lets a caller say "kernel lacks ipvlan"
  });

  it("names ENODEV for a missing parent and returns undefined for a missing link", () => {
    expect(out.missingParent.error).toMatchObject({ errnoName: "ENODEV", cniCode: 108 });
    expect(out.missingLink).toBeNull();
  });

  it("refuses duplicates (EEXIST), IPv6 on a link with disable_ipv6=1 (EACCES), gateways before up (ENETUNREACH)", () => {
    expect(out.duplicate.error.errnoName).toBe("EEXIST");
    expect(out.duplicateAddress.error).toMatchObject({ errnoName: "EEXIST" }); // 6.18 adds "ipv4: Address already assigned", 6.1 no text
    expect(out.v6WhileDisabled.error).toMatchObject({ errnoName: "EACCES" });
    // 6.18 explains ("ipv6: IPv6 is disabled on this device"); 6.1 gives no text here.
    if (out.v6WhileDisabled.error.kernelMessage) expect(out.v6WhileDisabled.error.kernelMessage).toMatch(/IPv6 is disabled/);
    expect(out.gwBeforeUp.error).toMatchObject({ errnoName: "ENETUNREACH", kernelMessage: "Nexthop has invalid gateway" });
  });

  it("renames (6.1 answers EBUSY while up; newer kernels allow it), deletes idempotently", () => {
    if (!out.renameWhileUp.ok) expect(out.renameWhileUp.error.errnoName).toBe("EBUSY");
    expect(out.deleted).toBe(true);
    expect(out.deletedAgain).toBe(false);
    expect(out.deleteStrict.error).toMatchObject({ errnoName: "ENODEV" });
    expect(ipJson("-n", pod, "link").map((l: any) => l.ifname)).toEqual(["lo"]);
  });
});

describe("other link kinds", () => {
  it("creates a veth pair across two namespaces", () => {
    const a = scratch.netns("va");
    const b = scratch.netns("vb");
    const out = probe("veth", a, b, "va0", "vb0");
    const [left] = ipJson("-n", a, "-d", "link", "show", "va0");
    const [right] = ipJson("-n", b, "-d", "link", "show", "vb0");
    expect(left.linkinfo.info_kind).toBe("veth");
    expect([left.mtu, right.mtu]).toEqual([1450, 1450]);
    expect(out.a).toMatchObject({ index: left.ifindex, kind: "veth", linkIndex: right.ifindex, mac: left.address });
    expect(out.b).toMatchObject({ index: right.ifindex, kind: "veth", linkIndex: left.ifindex, mac: right.address });
    expect(ipJson("-n", b, "link").map((l: any) => l.ifname).sort()).toEqual(["lo", "vb0"]);
  });

  it("creates a VLAN where the kernel has 802.1Q, else reports the kind as unsupported", () => {
    const out = probe("vlan", node, "m0", "m0.100", "100");
    if (hasVlan) {
      const [link] = ipJson("-n", node, "-d", "link", "show", "m0.100");
      expect(link.linkinfo.info_data.id).toBe(100);
      expect(out.link).toMatchObject({ kind: "vlan", vlanId: 100 });
      ip("-n", node, "link", "del", "m0.100");
    } else {
      expect(out.created.error).toMatchObject({ errnoName: "EOPNOTSUPP", kernelMessage: "Unknown device type" });
      expect(out.unsupportedKind).toBe(true);
      expect(out.link).toBeNull();
    }
  });
});
