// The etcd store against real etcd members (3 on loopback): pools shared by
// several nodes, simulated by sandboxes with their own nodeName and dataDir.
// Each test works under a prefix of its own in one etcd.cluster.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cniError, cniOk, describeRun, type CniOutput } from "../helpers/cni";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd";
import { addressesOf, IpamSandbox, poolYaml } from "./ipam-harness";
import { checkEtcdStore, useEtcdCluster } from "./etcd-store-check";

const etcd = useEtcdCluster();
const { available, tmp } = etcd;
let prefixCount = 0;

const SHARED = { subnet: "10.250.0.0/24", ips: ["10.250.0.10-10.250.0.20"], gateway: "10.250.0.1", default: true };

/** One simulated node: its own dataDir and name, the cluster's pool file, the etcd store under `prefix`. */
class Node {
  private constructor(
    readonly box: IpamSandbox,
    readonly name: string,
    readonly store: Record<string, unknown>,
  ) {}

  static async make(name: string, prefix: string, pools: Record<string, Record<string, unknown>> = { "shared-v4": SHARED }, store: Record<string, unknown> = {}): Promise<Node> {
    const box = await IpamSandbox.create(tmp, { seed: false });
    for (const [pool, spec] of Object.entries(pools)) await box.writePoolFile(`${pool}.yaml`, poolYaml(pool, spec));
    return new Node(box, name, { type: "etcd", endpoints: etcd.cluster.endpoints, prefix, timeoutMs: 8000, ...store });
  }

  private opts(extra: { timeoutMs?: number; top?: Record<string, unknown> } = {}) {
    return { node: this.name, ipam: { store: this.store }, ...extra };
  }
  add = (id: string, extra = {}) => this.box.add(id, this.opts(extra));
  del = (id: string, extra = {}) => this.box.del(id, this.opts(extra));
  check = (id: string, prev: unknown) => this.box.check(id, prev, this.opts());
  gc = (valid: { containerID: string; ifname: string }[]) => this.box.gc(valid, this.opts());
  status = () => this.box.status(this.opts());
  /** A network configuration file for the CLI's --config. */
  async confFile(): Promise<string> {
    return this.box.writePoolFile("../net.conf", JSON.stringify(this.box.conf(this.opts())));
  }
}

const newPrefix = () => `/it-${process.pid}-${++prefixCount}`;

/** Addresses per container ID from successful ADDs. */
function assignments(outs: Map<string, CniOutput>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [id, o] of outs) if (o.code === 0) out.set(id, addressesOf(JSON.parse(o.stdout)));
  return out;
}

