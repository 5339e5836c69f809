// The side channel (issue: pods reach their own node and Services), in the
// seed's topology: a pod on master pings its own node and is pinged by it,
// over IPv4 and IPv6; a kube-proxy style Service (DNAT + masquerade on the
// node, made with iptables as scaffolding) reaches a pod on worker1 over TCP;
// a second NIC shares the pod's side channel; DEL leaves nothing behind.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SeedTopology, seedNetwork, type PodHandle } from "../scenario/seed-topology";

const SERVICE_V4 = "10.96.0.10";
const network = () => ({ ...seedNetwork(), coordinator: { serviceCIDR: ["10.96.0.0/12", "fd00:10:96::/108"] } });

let topo: SeedTopology;
let podM: PodHandle;
let podW: PodHandle;
let server: ChildProcess | undefined;
const masterNs = () => topo.nodeNetns("master");

const addr = (pod: PodHandle, v6: boolean) => pod.result!.ips!.find((i) => i.address.includes(":") === v6)!.address.split("/")[0]!;

beforeAll(() => {
  topo = new SeedTopology().build();
  for (const node of ["master", "worker1"]) topo.exec(topo.nodeNetns(node), "sysctl", "-qw", "net.ipv4.ip_forward=1");
  const m = topo.addPod("master", "pod-m", topo.nodeConfig("master", network()));
  const w = topo.addPod("worker1", "pod-w", topo.nodeConfig("worker1", network()));
  if (m.run.code !== 0 || w.run.code !== 0) throw new Error(`ADD failed: ${m.run.stdout}${m.run.stderr}${w.run.stdout}${w.run.stderr}`);
  podM = m.pod;
  podW = w.pod;
});

afterAll(() => {
  server?.kill("SIGKILL");
  topo?.teardown();
});

