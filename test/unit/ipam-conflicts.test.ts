// The pure parts of the quarantine: the conflicts a DEL is told of, when a
// hold is over, the setting, and how store check and repair see quarantines.
import { describe, expect, it } from "vitest";
import { CniError } from "../../lib/cni/errors";
import type { NetConf } from "../../lib/cni/skel";
import { quarantineOver, readReportedConflicts } from "../../lib/ipam/conflicts";
import { parseIpamConfig } from "../../lib/ipam/config";
import { storeLayout } from "../../lib/store/layout";
import { emptyScan, problemsOf, type StoreScan } from "../../lib/store/problems";
import type { ClaimRecord, ConflictRecord } from "../../lib/store/records";
import { planRepair } from "../../lib/store/repair";

const conf = (args: unknown): NetConf => ({ cniVersion: "1.0.0", name: "net", type: "ipvlan", ipam: { type: "spiderpool-ipam", nodeName: "n" }, args });
const codeOf = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (e) {
    return (e as CniError).code;
  }
  return undefined;
};

describe("readReportedConflicts", () => {
  it("reads canonical addresses and lower-case MACs; no args, no spiderpool, no conflicts: none", () => {
    expect(readReportedConflicts(conf({ spiderpool: { conflicts: [{ ip: "172.31.28.16", mac: "0A:1B:2C:3D:4E:5F" }, { ip: "2406:DA1E:0::1", mac: "" }] } }))).toEqual([
      { address: "172.31.28.16", mac: "0a:1b:2c:3d:4e:5f" },
      { address: "2406:da1e::1", mac: "" },
    ]);
    for (const args of [undefined, null, {}, { cni: { ips: ["1.2.3.4"] } }, { spiderpool: {} }, { spiderpool: { conflicts: [] } }]) {
      expect(readReportedConflicts(conf(args))).toEqual([]);
    }
  });

  it("anything malformed is code 7", () => {
    for (const spiderpool of [
      "x",
      { conflicts: {} },
      { conflicts: [{ ip: "1.2.3.4/32", mac: "" }] },
      { conflicts: [{ ip: 4, mac: "" }] },
      { conflicts: [{ ip: "1.2.3.4", mac: "0a-1b-2c-3d-4e-5f" }] },
      { conflicts: [{ ip: "1.2.3.4", mac: "" }, { ip: "1.2.3.4", mac: "" }] },
      { conflicts: [{ ip: "1.2.3.4", mac: "", extra: 1 }] },
    ]) {
      expect(codeOf(() => readReportedConflicts(conf({ spiderpool }))), JSON.stringify(spiderpool)).toBe(7);
    }
  });
});

describe("quarantineOver", () => {
  const detected = "2026-01-01T00:00:00.000Z";
  const at = (iso: string, holdSeconds: number) => quarantineOver(detected, { holdSeconds, now: new Date(iso) });
  it("is over once holdSeconds have passed since detection, not before; 0 is over at once", () => {
    expect(at("2026-01-01T00:09:59.999Z", 600)).toBe(false);
    expect(at("2026-01-01T00:10:00.000Z", 600)).toBe(true);
    expect(at(detected, 0)).toBe(true);
  });
});

describe("ipam.conflictHoldSeconds", () => {
  const parse = (v: unknown) => parseIpamConfig({ ...conf(undefined), ipam: { type: "spiderpool-ipam", nodeName: "n", conflictHoldSeconds: v } }, {}, () => "h");
  it("defaults to 600, takes 0..604800, refuses the rest with code 7", () => {
    expect(parse(undefined).conflictHoldSeconds).toBe(600);
    expect(parse(0).conflictHoldSeconds).toBe(0);
    expect(parse(604_800).conflictHoldSeconds).toBe(604_800);
    for (const v of [-1, 604_801, 2.5, "10", true]) expect(codeOf(() => parse(v)), String(v)).toBe(7);
  });
});

describe("store check and repair see quarantines", () => {
  const l = storeLayout("/data");
  const claim: ClaimRecord = { containerID: "c1", ifname: "eth0", network: "net", pool: "p4", pod: {}, created: "2026-01-01T00:00:00.000Z" };
  const conflict: ConflictRecord = { ...claim, address: "10.0.0.1", family: 4, mac: "", detected: "2026-01-01T00:01:00.000Z" };
  const scan = (extra: Partial<StoreScan>): StoreScan => ({ ...emptyScan(l.root), ...extra });

  it("a claim kept by its conflict record is no problem; a conflict record whose claim is someone else's holds nothing", () => {
    const kept = scan({ claims: new Map([["10.0.0.1", { claim, file: `${l.claims}/10.0.0.1` }]]), conflicts: new Map([["10.0.0.1", { conflict, file: `${l.conflicts}/10.0.0.1` }]]) });
    expect(problemsOf(kept)).toEqual([]);
    expect(planRepair(kept, l, undefined, "s", "now").actions).toEqual([]);
    // The address was freed and taken again by c2 (a release killed between its two steps).
    const taken = { ...claim, containerID: "c2" };
    const stale = scan({ ...kept, claims: new Map([["10.0.0.1", { claim: taken, file: `${l.claims}/10.0.0.1` }]]) });
    expect(problemsOf(stale).map((p) => p.kind)).toEqual(["conflict-not-held", "claim-without-record"]);
    expect(planRepair(stale, l, undefined, "s", "now").actions.map((a) => a.kind)).toEqual(["restore-record", "set-aside"]);
  });

  it("a damaged conflict record keeps its claim and is rebuilt from it, unless the claim's attachment still lists the address", () => {
    const damaged = scan({
      claims: new Map([["10.0.0.1", { claim, file: `${l.claims}/10.0.0.1` }]]),
      damagedConflicts: new Map([["10.0.0.1", { file: `${l.conflicts}/10.0.0.1`, why: "not valid JSON", isFile: true }]]),
    });
    expect(problemsOf(damaged).map((p) => p.kind)).toEqual(["damaged-conflict"]);
    const [action] = planRepair(damaged, l, undefined, "s", "now").actions;
    expect(action).toMatchObject({ kind: "rewrite-conflict", conflict: { ...claim, address: "10.0.0.1", family: 4, mac: "", detected: "now" } });
    const listed = scan({
      ...damaged,
      records: new Map([["c1/eth0", { record: { ...claim, ips: [{ pool: "p4", address: "10.0.0.1", family: 4 }] }, file: `${l.attachments}/c1/eth0` }]]),
    });
    expect(planRepair(listed, l, undefined, "s", "now").actions.map((a) => a.kind)).toEqual(["set-aside"]);
  });
});