describe.skipIf(!available)("etcd store: one address, one holder, across nodes", () => {
  it("two nodes on a pool without nodeName get different addresses; DEL releases; a repeated ADD answers the same", async () => {
    const prefix = newPrefix();
    const a = await Node.make("node-a", prefix);
    const b = await Node.make("node-b", prefix);
    const ra = cniOk(await a.add("pod-a"));
    const rb = cniOk(await b.add("pod-b"));
    expect(addressesOf(ra)).toHaveLength(1);
    expect(addressesOf(ra)[0]).not.toBe(addressesOf(rb)[0]);
    expect(addressesOf(cniOk(await a.add("pod-a")))).toEqual(addressesOf(ra));
    cniOk(await a.check("pod-a", ra));
    expect(cniError(await b.check("pod-a", ra)).code).toBe(110); // node b holds no pod-a
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 2 });
    expect((await a.del("pod-a")).code).toBe(0);
    expect((await a.del("pod-a")).code).toBe(0); // idempotent
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 1 });
    expect(await a.box.claims()).toEqual([]); // nothing in the local store
  });

  it("3 nodes, one pool smaller than the demand, a member SIGKILLed meanwhile: each address to exactly one container, the rest 101; all DELs make the pool whole", async () => {
    const prefix = newPrefix();
    const nodes = await Promise.all(["n1", "n2", "n3"].map((n) => Node.make(n, prefix)));
    const outs = new Map<string, CniOutput>();
    const victim = (await etcd.cluster.leader() + 1) % 3; // a follower: the leader is stopped in another test
    const adds = nodes.flatMap((node) => Array.from({ length: 6 }, (_, i) => `${node.name}-c${i}`).map(async (id) => outs.set(id, await node.add(id))));
    await Promise.all([...adds, etcd.cluster.kill(victim)]);
    const got = assignments(outs);
    const refused = [...outs.values()].filter((o) => o.code !== 0);
    expect(got.size, [...outs.values()].filter((o) => o.code !== 0 && cniError(o).code !== 101).map(describeRun).join("\n")).toBe(11);
    expect(refused.every((o) => cniError(o).code === 101)).toBe(true);
    const all = [...got.values()].flat();
    expect(new Set(all).size).toBe(11);
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 11 });
    for (const node of nodes) for (const id of got.keys()) if (id.startsWith(`${node.name}-`)) expect((await node.del(id)).code).toBe(0);
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 0 });
    await etcd.cluster.restart(victim);
    // The pool serves all 11 again.
    for (let i = 0; i < 11; i++) cniOk(await nodes[i % 3]!.add(`again-${i}`));
    expect(cniError(await nodes[0]!.add("one-too-many")).code).toBe(101);
  }, 120_000);

  it("the leader SIGSTOPped: ADDs still succeed once the others elect a new leader, with no address twice", async () => {
    const prefix = newPrefix();
    const nodes = await Promise.all(["s1", "s2"].map((n) => Node.make(n, prefix)));
    const leader = await etcd.cluster.leader();
    await etcd.cluster.stop(leader);
    try {
      const outs = new Map<string, CniOutput>();
      await Promise.all(nodes.flatMap((node) => [0, 1, 2].map(async (i) => outs.set(`${node.name}-${i}`, await node.add(`${node.name}-${i}`)))));
      const got = assignments(outs);
      expect(got.size, [...outs.values()].map(describeRun).join("\n")).toBe(6);
      expect(new Set([...got.values()].flat()).size).toBe(6);
    } finally {
      etcd.cluster.cont(leader);
    }
    await etcd.cluster.waitHealthy();
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 6 });
  }, 120_000);

  it("a DEL still on its way to etcd when a retried ADD answers cannot free that ADD's address", async () => {
    const prefix = newPrefix();
    const node = await Node.make("late", prefix);
    const first = addressesOf(cniOk(await node.add("pod")));
    const b64 = (text: string) => Buffer.from(text).toString("base64");
    const hex = (ip: string) => ip.split(".").map((o) => Number(o).toString(16).padStart(2, "0")).join("");
    const keys = [`${prefix}/attachments/late/pod/eth0`, `${prefix}/ips/v4/${hex(first[0]!)}`];
    const revisions = await Promise.all(keys.map(async (key) => (await etcd.cluster.request("/v3/kv/range", { key: b64(key) })).kvs[0].mod_revision as string));
    // What a DEL whose process was killed (or gave up) after sending asks etcd to do, arriving late.
    const lateDel = {
      compare: keys.map((key, i) => ({ key: b64(key), target: "MOD", result: "EQUAL", mod_revision: revisions[i] })),
      success: keys.map((key) => ({ request_delete_range: { key: b64(key) } })),
    };
    expect(addressesOf(cniOk(await node.add("pod")))).toEqual(first); // the runtime's retried ADD
    const applied = await etcd.cluster.request("/v3/kv/txn", lateDel);
    expect(applied.succeeded ?? false).toBe(false);
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 1, claims: 1 });
  });

  it("dual-stack is all or nothing: an exhausted IPv6 pool leaves no IPv4 claim behind", async () => {
    const prefix = newPrefix();
    const pools = {
      "ds-v4": { subnet: "10.252.0.0/24", ips: ["10.252.0.10-10.252.0.20"], default: true },
      "ds-v6": { subnet: "fd00:252::/64", ips: ["fd00:252::10"], default: true },
    };
    const a = await Node.make("ds-a", prefix, pools);
    const b = await Node.make("ds-b", prefix, pools);
    const first = addressesOf(cniOk(await a.add("first")));
    expect(first[0]).toMatch(/^10\.252\.0\.(1\d|20)$/);
    expect(first[1]).toBe("fd00:252::10");
    expect(cniError(await b.add("second")).code).toBe(101);
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 1, claims: 2 });
  });

  it("GC on a node releases only that node's attachments the runtime no longer lists", async () => {
    const prefix = newPrefix();
    const a = await Node.make("gc-a", prefix);
    const b = await Node.make("gc-b", prefix);
    for (const id of ["keep", "drop"]) cniOk(await a.add(id));
    cniOk(await b.add("other"));
    expect((await a.gc([{ containerID: "keep", ifname: "eth0" }])).code).toBe(0);
    const left = await checkEtcdStore(etcd.cluster, prefix, { attachments: 2 });
    expect(left.sort()).toEqual(["gc-a/keep/eth0", "gc-b/other/eth0"]);
    expect((await a.status()).code).toBe(0);
  });

  it("a node whose pool file differs is refused with code 7 naming the pool and both fingerprints", async () => {
    const prefix = newPrefix();
    const a = await Node.make("fp-a", prefix);
    const b = await Node.make("fp-b", prefix, { "shared-v4": { ...SHARED, ips: ["10.250.0.10-10.250.0.30"] } });
    cniOk(await a.add("pod-a"));
    const err = cniError(await b.add("pod-b"));
    expect(err.code).toBe(7);
    expect(err.msg).toContain("pool shared-v4 differs between nodes");
    expect(err.msg).toMatch(/fingerprint [0-9a-f]{16}.*has [0-9a-f]{16}/);
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 1 });
  });

  it("release --node frees everything a node held; pools shows cluster-wide and per-node counts", async () => {
    const prefix = newPrefix();
    const a = await Node.make("gone", prefix);
    const b = await Node.make("stays", prefix);
    for (const id of ["x", "y"]) cniOk(await a.add(id));
    cniOk(await b.add("z"));
    const conf = await b.confFile();
    const pools = await b.box.cli(["pools", "--config", conf, "-o", "json"]);
    expect(pools.code, describeRun(pools)).toBe(0);
    const row = (JSON.parse(pools.stdout) as { pools: { name: string; allocated: number; allocatedByNode: Record<string, number> }[] }).pools[0]!;
    expect(row).toMatchObject({ name: "shared-v4", allocated: 3, allocatedByNode: { gone: 2, stays: 1 } });
    const out = await b.box.cli(["release", "--node", "gone", "--config", conf]);
    expect(out.code, describeRun(out)).toBe(0);
    expect(out.stdout).toContain("released x/eth0");
    expect(await checkEtcdStore(etcd.cluster, prefix, { attachments: 1 })).toEqual(["stays/z/eth0"]);
  });

  it("node-pinned pools go to etcd too when it is configured", async () => {
    const prefix = newPrefix();
    const a = await Node.make("pin-a", prefix, { "pinned-v4": { ...SHARED, nodeName: ["pin-a"] } });
    cniOk(await a.add("pod"));
    expect(await a.box.claims()).toEqual([]);
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 1, claims: 1 });
  });

  it("etcd out of reach: code 11 within timeoutMs after trying every endpoint, STATUS 50, nothing allocated anywhere", async () => {
    const prefix = newPrefix();
    const a = await Node.make("cut-off", prefix, undefined, { endpoints: ["http://127.0.0.1:1", "http://127.0.0.1:2"], timeoutMs: 1000 });
    const err = cniError(await a.add("pod"));
    expect(err.code).toBe(11);
    expect(err.msg).toContain("http://127.0.0.1:1");
    expect(err.msg).toContain("http://127.0.0.1:2");
    expect(cniError(await a.status()).code).toBe(50);
    expect(await a.box.claims()).toEqual([]);
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 0 });
  });
});

describe.skipIf(!available)("etcd store over TLS with client certificates", () => {
  let secure: EtcdCluster;
  beforeAll(async () => {
    secure = await startEtcdCluster({ members: 1, tls: true });
  }, 60_000);
  afterAll(() => secure?.close());

  it("allocates with the client certificate and is refused without it", async () => {
    const box = await IpamSandbox.create(tmp, { seed: false });
    await box.writePoolFile("shared.yaml", poolYaml("shared-v4", SHARED));
    const tls = secure.tls!;
    const store = { type: "etcd", endpoints: secure.endpoints, timeoutMs: 3000 };
    const ok = await box.add("pod", { node: "tls-a", ipam: { store: { ...store, tls: { caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile } } } });
    expect(addressesOf(cniOk(ok))).toHaveLength(1);
    const refused = cniError(await box.add("pod-2", { node: "tls-a", ipam: { store: { ...store, tls: { caFile: tls.caFile } } } }));
    expect(refused.code).toBe(11);
    const missing = cniError(await box.add("pod-3", { node: "tls-a", ipam: { store: { ...store, tls: { caFile: "/nonexistent/ca.crt" } } } }));
    expect(missing.code).toBe(7);
  });
});
