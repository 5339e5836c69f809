// The seed's AWS topology rebuilt in network namespaces, shared by the
// end-to-end test and the demo:
//
//   pod netns ──ipvlan── ens5 (node "master", 172.31.22.228/20) ──veth── vpc-m ┐
//                                                                            VPC router
//   pod netns ──ipvlan── ens5 (node "worker1", 172.31.32.18/24) ──veth── vpc-w ┘
//
// The "VPC" namespace routes between the two subnets and holds the gateways
// 172.31.16.1/20, 172.31.32.1/24, 2406:da1e:c4:ed01::1/64, 2406:da1e:c4:ed02::1/64.
// Plugins run inside the node namespaces (`ip netns exec`), exactly as a
// runtime runs them: CNI_* in the environment, the configuration on stdin.
// Scaffolding (namespaces, the VPC side) uses iproute2; the plugins do their
// own netlink. Every name carries a random suffix and teardown removes all.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");
export const BIN_DIR = join(ROOT, "dist", "bin");
export const SEED_POOLS = join(ROOT, "test", "fixtures", "pools", "seed-pools.yaml");

export interface NodeSpec {
  name: "master" | "worker1";
  ipv4: string; // primary address of ens5, CIDR
  ipv6: string;
  vpcSide: string;
  gateway4: string; // on the VPC side, CIDR
  gateway6: string;
}

export const SEED_NODES: NodeSpec[] = [
  { name: "master", ipv4: "172.31.22.228/20", ipv6: "2406:da1e:c4:ed01::10/64", vpcSide: "vpc-m", gateway4: "172.31.16.1/20", gateway6: "2406:da1e:c4:ed01::1/64" },
  // The seed's table gives worker1 "180.17.16.17", outside its own subnet; its
  // connectivity section uses 172.31.32.18, which fits 172.31.32.0/24.
  { name: "worker1", ipv4: "172.31.32.18/24", ipv6: "2406:da1e:c4:ed02::10/64", vpcSide: "vpc-w", gateway4: "172.31.32.1/24", gateway6: "2406:da1e:c4:ed02::1/64" },
];

/** The network the seed's SpiderMultusConfig ipvlan-ens5 describes (upstream's NAD shape, our types). */
export function seedNetwork(cniVersion = "1.0.0"): Record<string, unknown> {
  return { cniVersion, name: "ipvlan-ens5", type: "ipvlan-attach", master: "ens5", ipam: { type: "spiderpool-ipam" } };
}

/** The same with address-conflict and gateway detection on (coordinator.detectIPConflict, detectGateway). */
export function seedNetworkDetecting(cniVersion = "1.0.0"): Record<string, unknown> {
  return { ...seedNetwork(cniVersion), coordinator: { detectIPConflict: true, detectGateway: true } };
}

export interface PodHandle {
  name: string;
  node: string;
  netns: string;
  netnsPath: string;
  containerId: string;
  ifname: string;
  result?: { ips?: { address: string; gateway?: string }[]; interfaces?: { name: string; mac?: string }[]; routes?: { dst: string; gw?: string }[] };
}

export interface PluginRun {
  code: number | null;
  stdout: string;
  stderr: string;
  json: unknown;
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"] }).toString();

export class SeedTopology {
  readonly suffix = Math.random().toString(36).slice(2, 8);
  readonly vpc = `vpc-${this.suffix}`;
  readonly work: string;
  readonly cniPath: string;
  private readonly namespaces: string[] = [];
  readonly pods: PodHandle[] = [];

  /** `network`: what nodeConfig gives by default (ADD, CHECK and DEL alike). */
  constructor(private readonly network: () => Record<string, unknown> = seedNetwork) {
    this.work = mkdtempSync(join(tmpdir(), "spd-seed-"));
    chmodSync(this.work, 0o700);
    this.cniPath = join(this.work, "bin");
    mkdirSync(this.cniPath, { mode: 0o700 });
    for (const p of ["spiderpool-ipam", "ipvlan-attach"]) copyFileSync(join(BIN_DIR, p), join(this.cniPath, p));
    for (const p of ["spiderpool-ipam", "ipvlan-attach"]) chmodSync(join(this.cniPath, p), 0o755);
  }

  nodeNetns(node: string): string {
    return `${node}-${this.suffix}`;
  }

  private addNetns(name: string): void {
    ip("netns", "add", name);
    this.namespaces.push(name);
    ip("-n", name, "link", "set", "lo", "up");
  }

  /** Builds the VPC router and both nodes, with the seed's pools in each node's poolDir. */
  build(): this {
    this.addNetns(this.vpc);
    const sysctl = (ns: string, key: string, value: string) => ip("netns", "exec", ns, "sysctl", "-qw", `${key}=${value}`);
    sysctl(this.vpc, "net.ipv4.ip_forward", "1");
    sysctl(this.vpc, "net.ipv6.conf.all.forwarding", "1");
    for (const n of SEED_NODES) {
      const ns = this.nodeNetns(n.name);
      this.addNetns(ns);
      ip("link", "add", "ens5", "netns", ns, "type", "veth", "peer", "name", n.vpcSide, "netns", this.vpc);
      ip("-n", ns, "addr", "add", n.ipv4, "dev", "ens5");
      ip("-n", ns, "addr", "add", n.ipv6, "dev", "ens5", "nodad");
      ip("-n", ns, "link", "set", "ens5", "up");
      ip("-n", ns, "route", "add", "default", "via", n.gateway4.split("/")[0]!);
      ip("-n", ns, "-6", "route", "add", "default", "via", n.gateway6.split("/")[0]!);
      ip("-n", this.vpc, "addr", "add", n.gateway4, "dev", n.vpcSide);
      ip("-n", this.vpc, "addr", "add", n.gateway6, "dev", n.vpcSide, "nodad");
      ip("-n", this.vpc, "link", "set", n.vpcSide, "up");
      const poolDir = this.poolDir(n.name);
      mkdirSync(poolDir, { recursive: true, mode: 0o700 });
      copyFileSync(SEED_POOLS, join(poolDir, "seed-pools.yaml"));
    }
    return this;
  }

