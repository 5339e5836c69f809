// Multi-NIC pods (what Spiderpool's coordinator calls tunePodRoutes): eth0 on
// ens5 from the seed's pools, net1 on a second NIC ens6 in another subnet from
// its own pool (matched by multusName). Only eth0 holds the main default
// route; net1's default route and routes live in its own table with a rule
// from its address, so replies leave by the NIC the request came in on — the
// VPC router here drops asymmetric traffic (strict rp_filter), as a cloud
// network would.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SeedTopology, seedNetwork, type PodHandle } from "../scenario/seed-topology";

let topo: SeedTopology;
let pod: PodHandle;
let client: PodHandle;
let net1: PodHandle;
let net1Config: string;
const POOL_ENS6 = {
  apiVersion: "spiderpool.spidernet.io/v2beta1",
  kind: "SpiderIPPool",
  metadata: { name: "master-ens6-v4" },
  spec: {
    subnet: "172.31.48.0/24",
    ips: ["172.31.48.100-172.31.48.109"],
    gateway: "172.31.48.1",
    default: true,
    routes: [{ dst: "10.20.0.0/16", gw: "172.31.48.1" }],
    nodeName: ["master"],
    multusName: ["kube-system/ipvlan-ens6"],
  },
};

beforeAll(() => {
  topo = new SeedTopology().build();
  topo.addSecondSubnet();
  // A cloud network drops packets arriving on the wrong side: strict reverse-path filtering.
  for (const key of ["all", "vpc-m", "vpc-w", "vpc-m6"]) topo.exec(topo.vpc, "sysctl", "-qw", `net.ipv4.conf.${key}.rp_filter=1`);

  const a = topo.addPod("master", "multi");
  if (a.run.code !== 0) throw new Error(`ADD eth0: ${a.run.stdout}${a.run.stderr}`);
  pod = a.pod;
  const second = JSON.parse(topo.nodeConfig("master", { ...seedNetwork(), name: "ipvlan-ens6", master: "ens6" })) as Record<string, any>;
  // The seed's pools stay visible too: multusName is what keeps them off this network.
  second.ipam = { ...second.ipam, ippools: [POOL_ENS6] };
  net1Config = JSON.stringify(second);
  net1 = { ...pod, ifname: "net1" };
  const b = topo.cni(net1, "ADD", net1Config);
  if (b.code !== 0) throw new Error(`ADD net1: ${b.stdout}${b.stderr}`);
  net1.result = b.json as PodHandle["result"];
  const c = topo.addPod("worker1", "client");
  if (c.run.code !== 0) throw new Error(`ADD client: ${c.run.stdout}${c.run.stderr}`);
  client = c.pod;
});

afterAll(() => topo?.teardown());

describe("a pod with two underlay NICs in different subnets", () => {
  it("each NIC has an address from its own pools", () => {
    expect(pod.result!.ips!.map((i) => i.address)).toEqual(["172.31.28.16/20", "2406:da1e:c4:ed01:c57d::/64"]);
    expect(net1.result!.ips!.map((i) => i.address)).toEqual(["172.31.48.100/24"]);
    expect(net1.result!.interfaces![0]!.name).toBe("net1");
  });

  it("only eth0 holds the main default route; net1's is in its own table with a rule from its address", () => {
    const main = topo.ipJson(pod.netns, "route", "show", "default") as { dev: string }[];
    expect(main.map((r) => r.dev)).toEqual(["eth0"]);
    const rules = topo.ipJson(pod.netns, "rule") as { src?: string; table: string; priority: number }[];
    const rule = rules.find((r) => r.src === "172.31.48.100");
    expect(rule, JSON.stringify(rules)).toBeDefined();
    const own = topo.ipJson(pod.netns, "route", "show", "table", rule!.table) as { dst: string; gateway?: string; dev: string }[];
    expect(own).toEqual(expect.arrayContaining([expect.objectContaining({ dst: "default", gateway: "172.31.48.1", dev: "net1" })]));
  });

  it("pool routes land on the right NIC", () => {
    const r = topo.ipJson(pod.netns, "route", "get", "10.20.1.1") as { dev: string; gateway: string }[];
    expect(r[0]).toMatchObject({ dev: "net1", gateway: "172.31.48.1" });
  });

  it("the pod answers on both addresses from another subnet, each reply leaving by its own NIC", () => {
    expect(topo.ping(client.netns, "172.31.28.16")).toBe(true);
    expect(topo.ping(client.netns, "172.31.48.100")).toBe(true);
    // And from the VPC side of each subnet.
    expect(topo.ping(topo.vpc, "172.31.48.100")).toBe(true);
    expect(topo.ping(topo.vpc, "172.31.28.16")).toBe(true);
  });

  it("CHECK passes for both NICs", () => {
    expect(topo.check(pod).code).toBe(0);
    const conf = JSON.parse(net1Config) as Record<string, unknown>;
    conf.prevResult = net1.result;
    const run = topo.cni(net1, "CHECK", JSON.stringify(conf));
    expect(run.code, run.stdout + run.stderr).toBe(0);
  });

  it("DEL of net1 removes its rules and leaves eth0 working", () => {
    const run = topo.cni(net1, "DEL", net1Config);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const rules = topo.ipJson(pod.netns, "rule") as { src?: string }[];
    expect(rules.filter((r) => r.src === "172.31.48.100")).toEqual([]);
    expect((topo.ipJson(pod.netns, "link") as { ifname: string }[]).map((l) => l.ifname)).not.toContain("net1");
    expect(topo.ping(client.netns, "172.31.28.16")).toBe(true);
    expect(topo.cni(pod, "DEL").code).toBe(0);
  });
});
