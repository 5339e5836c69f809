// A small network lab for the ipvlan-attach VM tests: uniquely named network
// namespaces (a "node" holding the master, pods, L2 peers), a private work
// directory for IPAM stores and pool files, and plugin runs done the way a
// runtime does them (inside the node netns via `ip netns exec`, CNI_* in the
// environment, the configuration on stdin). iproute2 is scaffolding only; the
// plugins do their own netlink. teardown() removes every namespace and file
// the lab made, whatever state a test left them in.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..", "..");
export const BIN_DIR = join(ROOT, "dist", "bin");
/** Debian's containernetworking-plugins (host-local, tuning, the reference ipvlan). */
export const REF_DIR = "/usr/lib/cni";
export const CNI_PATH = `${BIN_DIR}:${REF_DIR}`;
export const ALL_VERSIONS = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  json: unknown;
  /** Wall time of the whole `ip netns exec ... plugin` run. */
  ms: number;
}

export interface CniErrorJson {
  code: number;
  msg: string;
  details?: string;
}

export interface Pod {
  netns: string;
  /** CNI_NETNS as a runtime passes it. */
  path: string;
  containerId: string;
  ifname: string;
}

export type Json = Record<string, unknown>;

/** `ip -j -d link` fields the tests read. */
export interface IpLink {
  ifindex: number;
  ifname: string;
  address?: string;
  mtu: number;
  flags: string[];
  link?: string;
  link_index?: number;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
}

export interface IpAddrInfo {
  family: "inet" | "inet6";
  local: string;
  prefixlen: number;
  scope: string;
  tentative?: boolean;
  dadfailed?: boolean;
  nodad?: boolean;
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
  metric?: number;
}

export function describeRun(r: Run): string {
  return `exit ${r.code} after ${r.ms.toFixed(0)} ms; stdout: ${r.stdout.trim() || "<empty>"}; stderr: ${r.stderr.trim() || "<empty>"}`;
}

/** The CNI error object of a failed run; throws (with the run described) otherwise. */
export function cniError(r: Run): CniErrorJson {
  const j = r.json as CniErrorJson | undefined;
  if (r.code === 0 || !j || typeof j.code !== "number" || typeof j.msg !== "string") {
    throw new Error(`expected a CNI error, got: ${describeRun(r)}`);
  }
  return j;
}

export function ok<T = Json>(r: Run): T {
  if (r.code !== 0) throw new Error(`expected success, got: ${describeRun(r)}`);
  return r.json as T;
}

/** The node the lab's plugins run as (NODE_NAME). */
export const LAB_NODE = "lab-node";

/** A SpiderIPPool document: a default pool pinned to the lab's node (the local store refuses pools several nodes may use). */
export function spiderPool(name: string, spec: { subnet: string; ips: string[]; gateway?: string; routes?: { dst: string; gw: string }[] }): Json {
  return {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderIPPool",
    metadata: { name },
    spec: { ...spec, default: true, nodeName: [LAB_NODE] },
  };
}

