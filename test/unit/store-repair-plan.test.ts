// The pure halves of `store check` and `store repair`: a scan's findings
// cross-checked into problems, and the repair planned from them, without disk.
import { describe, expect, it } from "vitest";
import { parseIP } from "../../lib/ip/address";
import { storeLayout } from "../../lib/store/layout";
import type { AttachmentRecord, ClaimRecord } from "../../lib/store/records";
import { planRepair } from "../../lib/store/repair";
import { emptyScan, keyOf, problemsOf, type StoreScan } from "../../lib/store/problems";

const l = storeLayout("/data");
const created = "2025-01-01T00:00:00.000Z";

const record = (containerID: string, ...addresses: string[]): AttachmentRecord => ({
  containerID,
  ifname: "eth0",
  network: "net",
  pod: { name: containerID },
  ips: addresses.map((address) => ({ pool: "p4", address, family: 4 })),
  created,
});
const claimOf = (r: AttachmentRecord, pool = "p4"): ClaimRecord => ({ containerID: r.containerID, ifname: r.ifname, network: r.network, pool, pod: r.pod, created: r.created });

function scanOf(records: AttachmentRecord[], claims: [string, ClaimRecord][], extra: Partial<StoreScan> = {}): StoreScan {
  return {
    ...emptyScan(l.root),
    records: new Map(records.map((r) => [keyOf(r), { record: r, file: `${l.attachments}/${r.containerID}/${r.ifname}` }])),
    claims: new Map(claims.map(([address, claim]) => [address, { claim, file: `${l.claims}/${address}` }])),
    ...extra,
  };
}

const usable = [{ family: 4 as const, start: parseIP("10.0.0.0")!.value, end: parseIP("10.0.0.255")!.value }];
const plan = (scan: StoreScan) => planRepair(scan, l, [{ name: "p4", family: 4, usable }], "stamp", created);

describe("problemsOf", () => {
  it("a consistent store has none", () => {
    const a = record("a", "10.0.0.1");
    expect(problemsOf(scanOf([a], [["10.0.0.1", claimOf(a)]]))).toEqual([]);
  });

  it("names each inconsistency with its path relative to dataDir", () => {
    const a = record("a", "10.0.0.1", "10.0.0.2");
    const gone = record("gone", "10.0.0.3");
    const scan = scanOf([a], [["10.0.0.1", claimOf(a)], ["10.0.0.3", claimOf(gone)]], { strays: ["/data/attachments/b/.tmp-claim-1-1"] });
    expect(problemsOf(scan)).toEqual([
      { kind: "claim-without-record", path: "ips/10.0.0.3", message: "claimed by gone/eth0, which has no attachment record" },
      { kind: "address-not-held", path: "attachments/a/eth0", message: "lists 10.0.0.2, which nothing claims (left by a killed ADD or DEL)" },
      { kind: "stray-temp-file", path: "attachments/b/.tmp-claim-1-1", message: "temp file of a writer that was killed" },
    ]);
  });
});

describe("planRepair", () => {
  it("never removes a claim: a claim without its record gets the record back", () => {
    const gone = record("gone", "10.0.0.3");
    const { actions } = plan(scanOf([], [["10.0.0.3", claimOf(gone)]]));
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ kind: "restore-record", record: { containerID: "gone", ips: [{ address: "10.0.0.3", pool: "p4", family: 4 }] } });
  });

  it("a damaged claim listed by one record is rewritten for it; with a damaged record around, it is held instead", () => {
    const a = record("a", "10.0.0.1");
    const damagedClaims = new Map([["10.0.0.1", { file: "/data/ips/10.0.0.1", why: "not valid JSON", isFile: true, isDirectory: false }]]);
    expect(plan(scanOf([a], [], { damagedClaims })).actions).toMatchObject([{ kind: "rewrite-claim", address: "10.0.0.1", owner: a, copyAside: true }]);

    const damagedRecords = new Map([["x/eth0", { file: "/data/attachments/x/eth0", why: "empty", containerID: "x", ifname: "eth0" }]]);
    const held = plan(scanOf([a], [], { damagedClaims, damagedRecords })).actions.find((x) => x.kind === "hold");
    expect(held).toMatchObject({ kind: "hold", record: { containerID: "repair-held-stamp", ips: [{ address: "10.0.0.1", pool: "p4" }] } });
  });

  it("a claim its owner's record does not list is held, with its pool found from the pools", () => {
    const a = record("a", "10.0.0.1");
    const { actions } = plan(scanOf([a], [["10.0.0.1", claimOf(a)], ["10.0.0.9", claimOf(a, "p4")]]));
    expect(actions).toMatchObject([{ kind: "hold", record: { ips: [{ address: "10.0.0.9", pool: "p4" }] }, copyAside: ["10.0.0.9"] }]);
  });

  it("removes only what holds no address: a record holding none of its addresses, temp files, empty directories", () => {
    const a = record("a", "10.0.0.1");
    const b = record("b", "10.0.0.2");
    const scan = scanOf([a, b], [["10.0.0.1", claimOf(a)]], { strays: ["/data/ips/.tmp-x-1-1"], emptyDirs: ["/data/attachments/c"] });
    expect(plan(scan).actions.map((x) => [x.kind, x.text])).toEqual([
      ["set-aside", "set aside attachments/b/eth0 -> damaged/stamp/attachments/b/eth0 (holds none of 10.0.0.2)"],
      ["remove-temp", "remove stray temp file ips/.tmp-x-1-1"],
      ["remove-empty-dir", "remove empty directory attachments/c"],
    ]);
  });

  it("leaves a record holding only some of its addresses to the runtime", () => {
    const a = record("a", "10.0.0.1", "10.0.0.2");
    const { actions, left } = plan(scanOf([a], [["10.0.0.1", claimOf(a)]]));
    expect(actions).toEqual([]);
    expect(left).toEqual(["attachments/a/eth0 holds 10.0.0.1 but not all it lists: left for the runtime's DEL or a retried ADD"]);
  });
});