describe("coordinator side channel", () => {
  it("creates a veth pair: veth0 in the pod, a node end named after the container", () => {
    const podLinks = (topo.ipJson(podM.netns, "link") as { ifname: string }[]).map((l) => l.ifname);
    expect(podLinks).toEqual(expect.arrayContaining(["eth0", "veth0"]));
    const nodeLinks = (topo.ipJson(masterNs(), "link") as { ifname: string }[]).map((l) => l.ifname).filter((n) => n.startsWith("spd"));
    expect(nodeLinks).toHaveLength(1);
    expect(nodeLinks[0]!.length).toBeLessThanOrEqual(15);
  });

  it("a pod pings its own node over IPv4 and IPv6, and the node pings the pod", () => {
    expect(topo.ping(podM.netns, "172.31.22.228")).toBe(true);
    expect(topo.ping(podM.netns, "2406:da1e:c4:ed01::10")).toBe(true);
    expect(topo.ping(masterNs(), addr(podM, false))).toBe(true);
    expect(topo.ping(masterNs(), addr(podM, true))).toBe(true);
    expect(topo.ping(podW.netns, "172.31.32.18")).toBe(true);
  });

  it("pods still reach each other and their gateways through eth0", () => {
    expect(topo.ping(podM.netns, addr(podW, false))).toBe(true);
    expect(topo.ping(podM.netns, addr(podW, true))).toBe(true);
    expect(topo.ping(podM.netns, "172.31.16.1")).toBe(true);
    const viaEth0 = topo.ipJson(podM.netns, "route", "get", addr(podW, false)) as { dev: string }[];
    expect(viaEth0[0]?.dev).toBe("eth0");
    const viaVeth = topo.ipJson(podM.netns, "route", "get", "172.31.22.228") as { dev: string; prefsrc?: string }[];
    expect(viaVeth[0]).toMatchObject({ dev: "veth0", prefsrc: addr(podM, false) });
  });

  it("the node routes to the pod through its table 500 with a rule", () => {
    const rules = topo.ipJson(masterNs(), "rule") as { table: string; dst?: string; priority: number }[];
    expect(rules).toEqual(expect.arrayContaining([expect.objectContaining({ table: "500", dst: addr(podM, false), priority: 1000 })]));
    const routes = topo.ipJson(masterNs(), "route", "show", "table", "500") as { dst: string; dev: string }[];
    expect(routes.map((r) => r.dst)).toContain(addr(podM, false));
  });

  it("a Service (DNAT to a pod on worker1, masquerade) answers a TCP request from a pod on master", () => {
    const www = join(topo.work, "www");
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, "index.html"), "hello from pod-w\n");
    server = spawn("ip", ["netns", "exec", podW.netns, "busybox", "httpd", "-f", "-p", "8080", "-h", www], { stdio: "ignore" });
    const backend = addr(podW, false);
    topo.exec(masterNs(), "iptables", "-t", "nat", "-A", "PREROUTING", "-d", SERVICE_V4, "-p", "tcp", "--dport", "80", "-j", "DNAT", "--to-destination", `${backend}:8080`);
    topo.exec(masterNs(), "iptables", "-t", "nat", "-A", "POSTROUTING", "-d", backend, "-p", "tcp", "--dport", "8080", "-j", "MASQUERADE");
    let body = "";
    for (let i = 0; i < 10 && !body.includes("hello"); i++) {
      try {
        // curl, not busybox wget: the static busybox's wget crashes here.
        body = topo.exec(podM.netns, "curl", "-sS", "-m", "3", `http://${SERVICE_V4}/`);
      } catch {
        topo.exec(podM.netns, "sleep", "0.5");
      }
    }
    expect(body).toBe("hello from pod-w\n");
  });

  it("CHECK verifies the side channel, and fails when the node's rule is gone", () => {
    const ok = topo.check(podM);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const ip = addr(podM, false);
    topo.exec(masterNs(), "ip", "rule", "del", "to", ip, "lookup", "500", "pref", "1000");
    try {
      const broken = topo.check(podM);
      expect(broken.code).not.toBe(0);
      expect(broken.stdout).toContain(`to ${ip}/32 lookup 500`);
    } finally {
      topo.exec(masterNs(), "ip", "rule", "add", "to", ip, "lookup", "500", "pref", "1000");
    }
  });

  it("a second NIC shares the pod's side channel; deleting it removes only its node routes and rules", () => {
    const ns = masterNs();
    topo.addSecondSubnet();
    const pool = { apiVersion: "spiderpool.spidernet.io/v2beta1", kind: "SpiderIPPool", metadata: { name: "master-ens6-v4" }, spec: { subnet: "172.31.48.0/24", ips: ["172.31.48.100-172.31.48.109"], gateway: "172.31.48.1", nodeName: ["master"] } };
    const second = JSON.parse(topo.nodeConfig("master", { ...network(), name: "ipvlan-ens6", master: "ens6" })) as Record<string, any>;
    second.ipam = { ...second.ipam, ippools: [pool], default_ipv4_ippool: ["master-ens6-v4"], clean_gateway: true };
    const net1 = { ...podM, ifname: "net1" };
    const add = topo.cni(net1, "ADD", JSON.stringify(second));
    expect(add.code, add.stdout + add.stderr).toBe(0);
    const nodeEnds = () => (topo.ipJson(ns, "link") as { ifname: string }[]).filter((l) => l.ifname.startsWith("spd"));
    expect(nodeEnds()).toHaveLength(1);
    const table = () => (topo.ipJson(ns, "route", "show", "table", "500") as { dst: string }[]).map((r) => r.dst);
    expect(table()).toEqual(expect.arrayContaining([addr(podM, false), "172.31.48.100"]));
    expect(topo.ping(ns, "172.31.48.100")).toBe(true);

    const del = topo.cni(net1, "DEL", JSON.stringify(second));
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(table()).not.toContain("172.31.48.100");
    expect(table()).toContain(addr(podM, false));
    expect(nodeEnds()).toHaveLength(1);
    expect(topo.ping(podM.netns, "172.31.22.228")).toBe(true);
  });

  it("DEL removes the veth pair, the node routes and rules, and the records; DEL again succeeds", () => {
    for (const pod of [podM, podW]) {
      const run = topo.cni(pod, "DEL", topo.nodeConfig(pod.node, network()));
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const nodeNs = topo.nodeNetns(pod.node);
      expect((topo.ipJson(nodeNs, "link") as { ifname: string }[]).filter((l) => l.ifname.startsWith("spd"))).toEqual([]);
      expect(topo.ipJson(nodeNs, "route", "show", "table", "500")).toEqual([]);
      expect(topo.ipJson(nodeNs, "-6", "route", "show", "table", "500")).toEqual([]);
      const rules = [...(topo.ipJson(nodeNs, "rule") as { table: string }[]), ...(topo.ipJson(nodeNs, "-6", "rule") as { table: string }[])];
      expect(rules.filter((r) => r.table === "500")).toEqual([]);
      expect((topo.ipJson(pod.netns, "link") as { ifname: string }[]).map((l) => l.ifname)).toEqual(["lo"]);
      const state = topo.stateDir(pod.node);
      expect(existsSync(state) ? readdirSync(state) : []).toEqual([]);
      expect(topo.cni(pod, "DEL", topo.nodeConfig(pod.node, network())).code).toBe(0);
    }
  });

  it("DEL after the pod's namespace is gone still removes the node side", () => {
    const { pod, run } = topo.addPod("master", "pod-gone", topo.nodeConfig("master", network()));
    expect(run.code, run.stdout + run.stderr).toBe(0);
    topo.exec(masterNs(), "true");
    topo.removeNetns(pod.netns);
    const del = topo.cni(pod, "DEL", topo.nodeConfig("master", network()));
    expect(del.code, del.stdout + del.stderr).toBe(0);
    const rules = topo.ipJson(masterNs(), "rule") as { table: string }[];
    expect(rules.filter((r) => r.table === "500")).toEqual([]);
    expect(readdirSync(topo.stateDir("master"))).toEqual([]);
  });
});
