// Quarantined addresses in the local store, under the built binary: the DEL of
// ipvlan-attach's rollback names the addresses another host answered for
// (args.spiderpool.conflicts); they stay held for ipam.conflictHoldSeconds so
// that the runtime's retried ADD gets another one. The etcd store's side:
// ipam-conflicts-etcd.test.ts.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cniError, cniOk, describeRun, type ProcessOutput } from "../helpers/cni";
import { pollUntil } from "../helpers/process";
import { addressesOf, useIpamSandbox, type IpamSandbox } from "./ipam-harness";

let box: IpamSandbox;
useIpamSandbox((b) => (box = b));

const V4 = ["172.31.28.16", "172.31.28.17"] as const;
const V6 = "2406:da1e:c4:ed01:c57d::";
const MAC = "0a:1b:2c:3d:4e:5f";

/** The top-level keys of a DEL whose rollback reports these conflicts. */
const reporting = (conflicts: unknown) => ({ top: { args: { spiderpool: { conflicts } } } });

const conflictFile = (address: string) => join(box.dataDir, "conflicts", address);
const conflictRecord = async (address: string) => JSON.parse(await readFile(conflictFile(address), "utf8")) as Record<string, unknown>;

async function quarantineFirstV4(id = "c1"): Promise<void> {
  expect(addressesOf(cniOk(await box.add(id)))).toEqual([V4[0], V6]);
  const out = await box.del(id, reporting([{ ip: V4[0], mac: MAC }]));
  expect(out.code, describeRun(out)).toBe(0);
  expect(await box.claims()).toEqual([V4[0]]);
}

/** Waits on the clock (not a sleep) until `seconds` have passed since the quarantine of `address` began. */
async function waitUntilHeldFor(address: string, seconds: number): Promise<void> {
  const since = Date.parse(String((await conflictRecord(address)).detected));
  await pollUntil(async () => (Date.now() - since >= seconds * 1000 ? true : undefined), seconds * 1000 + 5000, () => `clock at ${new Date().toISOString()}`);
}

async function poolsJson(): Promise<Record<string, { allocated: number; conflicts: number }>> {
  const out = await box.cli(["pools", "-o", "json", ...box.dirArgs(), "--node", "master"]);
  expect(out.code, describeRun(out)).toBe(0);
  const rows = (JSON.parse(out.stdout) as { pools: { name: string; allocated: number; conflicts: number }[] }).pools;
  return Object.fromEntries(rows.map((r) => [r.name, { allocated: r.allocated, conflicts: r.conflicts }]));
}

async function storeCheck(): Promise<ProcessOutput> {
  return box.cli(["store", "check", "--data-dir", box.dataDir]);
}

