// vlanID (from a SpiderMultusConfig's ipvlan.vlanID): the slaves hang off
// "<master>.<vlanID>", which ipvlan-attach creates on the node when missing
// and leaves for the next pod. The VPC side carries VLAN 100 too, so the pod
// reaches its gateway through the tagged link.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SeedTopology, seedNetwork, type PodHandle } from "../scenario/seed-topology";

let topo: SeedTopology;
const pods: PodHandle[] = [];
const network = () => ({ ...seedNetwork(), vlanID: 100 });
const link = (ns: string, name: string) =>
  (topo.ipJson(ns, "-d", "link", "show") as { ifname: string; link?: string; linkinfo?: { info_kind: string; info_data?: { id?: number } } }[]).find((l) => l.ifname === name);

beforeAll(() => {
  topo = new SeedTopology().build();
  // The VPC's gateway for VLAN 100 of master's subnet; the untagged gateway moves off the subnet.
  topo.exec(topo.vpc, "ip", "addr", "flush", "dev", "vpc-m");
  topo.exec(topo.vpc, "ip", "link", "add", "link", "vpc-m", "name", "vpc-m.100", "type", "vlan", "id", "100");
  topo.exec(topo.vpc, "ip", "addr", "add", "172.31.16.1/20", "dev", "vpc-m.100");
  topo.exec(topo.vpc, "ip", "link", "set", "vpc-m.100", "up");
});

afterAll(() => topo?.teardown());

describe("ipvlan on <master>.<vlanID>", () => {
  it("creates ens5.100 on the node on the first ADD and hangs the slave off it", () => {
    const node = topo.nodeNetns("master");
    expect(link(node, "ens5.100")).toBeUndefined();
    const { pod, run } = topo.addPod("master", "vlan-a", topo.nodeConfig("master", network()));
    expect(run.code, run.stdout + run.stderr).toBe(0);
    pods.push(pod);
    const vlan = link(node, "ens5.100");
    expect(vlan?.linkinfo).toMatchObject({ info_kind: "vlan", info_data: { id: 100 } });
    expect(vlan?.link).toBe("ens5");
  });

  it("the pod reaches its gateway through the tagged link", () => {
    expect(topo.ping(pods[0]!.netns, "172.31.16.1")).toBe(true);
  });

  it("a second pod reuses the VLAN link; CHECK passes", () => {
    const { pod, run } = topo.addPod("master", "vlan-b", topo.nodeConfig("master", network()));
    expect(run.code, run.stdout + run.stderr).toBe(0);
    pods.push(pod);
    const conf = JSON.parse(topo.nodeConfig("master", network())) as Record<string, unknown>;
    conf.prevResult = pod.result;
    const check = topo.cni(pod, "CHECK", JSON.stringify(conf));
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(topo.ping(pod.netns, "172.31.16.1")).toBe(true);
  });

  it("DEL removes the pods' interfaces and leaves the node's VLAN link in place", () => {
    for (const pod of pods) expect(topo.cni(pod, "DEL", topo.nodeConfig("master", network())).code).toBe(0);
    expect(link(topo.nodeNetns("master"), "ens5.100")).toBeDefined();
  });

  it("a name that is taken by something else is refused (code 106)", () => {
    const node = topo.nodeNetns("master");
    topo.exec(node, "ip", "link", "add", "ens5.200", "type", "veth", "peer", "name", "x200");
    const { run } = topo.addPod("master", "vlan-c", topo.nodeConfig("master", { ...seedNetwork(), vlanID: 200 }));
    expect(run.code).not.toBe(0);
    expect((run.json as { code: number }).code).toBe(106);
  });
});
