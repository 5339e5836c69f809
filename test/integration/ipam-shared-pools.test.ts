// A pool several nodes may use, with the local store: each node's files know
// only that node's allocations, so serving such a pool would hand one address
// to a pod on each node. The local store refuses it (code 7, nothing written)
// unless the configuration says the cluster is one node.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { cniError, cniOk, describeRun } from "../helpers/cni";
import { addressesOf, IpamSandbox, poolYaml, useIpamSandbox } from "./ipam-harness";

let box: IpamSandbox;
const tmp = useIpamSandbox((b) => (box = b));

/** The store as a user who configured nothing gets it. */
const defaultStore = { store: null };
const shared = (extra: Record<string, unknown> = {}) =>
  poolYaml("shared-v4", { subnet: "10.250.0.0/24", ips: ["10.250.0.10-10.250.0.20"], default: true, ...extra });

beforeEach(async () => {
  await rm(join(box.poolDir, "seed-pools.yaml")); // only the pools of each test
});

describe("the local store and pools several nodes may use", () => {
  it("refuses a pool without nodeName with code 7 naming the pool, the reason and the fixes, and writes nothing", async () => {
    await box.writePoolFile("shared.yaml", shared());
    const err = cniError(await box.add("c1", { ipam: defaultStore }));
    expect(err.code).toBe(7);
    expect(err.msg).toContain("pool shared-v4");
    expect(err.msg).toContain("no spec.nodeName");
    expect(err.msg).toContain("spec.nodeName: [master]");
    expect(err.msg).toContain('"etcd"');
    expect(await box.claims()).toEqual([]);
    expect(await box.attachments()).toEqual([]);
  });

  it("refuses a pool naming another node too, and one chosen by nodeAffinity", async () => {
    await box.writePoolFile("shared.yaml", shared({ nodeName: ["master", "worker1"] }));
    const two = cniError(await box.add("c1", { ipam: defaultStore }));
    expect(two.code).toBe(7);
    expect(two.msg).toContain("names several nodes (master, worker1)");

    await box.writePoolFile("shared.yaml", shared({ nodeAffinity: { matchLabels: { zone: "a" } } }));
    const affinity = cniError(await box.add("c2", { ipam: { ...defaultStore, nodeLabels: { zone: "a" } } }));
    expect(affinity.code).toBe(7);
    expect(affinity.msg).toContain("nodeAffinity");
    expect(await box.claims()).toEqual([]);
  });

  it("never gives one address to two nodes: both refuse, where each used to answer 10.250.0.10", async () => {
    await box.writePoolFile("shared.yaml", shared());
    const other = await IpamSandbox.create(tmp, { seed: false });
    await other.writePoolFile("shared.yaml", shared());
    const a = await box.add("pod-a", { node: "node-a", ipam: defaultStore });
    const b = await other.add("pod-b", { node: "node-b", ipam: defaultStore });
    expect(cniError(a).code).toBe(7);
    expect(cniError(b).code).toBe(7);
  });

  it("serves a pool pinned to this node alone", async () => {
    await box.writePoolFile("pinned.yaml", shared({ nodeName: ["master"] }));
    expect(addressesOf(cniOk(await box.add("c1", { ipam: defaultStore })))).toEqual(["10.250.0.10"]);
  });

  it('serves a shared pool with sharedPools "allow" (a one-node cluster)', async () => {
    await box.writePoolFile("shared.yaml", shared());
    const out = await box.add("c1", { ipam: { store: { type: "local", sharedPools: "allow" } } });
    expect(addressesOf(cniOk(out))).toEqual(["10.250.0.10"]);
  });

  it("STATUS fails with code 50 saying why the shared pool is unusable", async () => {
    await box.writePoolFile("shared.yaml", shared());
    const err = cniError(await box.status({ ipam: defaultStore }));
    expect(err.code).toBe(50);
    expect(err.msg).toContain("shared-v4");
    expect(err.msg).toContain("local store");
  });

  it("refuses bad store settings with code 7 or 2", async () => {
    await box.writePoolFile("pinned.yaml", shared({ nodeName: ["master"] }));
    expect(cniError(await box.add("c1", { ipam: { store: { type: "local", sharedPools: "yes" } } })).code).toBe(7);
    expect(cniError(await box.add("c1", { ipam: { store: { type: "zookeeper" } } })).code).toBe(7);
    expect(cniError(await box.add("c1", { ipam: { store: { type: "etcd", endpoints: [] } } })).code).toBe(7);
    expect(cniError(await box.add("c1", { ipam: { store: { type: "etcd", endpoints: ["ftp://x:1"] } } })).code).toBe(7);
    expect(cniError(await box.add("c1", { ipam: { store: { type: "local", colour: "red" } } })).code).toBe(2);
  });
});

describe("the CLI marks shared pools", () => {
  it("validate names the reason; pools shows SHARED", async () => {
    const file = await box.writePoolFile("shared.yaml", shared());
    const pinned = await box.writePoolFile("pinned.yaml", poolYaml("pinned-v4", { subnet: "10.251.0.0/24", ips: ["10.251.0.10"], nodeName: ["master"] }));
    const v = await box.cli(["validate", file, pinned]);
    expect(v.code, describeRun(v)).toBe(0);
    expect(v.stdout).toMatch(/ok {2}shared-v4 .*shared: it has no spec\.nodeName/);
    expect(v.stdout).toMatch(/ok {2}pinned-v4 [^\n]*\(\S+\)\n/);
    const p = await box.cli(["pools", "-o", "json", ...box.dirArgs(), "--node", "master"]);
    expect(p.code, describeRun(p)).toBe(0);
    const rows = (JSON.parse(p.stdout) as { pools: { name: string; shared: string | null }[] }).pools;
    expect(rows.find((r) => r.name === "shared-v4")?.shared).toContain("no spec.nodeName");
    expect(rows.find((r) => r.name === "pinned-v4")?.shared).toBeNull();
    const table = await box.cli(["pools", ...box.dirArgs(), "--node", "master"]);
    expect(table.stdout).toMatch(/shared-v4 .*REFUSED \(local store\)/);
  });
});