describe("DEL with args.spiderpool.conflicts", () => {
  it("quarantines exactly the listed addresses the attachment holds, frees the rest, and the retried ADD gets another address", async () => {
    cniOk(await box.add("c1"));
    const del = await box.del("c1", reporting([{ ip: V4[0], mac: MAC.toUpperCase() }, { ip: "172.31.28.30", mac: "" }]));
    expect(del.code, describeRun(del)).toBe(0);
    // The address it does not hold is named in a warning, and left alone.
    expect(del.stderr).toMatch(/warning: conflicts reported on 172\.31\.28\.30, which container c1 interface eth0 does not hold/);
    expect(await box.claims()).toEqual([V4[0]]);
    expect(await box.attachments()).toEqual([]);
    const record = await conflictRecord(V4[0]);
    expect(record).toMatchObject({ address: V4[0], pool: "master-v4", mac: MAC, containerID: "c1", ifname: "eth0", network: "ipvlan-ens5" });
    expect(Number.isNaN(Date.parse(String(record.detected)))).toBe(false);

    // The runtime retries the pod: the IPv4 address is another, the IPv6 one (released) comes back.
    expect(addressesOf(cniOk(await box.add("c1")))).toEqual([V4[1], V6]);
    expect(await poolsJson()).toMatchObject({ "master-v4": { allocated: 2, conflicts: 1 }, "master-v6": { allocated: 1, conflicts: 0 } });
    const table = await box.cli(["pools", ...box.dirArgs(), "--node", "master"]);
    expect(table.stdout).toMatch(/^NAME +VERSION +SUBNET +ALLOCATED +CONFLICTS +TOTAL/);
    expect(table.stdout).toMatch(/\nmaster-v4 +4 +172\.31\.16\.0\/20 +2 +1 +16 /);
    const metrics = await box.cli(["metrics", ...box.dirArgs(), "--node", "master"]);
    expect(metrics.stdout).toContain('spiderpool_ippool_conflict_ips{pool="master-v4",ipversion="4",node="master"} 1');

    const check = await storeCheck();
    expect(check.code, describeRun(check)).toBe(0);
    expect(check.stdout).toContain(`note: ${V4[0]} (pool master-v4) quarantined since`);

    // A later DEL of the same interface frees what it holds now, never the quarantined address.
    cniOk(await box.del("c1"));
    expect(await box.claims()).toEqual([V4[0]]);
  });

  it("is idempotent: a repeated DEL with the same conflicts changes nothing and warns of nothing", async () => {
    await quarantineFirstV4();
    const before = await readFile(conflictFile(V4[0]), "utf8");
    const again = await box.del("c1", reporting([{ ip: V4[0], mac: MAC }]));
    expect(again.code, describeRun(again)).toBe(0);
    expect(again.stderr).not.toContain("warning");
    expect(await readFile(conflictFile(V4[0]), "utf8")).toBe(before);
    expect(await box.claims()).toEqual([V4[0]]);
  });

  it("quarantines both families when both are listed (IPv6 DAD names no MAC)", async () => {
    cniOk(await box.add("c1"));
    cniOk(await box.del("c1", reporting([{ ip: V4[0], mac: MAC }, { ip: "2406:da1e:c4:ed01:c57d:0:0:0", mac: "" }])));
    expect(await box.claims()).toEqual([V4[0], V6]);
    expect((await conflictRecord(V6)).mac).toBe("");
    expect(addressesOf(cniOk(await box.add("c2")))).toEqual([V4[1], "2406:da1e:c4:ed01:c57d::1"]);
  });

  it("a DEL killed after quarantining, before removing the record: the runtime's DEL without conflicts keeps the address quarantined", async () => {
    cniOk(await box.add("c1"));
    const recordFile = join(box.dataDir, "attachments", "c1", "eth0");
    const record = await readFile(recordFile, "utf8");
    cniOk(await box.del("c1", reporting([{ ip: V4[0], mac: MAC }])));
    // What a DEL killed after its claims went, before its record did, leaves: the record is back.
    await mkdir(join(box.dataDir, "attachments", "c1"), { mode: 0o700 });
    await writeFile(recordFile, record, { mode: 0o600 });
    cniOk(await box.del("c1"));
    expect(await box.claims()).toEqual([V4[0]]);
    expect(await box.attachments()).toEqual([]);
    expect((await storeCheck()).code).toBe(0);
  });

  it("conflictHoldSeconds 0: the reported addresses are released as usual", async () => {
    cniOk(await box.add("c1"));
    cniOk(await box.del("c1", { ...reporting([{ ip: V4[0], mac: MAC }]), ipam: { conflictHoldSeconds: 0 } }));
    expect(await box.claims()).toEqual([]);
    expect(addressesOf(cniOk(await box.add("c2")))).toEqual([V4[0], V6]);
  });

  it("malformed conflicts are code 7 and change nothing", async () => {
    cniOk(await box.add("c1"));
    const claims = await box.claims();
    const bad: [unknown, RegExp][] = [
      ["172.31.28.16", /args\.spiderpool\.conflicts must be a list/],
      [[{ ip: "172.31.28.16/20", mac: MAC }], /conflicts\[0\]\.ip must be an IP address without prefix length/],
      [[{ ip: "172.31.28.999", mac: MAC }], /conflicts\[0\]\.ip/],
      [[{ ip: V4[0], mac: "0a:1b:2c" }], /conflicts\[0\]\.mac must be a MAC address/],
      [[{ ip: V4[0] }], /conflicts\[0\]\.mac/],
      [[{ ip: V4[0], mac: MAC, why: "arp" }], /conflicts\[0\] has unknown key "why"/],
      [[{ ip: V4[0], mac: MAC }, { ip: V4[0], mac: "" }], /conflicts\[1\]: 172\.31\.28\.16 is listed twice/],
      [[null], /conflicts\[0\] must be an object/],
    ];
    for (const [conflicts, message] of bad) {
      const err = cniError(await box.del("c1", reporting(conflicts)));
      expect(err.code, JSON.stringify(conflicts)).toBe(7);
      expect(err.msg).toMatch(message);
    }
    const notObject = cniError(await box.del("c1", { top: { args: { spiderpool: [] } } }));
    expect([notObject.code, notObject.msg]).toEqual([7, "args.spiderpool must be an object, got []"]);
    expect(await box.claims()).toEqual(claims);
    expect(await box.attachments()).toEqual(["c1/eth0"]);
  });

  it("ipam.conflictHoldSeconds out of range or not an integer is code 7", async () => {
    for (const v of [-1, 604_801, 1.5, "600"]) {
      const err = cniError(await box.add("c1", { ipam: { conflictHoldSeconds: v } }));
      expect(err.code).toBe(7);
      expect(err.msg).toBe(`ipam.conflictHoldSeconds must be an integer from 0 to 604800, got ${JSON.stringify(v)}`);
    }
    cniOk(await box.add("c1", { ipam: { conflictHoldSeconds: 604_800 } }));
  });
});