export const POOL_V4 = spiderPool("lab-v4", { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.60"], gateway: "192.0.2.1" });
export const POOL_V6 = spiderPool("lab-v6", { subnet: "2001:db8:1::/64", ips: ["2001:db8:1::10-2001:db8:1::60"], gateway: "2001:db8:1::1" });

/** What spiderpool-ipam's store holds (see README "The store"). */
export interface StoreState {
  /** Addresses with a claim file (dataDir/ips). */
  claims: string[];
  /** "containerID/ifname" of each attachment record. */
  attachments: string[];
  /** Inconsistencies between claims and attachments (empty when consistent). */
  problems: string[];
}

export function storeState(dataDir: string): StoreState {
  const list = (d: string) => (existsSync(d) ? readdirSync(d).filter((n) => !n.startsWith(".")) : []);
  const claims = list(join(dataDir, "ips")).sort();
  const attachments: string[] = [];
  const held = new Map<string, string>(); // address -> containerID/ifname per attachments
  const problems: string[] = [];
  for (const cid of list(join(dataDir, "attachments"))) {
    const ifnames = list(join(dataDir, "attachments", cid));
    if (ifnames.length === 0) problems.push(`empty attachment directory ${cid}`);
    for (const ifname of ifnames) {
      const rec = JSON.parse(readFileSync(join(dataDir, "attachments", cid, ifname), "utf8")) as { containerID: string; ifname: string; ips: { address: string }[] };
      const key = `${rec.containerID}/${rec.ifname}`;
      if (key !== `${cid}/${ifname}`) problems.push(`attachment ${cid}/${ifname} says ${key}`);
      attachments.push(key);
      for (const ip of rec.ips) held.set(ip.address, key);
    }
  }
  for (const address of claims) {
    const claim = JSON.parse(readFileSync(join(dataDir, "ips", address), "utf8")) as { containerID: string; ifname: string };
    const key = `${claim.containerID}/${claim.ifname}`;
    if (held.get(address) !== key) problems.push(`claim ${address} (${key}) has no matching attachment`);
  }
  for (const [address, key] of held) if (!claims.includes(address)) problems.push(`attachment ${key} holds ${address} without a claim`);
  return { claims, attachments: attachments.sort(), problems };
}

/** host-local's store: dataDir/<network>/<ip> files (plus last_reserved_ip.*, lock). */
export function hostLocalAllocations(dataDir: string, network: string): string[] {
  const dir = join(dataDir, network);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n !== "lock" && !n.startsWith("last_reserved_ip"));
}

export class Lab {
  readonly id = Math.random().toString(36).slice(2, 8);
  readonly work: string;
  private readonly namespaces: string[] = [];
  private readonly podNamespaces = new Set<string>();
  private seq = 0;

  constructor(readonly tag: string) {
    this.work = mkdtempSync(join(tmpdir(), `${tag}-`));
    chmodSync(this.work, 0o700);
  }

  ip(...args: string[]): string {
    return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  }

  /** Several iproute2 commands for one namespace in one process (`ip -batch`): process starts are slow under TCG. */
  ipBatch(netns: string, lines: string[]): void {
    execFileSync("ip", ["-n", netns, "-batch", "-"], { input: lines.join("\n") + "\n", encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
  }

  ipJson<T = unknown>(netns: string, ...args: string[]): T {
    const text = this.ip("-j", "-n", netns, ...args);
    return JSON.parse(text.trim() === "" ? "[]" : text) as T;
  }

  /** Creates a namespace `<tag>-<role>-<id>` with lo up; removed by teardown. */
  netns(role: string): string {
    const name = `${this.tag}-${role}-${this.id}`;
    this.ip("netns", "add", name);
    this.namespaces.push(name);
    this.ip("-n", name, "link", "set", "lo", "up");
    return name;
  }

  deleteNetns(name: string): void {
    this.ip("netns", "del", name);
    const i = this.namespaces.indexOf(name);
    if (i >= 0) this.namespaces.splice(i, 1);
    this.podNamespaces.delete(name);
  }

  /**
   * Deletes the pod namespaces made so far (their slaves go with them); for afterEach, so a
   * test that fails half-way leaves no address on the shared master for the next one.
   */
  removePods(): void {
    for (const ns of [...this.podNamespaces]) {
      try {
        this.deleteNetns(ns);
      } catch {
        this.podNamespaces.delete(ns);
      }
    }
  }

  /** A private (0700) directory under the lab's work dir. */
  dir(name: string): string {
    const d = join(this.work, name);
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
    return d;
  }

  /**
   * A node namespace whose master `ens5` is a dummy (up, 1500, 192.0.2.2/24,
   * default route via 192.0.2.1), or a veth whose peer `eth0` sits in a second
   * namespace returned as `peer` (same L2: neighbours of the pods).
   */
  node(role = "node", opts: { veth?: boolean } = {}): { netns: string; peer?: string } {
    const netns = this.netns(role);
    let peer: string | undefined;
    if (opts.veth) {
      peer = this.netns(`${role}peer`);
      this.ip("link", "add", "ens5", "netns", netns, "type", "veth", "peer", "name", "eth0", "netns", peer);
      this.ip("-n", peer, "link", "set", "eth0", "up");
    } else {
      this.ip("-n", netns, "link", "add", "ens5", "type", "dummy");
    }
    this.ipBatch(netns, ["link set ens5 up", "addr add 192.0.2.2/24 dev ens5", "route add default via 192.0.2.1 dev ens5"]);
    return peer ? { netns, peer } : { netns };
  }

  /**
   * A pod sandbox namespace. With `master`, a dummy `ens5` (up) lives in it
   * (linkInContainer); `defaultRoute` gives it a default route via that master
   * (metric 100, so the pod's own default route via eth0 does not collide).
   */
  pod(role: string, opts: { master?: boolean; defaultRoute?: boolean; ifname?: string } = {}): Pod {
    const netns = this.netns(role);
    this.podNamespaces.add(netns);
    if (opts.master) {
      const lines = ["link add ens5 type dummy", "link set ens5 up"];
      if (opts.defaultRoute) lines.push("route add default dev ens5 metric 100");
      this.ipBatch(netns, lines);
    }
    return { netns, path: `/var/run/netns/${netns}`, containerId: `${role}-${this.id}-${++this.seq}`, ifname: opts.ifname ?? "eth0" };
  }

  /** Runs a plugin binary inside `nodeNetns` with exactly `env` (+PATH) and `stdin`. */
  run(nodeNetns: string, binary: string, env: Record<string, string>, stdin: string): Run {
    const t0 = performance.now();
    const r = spawnSync("ip", ["netns", "exec", nodeNetns, binary], {
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...env },
      input: stdin,
      encoding: "utf8",
      timeout: 60_000,
    });
    const ms = performance.now() - t0;
    let json: unknown;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
    return { code: r.status, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? `\nspawn: ${r.error.message}` : ""), json, ms };
  }

  /** A CNI command for a pod, run by `plugin` (ipvlan-attach by default) in the node namespace. */
  cni(nodeNetns: string, pod: Pod, command: string, conf: Json, opts: { plugin?: string; env?: Record<string, string> } = {}): Run {
    const plugin = opts.plugin ?? "ipvlan-attach";
    const binary = plugin.includes("/") ? plugin : existsSync(join(BIN_DIR, plugin)) ? join(BIN_DIR, plugin) : join(REF_DIR, plugin);
    const env: Record<string, string> = {
      CNI_COMMAND: command,
      CNI_CONTAINERID: pod.containerId,
      CNI_NETNS: pod.path,
      CNI_IFNAME: pod.ifname,
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.containerId}`,
      CNI_PATH,
      NODE_NAME: LAB_NODE,
      ...opts.env,
    };
    return this.run(nodeNetns, binary, env, JSON.stringify(conf));
  }

  /** A spiderpool-ipam block with its own store (and pool files, unless inline). */
  spiderIpam(name: string, pools: Json[] = [POOL_V4, POOL_V6], opts: { inline?: boolean } = {}): { ipam: Json; dataDir: string } {
    const poolDir = this.dir(`${name}/pools`);
    const dataDir = join(this.work, name, "data");
    if (opts.inline === false) {
      writeFileSync(join(poolDir, "pools.json"), JSON.stringify(pools), { mode: 0o600 });
      return { ipam: { type: "spiderpool-ipam", poolDir, dataDir }, dataDir };
    }
    return { ipam: { type: "spiderpool-ipam", poolDir, dataDir, ippools: pools }, dataDir };
  }

  link(netns: string, name: string): IpLink | undefined {
    const r = spawnSync("ip", ["-j", "-d", "-n", netns, "link", "show", "dev", name], { encoding: "utf8" });
    if (r.status !== 0) return undefined;
    return (JSON.parse(r.stdout) as IpLink[])[0];
  }

  links(netns: string): IpLink[] {
    return this.ipJson<IpLink[]>(netns, "-d", "link", "show");
  }

  addresses(netns: string, dev: string): IpAddrInfo[] {
    return this.ipJson<{ addr_info: IpAddrInfo[] }[]>(netns, "addr", "show", "dev", dev)[0]?.addr_info ?? [];
  }

  routes(netns: string, family: 4 | 6): IpRoute[] {
    return this.ipJson<IpRoute[]>(netns, `-${family}`, "route", "show");
  }

  /** Removes every namespace (their links go with them) and the work directory. */
  teardown(): void {
    for (const ns of this.namespaces.splice(0).reverse()) {
      try {
        this.ip("netns", "del", ns);
      } catch {
        /* already gone */
      }
    }
    rmSync(this.work, { recursive: true, force: true });
  }
}
