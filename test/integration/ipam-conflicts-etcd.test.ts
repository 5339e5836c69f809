// Quarantined addresses in the etcd store, against real etcd members (3 on
// loopback): the claim stays and a conflict record (P/conflicts/...) is
// written in the DEL's own transaction; every node sees the quarantine. Each
// test works under a prefix of its own. The local store: ipam-conflicts.test.ts.
import { describe, expect, it } from "vitest";
import { cniError, cniOk, describeRun } from "../helpers/cni";
import { pollUntil } from "../helpers/process";
import { addressesOf, IpamSandbox, poolYaml } from "./ipam-harness";
import { checkEtcdStore, useEtcdCluster } from "./etcd-store-check";

const etcd = useEtcdCluster();
const { available, tmp } = etcd;
let prefixCount = 0;
const newPrefix = () => `/conflicts-${process.pid}-${++prefixCount}`;

/** A pool of one address: which address an ADD gets is then known. */
const SOLO = { subnet: "10.253.0.0/24", ips: ["10.253.0.10"], gateway: "10.253.0.1", default: true };
const ADDRESS = "10.253.0.10";
const MAC = "0a:1b:2c:3d:4e:5f";
const reporting = (conflicts: unknown) => ({ args: { spiderpool: { conflicts } } });
const hex = (ip: string) => ip.split(".").map((o) => Number(o).toString(16).padStart(2, "0")).join("");

/** One simulated node: its own dataDir and name, the pool file, the etcd store under `prefix`. */
async function node(name: string, prefix: string, pool: Record<string, unknown> = SOLO) {
  const box = await IpamSandbox.create(tmp, { seed: false });
  await box.writePoolFile("pool.yaml", poolYaml("solo-v4", pool));
  const store = { type: "etcd", endpoints: etcd.cluster.endpoints, prefix, timeoutMs: 8000 };
  const opts = (extra: { ipam?: Record<string, unknown>; top?: Record<string, unknown> } = {}) => ({ node: name, ...extra, ipam: { store, ...extra.ipam } });
  return {
    box,
    add: (id: string, extra = {}) => box.add(id, opts(extra)),
    del: (id: string, extra = {}) => box.del(id, opts(extra)),
    gc: (extra = {}) => box.gc([], opts(extra)),
    status: (extra = {}) => box.status(opts(extra)),
    /** The CLI against this node's configuration. */
    cli: async (argv: string[]) => box.cli([...argv, "--config", await box.writePoolFile("../net.conf", JSON.stringify(box.conf(opts())))]),
  };
}

const conflictKey = (prefix: string) => `${prefix}/conflicts/v4/${hex(ADDRESS)}`;

async function quarantine(n: Awaited<ReturnType<typeof node>>, id = "pod"): Promise<void> {
  expect(addressesOf(cniOk(await n.add(id)))).toEqual([ADDRESS]);
  const del = await n.del(id, { top: reporting([{ ip: ADDRESS, mac: MAC }, { ip: "10.253.0.99", mac: "" }]) });
  expect(del.code, describeRun(del)).toBe(0);
  expect(del.stderr).toContain(`conflicts reported on 10.253.0.99, which container ${id} interface eth0 does not hold`);
}

async function waitUntilHeldFor(prefix: string, seconds: number): Promise<void> {
  const since = Date.parse((JSON.parse((await etcd.cluster.get(conflictKey(prefix)))!) as { detected: string }).detected);
  await pollUntil(async () => (Date.now() - since >= seconds * 1000 ? true : undefined), seconds * 1000 + 5000, () => `clock at ${new Date().toISOString()}`);
}