describe("the end of a quarantine", () => {
  it("an ADD hands the address out again once conflictHoldSeconds have passed, not before", async () => {
    await quarantineFirstV4();
    expect(addressesOf(cniOk(await box.add("c2")))[0]).toBe(V4[1]); // default hold: 600 s
    await waitUntilHeldFor(V4[0], 1);
    expect(addressesOf(cniOk(await box.add("c3", { ipam: { conflictHoldSeconds: 1 } })))[0]).toBe(V4[0]);
    expect(await box.claims()).toEqual([V4[0], V4[1], V6, "2406:da1e:c4:ed01:c57d::1"]);
    expect((await poolsJson())["master-v4"]!.conflicts).toBe(0);
    expect((await storeCheck()).code).toBe(0);
  });

  it("STATUS: a pool whose only address is quarantined is exhausted (50) until the hold is over, then ready", async () => {
    await box.writePoolFile("seed-pools.yaml", [
      "apiVersion: spiderpool.spidernet.io/v2beta1\nkind: SpiderIPPool\nmetadata:\n  name: one-v4\nspec:\n  subnet: 172.31.16.0/20\n  ips: [172.31.28.16]\n  nodeName: [master]\n",
      "apiVersion: spiderpool.spidernet.io/v2beta1\nkind: SpiderIPPool\nmetadata:\n  name: one-v6\nspec:\n  subnet: 2406:da1e:c4:ed01::/64\n  ips: [\"2406:da1e:c4:ed01:c57d::\"]\n  nodeName: [master]\n",
    ].join("---\n"));
    const holdOneSecond = { ipam: { conflictHoldSeconds: 1, default_ipv4_ippool: ["one-v4"], default_ipv6_ippool: ["one-v6"] } };
    expect(addressesOf(cniOk(await box.add("c1", holdOneSecond)))).toEqual([V4[0], V6]);
    cniOk(await box.del("c1", { ...holdOneSecond, ...reporting([{ ip: V4[0], mac: MAC }]) }));
    const held = await box.status({ ipam: { ...holdOneSecond.ipam, conflictHoldSeconds: 600 } });
    expect(cniError(held).code, describeRun(held)).toBe(50);
    expect(cniError(held).msg).toContain("all IPv4 pools for node master are exhausted: one-v4");

    await waitUntilHeldFor(V4[0], 1);
    cniOk(await box.status(holdOneSecond));
    expect(addressesOf(cniOk(await box.add("c2", holdOneSecond)))).toEqual([V4[0], V6]);
  });

  it("release --conflicts frees at once: by address, by pool, all; others are left and named", async () => {
    cniOk(await box.add("c1"));
    cniOk(await box.del("c1", reporting([{ ip: V4[0], mac: MAC }, { ip: V6, mac: "" }])));
    const none = await box.cli(["release", "--conflicts", "--pool", "worker1-v4", ...box.dirArgs()]);
    expect([none.code, none.stdout]).toEqual([0, "no quarantined addresses in pool worker1-v4\n"]);
    const notQuarantined = await box.cli(["release", "--conflicts", "172.31.28.30", ...box.dirArgs()]);
    expect([notQuarantined.code, notQuarantined.stdout]).toEqual([0, "172.31.28.30 is not quarantined\n"]);
    expect(await box.claims()).toEqual([V4[0], V6]);

    const one = await box.cli(["release", "--conflicts", "--pool", "master-v4", ...box.dirArgs()]);
    expect(one.code, describeRun(one)).toBe(0);
    expect(one.stdout).toMatch(new RegExp(`^released quarantined ${V4[0].replace(/\./g, "\\.")} \\(master-v4\\): ${MAC} answered for it when c1/eth0 probed it at \\S+\\n$`));
    expect(await box.claims()).toEqual([V6]);
    expect(addressesOf(cniOk(await box.add("c2")))[0]).toBe(V4[0]);

    const rest = await box.cli(["release", "--conflicts", ...box.dirArgs()]);
    expect(rest.stdout).toContain(`released quarantined ${V6} (master-v6): another host answered for it`);
    expect(await box.claims()).toEqual([V4[0], "2406:da1e:c4:ed01:c57d::1"]);
    const bad = await box.cli(["release", "--conflicts", "not-an-ip", ...box.dirArgs()]);
    expect([bad.code, bad.stderr]).toEqual([1, 'error: release --conflicts: "not-an-ip" is not an IP address\n']);
    expect((await storeCheck()).code).toBe(0);
  });

  it("GC keeps a quarantined address until its hold is over, then frees it", async () => {
    await quarantineFirstV4();
    cniOk(await box.gc([]));
    expect(await box.claims()).toEqual([V4[0]]);
    await waitUntilHeldFor(V4[0], 1);
    cniOk(await box.gc([], { name: "other-net", ipam: { conflictHoldSeconds: 1 } })); // another network's GC leaves it
    expect(await box.claims()).toEqual([V4[0]]);
    cniOk(await box.gc([], { ipam: { conflictHoldSeconds: 1 } }));
    expect(await box.claims()).toEqual([]);
    expect((await storeCheck()).code).toBe(0);
  });
});