  /**
   * A second VPC subnet, 172.31.48.0/24 with its gateway .1 on the router, on
   * master's NIC ens6 (172.31.48.10; the router's side is vpc-m6): for tests
   * of a pod's second NIC.
   */
  addSecondSubnet(): void {
    const ns = this.nodeNetns("master");
    ip("link", "add", "ens6", "netns", ns, "type", "veth", "peer", "name", "vpc-m6", "netns", this.vpc);
    ip("-n", ns, "addr", "add", "172.31.48.10/24", "dev", "ens6");
    ip("-n", ns, "link", "set", "ens6", "up");
    ip("-n", this.vpc, "addr", "add", "172.31.48.1/24", "dev", "vpc-m6");
    ip("-n", this.vpc, "link", "set", "vpc-m6", "up");
  }

  poolDir(node: string): string {
    return join(this.work, node, "ippools");
  }

  dataDir(node: string): string {
    return join(this.work, node, "data");
  }

  /** The network as this node's plugins read it: each node has its own pool files and store. */
  nodeConfig(node: string, network = this.network()): string {
    const ipam = { ...(network.ipam as object), poolDir: this.poolDir(node), dataDir: this.dataDir(node) };
    // The side channel's records go to this topology's temp dir, not the guest's /run.
    const coordinator = { ...((network.coordinator as object | undefined) ?? {}), stateDir: this.stateDir(node) };
    return JSON.stringify({ ...network, ipam, coordinator });
  }

  stateDir(node: string): string {
    return join(this.work, node, "coordinator");
  }

  /** Runs a command inside a namespace (test scaffolding). */
  exec(netns: string, ...args: string[]): string {
    return ip("netns", "exec", netns, ...args);
  }

  /** Runs a plugin in a node's namespace the way a runtime would. */
  runPlugin(node: string, plugin: string, env: Record<string, string>, stdin: string): PluginRun {
    const r = spawnSync(
      "ip",
      ["netns", "exec", this.nodeNetns(node), "env", "-i", `NODE_NAME=${node}`, `CNI_PATH=${this.cniPath}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), join(this.cniPath, plugin)],
      { input: stdin, encoding: "utf8" },
    );
    let json: unknown;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, json };
  }

  /** A pod sandbox: its own namespace, then ipvlan-attach ADD on eth0. */
  addPod(node: string, name: string, config = this.nodeConfig(node)): { pod: PodHandle; run: PluginRun } {
    const netns = `${name}-${this.suffix}`;
    this.addNetns(netns);
    const pod: PodHandle = { name, node, netns, netnsPath: `/var/run/netns/${netns}`, containerId: `${name}-${this.suffix}`, ifname: "eth0" };
    this.pods.push(pod);
    const run = this.cni(pod, "ADD", config);
    if (run.code === 0) pod.result = run.json as PodHandle["result"];
    return { pod, run };
  }

  cni(pod: PodHandle, command: string, config = this.nodeConfig(pod.node)): PluginRun {
    return this.runPlugin(
      pod.node,
      "ipvlan-attach",
      {
        CNI_COMMAND: command,
        CNI_CONTAINERID: pod.containerId,
        CNI_NETNS: pod.netnsPath,
        CNI_IFNAME: pod.ifname,
        CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.name};K8S_POD_UID=uid-${pod.name}`,
      },
      config,
    );
  }

  /** CHECK needs the ADD result as prevResult. */
  check(pod: PodHandle): PluginRun {
    const conf = JSON.parse(this.nodeConfig(pod.node)) as Record<string, unknown>;
    conf.prevResult = pod.result;
    return this.cni(pod, "CHECK", JSON.stringify(conf));
  }

  /** One ping from a namespace; true when answered. */
  ping(netns: string, target: string): boolean {
    const r = spawnSync("ip", ["netns", "exec", netns, "ping", "-c", "1", "-W", "2", target], { encoding: "utf8" });
    return r.status === 0;
  }

  ipJson(netns: string, ...args: string[]): unknown {
    return JSON.parse(ip("-j", "-n", netns, ...args) || "[]");
  }

  /** An empty pod namespace, removed at teardown. */
  addNetnsForTest(name: string): void {
    this.addNetns(name);
  }

  /** Deletes one namespace now (as a runtime does when a pod goes away before DEL). */
  removeNetns(name: string): void {
    ip("netns", "del", name);
    const i = this.namespaces.indexOf(name);
    if (i >= 0) this.namespaces.splice(i, 1);
  }

  /** Removes every namespace and file this topology made (pods' links go with their netns). */
  teardown(): void {
    for (const ns of this.namespaces.reverse()) {
      try {
        ip("netns", "del", ns);
      } catch {
        /* already gone */
      }
    }
    rmSync(this.work, { recursive: true, force: true });
  }
}

export function writeFilePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
}