describe.skipIf(!available)("etcd store: quarantined addresses", () => {
  it("DEL keeps the reported address claimed with its conflict record; no node gets it; pools counts it; GC keeps it; a repeated DEL is the same", async () => {
    const prefix = newPrefix();
    const a = await node("node-a", prefix);
    const b = await node("node-b", prefix);
    await quarantine(a);
    const record = JSON.parse((await etcd.cluster.get(conflictKey(prefix)))!) as Record<string, unknown>;
    expect(record).toMatchObject({ address: ADDRESS, pool: "solo-v4", node: "node-a", containerID: "pod", ifname: "eth0", mac: MAC });
    expect(await etcd.cluster.get(`${prefix}/ips/v4/${hex(ADDRESS)}`)).toBe(record.claim);
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 0, claims: 1 });

    // Held for every node: the pool's one address is not handed out.
    expect(cniError(await b.add("other")).code).toBe(101);
    expect(cniError(await a.add("pod")).code).toBe(101);
    const pools = await b.cli(["pools", "-o", "json"]);
    expect(pools.code, describeRun(pools)).toBe(0);
    expect((JSON.parse(pools.stdout) as { pools: { allocated: number; conflicts: number }[] }).pools[0]).toMatchObject({ allocated: 1, conflicts: 1 });

    cniOk(await a.gc());
    cniOk(await b.gc());
    const again = await a.del("pod", { top: reporting([{ ip: ADDRESS, mac: MAC }]) });
    expect([again.code, again.stderr]).toEqual([0, ""]);
    expect(await etcd.cluster.get(conflictKey(prefix))).toBeDefined();
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 0, claims: 1 });
  });

  it("release --conflicts from another node frees it at once", async () => {
    const prefix = newPrefix();
    const a = await node("rel-a", prefix);
    const b = await node("rel-b", prefix);
    await quarantine(a);
    const none = await b.cli(["release", "--conflicts", "10.253.0.11"]);
    expect([none.code, none.stdout]).toEqual([0, "10.253.0.11 is not quarantined\n"]);
    const out = await b.cli(["release", "--conflicts", "--pool", "solo-v4"]);
    expect(out.code, describeRun(out)).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^released quarantined 10\\.253\\.0\\.10 \\(solo-v4\\): ${MAC} answered for it when rel-a/pod/eth0 probed it at \\S+\\n$`));
    expect(await etcd.cluster.listPrefix(`${prefix}/conflicts/`)).toEqual({});
    expect(addressesOf(cniOk(await b.add("other")))).toEqual([ADDRESS]);
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 1, claims: 1 });
  });

  it("an ADD, or this network's GC, ends the quarantine once conflictHoldSeconds have passed", async () => {
    const prefix = newPrefix();
    const a = await node("hold-a", prefix);
    await quarantine(a);
    await waitUntilHeldFor(prefix, 1);
    expect(cniError(await a.status()).code).toBe(50); // exhausted while the hold lasts
    cniOk(await a.status({ ipam: { conflictHoldSeconds: 1 } })); // ready: the next ADD frees it
    expect(cniError(await a.add("other")).code).toBe(101); // the default hold, 600 s, is not over
    expect(addressesOf(cniOk(await a.add("other", { ipam: { conflictHoldSeconds: 1 } })))).toEqual([ADDRESS]);
    expect(await etcd.cluster.listPrefix(`${prefix}/conflicts/`)).toEqual({});
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 1, claims: 1 });

    cniOk(await a.del("other", { top: reporting([{ ip: ADDRESS, mac: "" }]) }));
    await waitUntilHeldFor(prefix, 1);
    cniOk(await a.gc());
    expect(await etcd.cluster.get(conflictKey(prefix))).toBeDefined();
    cniOk(await a.gc({ ipam: { conflictHoldSeconds: 1 } }));
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 0, claims: 0 });
    expect(await etcd.cluster.listPrefix(`${prefix}/conflicts/`)).toEqual({});
  });

  it("malformed conflicts are code 7 and change nothing", async () => {
    const prefix = newPrefix();
    const a = await node("bad-a", prefix);
    cniOk(await a.add("pod"));
    const before = await etcd.cluster.listPrefix(`${prefix}/`);
    const err = cniError(await a.del("pod", { top: reporting([{ ip: `${ADDRESS}/24`, mac: MAC }]) }));
    expect(err.code).toBe(7);
    expect(await etcd.cluster.listPrefix(`${prefix}/`)).toEqual(before);
  });
});