describe("store check and repair with quarantines", () => {
  it("a conflict record whose claim is gone is reported and set aside; a damaged one is rebuilt from the claim it keeps", async () => {
    cniOk(await box.add("c1"));
    cniOk(await box.del("c1", reporting([{ ip: V4[0], mac: MAC }, { ip: V6, mac: "" }])));
    await rm(join(box.dataDir, "ips", V6)); // as a release --conflicts killed between its two steps leaves it
    await writeFile(conflictFile(V4[0]), "{garbled", { mode: 0o600 });
    const check = await storeCheck();
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`damaged-conflict  conflicts/${V4[0]}  conflict record of ${V4[0]} cannot be read (not valid JSON); the address stays in use`);
    expect(check.stdout).toContain(`conflict-not-held  conflicts/${V6}  quarantines ${V6}, whose claim is gone or another's`);
    expect(check.stdout).not.toContain("claim-without-record");
    // The damaged record keeps its claim through GC and DEL of its old owner.
    cniOk(await box.gc([]));
    cniOk(await box.del("c1"));
    expect(await box.claims()).toEqual([V4[0]]);

    const repair = await box.cli(["store", "repair", ...box.dirArgs()]);
    expect(repair.code, describeRun(repair)).toBe(0);
    expect(repair.stdout).toContain(`done: rebuild conflicts/${V4[0]} (not valid JSON) from the claim it keeps (c1/eth0)`);
    expect(repair.stdout).toContain(`done: set aside conflicts/${V6} -> damaged/`);
    expect((await storeCheck()).code).toBe(0);
    expect(await conflictRecord(V4[0])).toMatchObject({ address: V4[0], containerID: "c1", mac: "" });
    expect(await box.claims()).toEqual([V4[0]]);
  });
});
