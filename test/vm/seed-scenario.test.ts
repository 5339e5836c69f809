// The seed's AWS scenario end to end, in a kernel with ipvlan: a VPC router,
// nodes master and worker1 with ens5, the seed's four pools, the network of
// the seed's SpiderMultusConfig, two pods per node added through our
// executables as a runtime would. Then addresses, routes, pings, CHECK, DEL.
// Twice: as the seed has it, and with conflict and gateway detection on.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SeedTopology, seedNetwork, seedNetworkDetecting, type PodHandle } from "../scenario/seed-topology";

const addr = (pod: PodHandle, v6: boolean) => pod.result!.ips!.find((i) => i.address.includes(":") === v6)!.address.split("/")[0]!;

describe.each([
  ["as the seed has it", seedNetwork],
  ["with detectIPConflict and detectGateway on", seedNetworkDetecting],
])("seed scenario %s: pods get their node's VPC addresses", (_, network) => {
  let topo: SeedTopology;
  const pods: Record<string, PodHandle> = {};

  beforeAll(() => {
    topo = new SeedTopology(network).build();
    for (const [node, name] of [["master", "pod-m1"], ["master", "pod-m2"], ["worker1", "pod-w1"], ["worker1", "pod-w2"]] as const) {
      const { pod, run } = topo.addPod(node, name);
      if (run.code !== 0) throw new Error(`ADD ${name} failed: ${run.stdout}${run.stderr}`);
      pods[name] = pod;
    }
  });

  afterAll(() => topo?.teardown());

  it.each([
    ["pod-m1", "172.31.28.16/20", "2406:da1e:c4:ed01:c57d::/64", "172.31.16.1", "2406:da1e:c4:ed01::1"],
    ["pod-m2", "172.31.28.17/20", "2406:da1e:c4:ed01:c57d::1/64", "172.31.16.1", "2406:da1e:c4:ed01::1"],
    ["pod-w1", "172.31.32.176/24", "2406:da1e:c4:ed02:7a2e::/64", "172.31.32.1", "2406:da1e:c4:ed02::1"],
    ["pod-w2", "172.31.32.177/24", "2406:da1e:c4:ed02:7a2e::1/64", "172.31.32.1", "2406:da1e:c4:ed02::1"],
  ])("%s has %s and %s", (name, v4, v6, gw4, gw6) => {
    const pod = pods[name]!;
    const r = pod.result!;
    expect(r.ips).toEqual([
      { address: v4, gateway: gw4, interface: 0 },
      { address: v6, gateway: gw6, interface: 0 },
    ]);
    expect(r.interfaces?.[0]?.name).toBe("eth0");
    const links = topo.ipJson(pod.netns, "link", "show", "eth0") as { ifname: string; address: string; linkinfo?: unknown }[];
    const node = topo.ipJson(topo.nodeNetns(pod.node), "link", "show", "ens5") as { address: string }[];
    // ipvlan: the slave keeps the node NIC's MAC, the one the VPC knows.
    expect(links[0]?.address).toBe(node[0]?.address);
    expect(r.interfaces?.[0]?.mac).toBe(node[0]?.address);
    const addrs = topo.ipJson(pod.netns, "addr", "show", "eth0") as { addr_info: { local: string; prefixlen: number }[] }[];
    const present = addrs[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
    expect(present).toContain(v4);
    expect(present).toContain(v6);
    const r4 = topo.ipJson(pod.netns, "route", "show", "default") as { gateway: string; dev: string }[];
    const r6 = topo.ipJson(pod.netns, "-6", "route", "show", "default") as { gateway: string; dev: string }[];
    expect(r4[0]).toMatchObject({ gateway: gw4, dev: "eth0" });
    expect(r6[0]).toMatchObject({ gateway: gw6, dev: "eth0" });
  });

  it("gateway detection (when on) resolved each pod's gateways during ADD, before any traffic", () => {
    const detecting = (network().coordinator as { detectGateway?: boolean } | undefined)?.detectGateway === true;
    for (const pod of Object.values(pods)) {
      const neighbours = topo.ipJson(pod.netns, "neigh", "show", "dev", "eth0") as { dst: string; lladdr?: string }[];
      const resolved = pod.result!.ips!.filter((ip) => neighbours.some((n) => n.dst === ip.gateway && n.lladdr));
      expect(resolved.length, `${pod.name}: ${JSON.stringify(neighbours)}`).toBe(detecting ? 2 : 0);
    }
  });

  it("pods ping their gateways over IPv4 and IPv6", () => {
    for (const pod of Object.values(pods)) {
      const r = pod.result!;
      for (const ip of r.ips!) expect(topo.ping(pod.netns, ip.gateway!), `${pod.name} -> ${ip.gateway}`).toBe(true);
    }
  });

  it("pods ping each other across nodes and on the same node, IPv4 and IPv6", () => {
    const pairs: [string, string][] = [["pod-m1", "pod-w1"], ["pod-w2", "pod-m2"], ["pod-m1", "pod-m2"], ["pod-w1", "pod-w2"]];
    for (const [from, to] of pairs) {
      for (const v6 of [false, true]) {
        const target = addr(pods[to]!, v6);
        expect(topo.ping(pods[from]!.netns, target), `${from} -> ${to} ${target}`).toBe(true);
      }
    }
  });

  it("the other node's primary address is reachable from a pod", () => {
    expect(topo.ping(pods["pod-m1"]!.netns, "172.31.32.18")).toBe(true);
    expect(topo.ping(pods["pod-w1"]!.netns, "172.31.22.228")).toBe(true);
  });

  it("CHECK passes for every pod", () => {
    for (const pod of Object.values(pods)) {
      const run = topo.check(pod);
      expect(run.code, run.stdout + run.stderr).toBe(0);
    }
  });

  it("DEL removes every interface and frees every address; DEL again succeeds", () => {
    for (const pod of Object.values(pods)) {
      const run = topo.cni(pod, "DEL");
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const links = topo.ipJson(pod.netns, "link") as { ifname: string }[];
      expect(links.map((l) => l.ifname)).toEqual(["lo"]);
      expect(topo.cni(pod, "DEL").code).toBe(0);
    }
    for (const node of ["master", "worker1"]) {
      expect(readdirSync(join(topo.dataDir(node), "ips"))).toEqual([]);
    }
  });
});
