// What `store check` reports, from what one pass over the store found
// (scan.ts reads it): records cross-checked against claims. Pure.
import { keptBy, type AttachmentRecord, type ClaimRecord, type ConflictRecord } from "./records";

export type ProblemKind =
  | "damaged-record"
  | "damaged-claim"
  | "damaged-conflict"
  | "conflict-not-held"
  | "unexpected-entry"
  | "claim-without-record"
  | "claim-not-listed"
  | "address-not-held"
  | "stray-temp-file"
  | "empty-directory"
  | "permissions";

export interface Problem {
  kind: ProblemKind;
  /** Relative to dataDir. */
  path: string;
  message: string;
}

/** "containerID/ifname" */
export type RecordKey = string;
export const keyOf = (o: { containerID: string; ifname: string }): RecordKey => `${o.containerID}/${o.ifname}`;

export interface DamagedEntry {
  file: string;
  why: string;
}

/** Everything one pass over the store found. Paths are absolute. */
export interface StoreScan {
  root: string;
  records: Map<RecordKey, { record: AttachmentRecord; file: string }>;
  damagedRecords: Map<RecordKey, DamagedEntry & { containerID: string; ifname: string }>;
  claims: Map<string, { claim: ClaimRecord; file: string }>;
  /** Claim files that cannot be read as a claim, keyed by address; `isFile` false for a directory, FIFO, link... */
  damagedClaims: Map<string, DamagedEntry & { isFile: boolean; isDirectory: boolean }>;
  /** Quarantined addresses (conflicts/<address>). */
  conflicts: Map<string, { conflict: ConflictRecord; file: string }>;
  /** Conflict records that cannot be read, keyed by address (their claims stay in use). */
  damagedConflicts: Map<string, DamagedEntry & { isFile: boolean }>;
  /** Entries the plugin never writes (names, kinds). */
  unexpected: (DamagedEntry & { unreachable?: boolean })[];
  /** Temp files no live writer holds. */
  strays: string[];
  emptyDirs: string[];
  loose: { file: string; mode: number; want: number }[];
  foreign: { file: string; uid: number }[];
  /** Files under damaged/, set aside by earlier repairs. */
  setAside: number;
}

/** `file` relative to `root` ("." for root itself). */
export function relativeTo(root: string, file: string): string {
  if (file === root) return ".";
  const prefix = root.endsWith("/") ? root : `${root}/`;
  return file.startsWith(prefix) ? file.slice(prefix.length) : file;
}

/** Whether a quarantine keeps the claim on `address` (a conflict record that cannot be read keeps it too). */
export function quarantineKeeps(scan: StoreScan, address: string, claim: ClaimRecord): boolean {
  const q = scan.conflicts.get(address);
  return scan.damagedConflicts.has(address) || (q !== undefined && keptBy(claim, q.conflict));
}

/** Conflict records whose claim is gone or another's: they hold nothing (a release of them was killed half-way). */
export function staleConflicts(scan: StoreScan): { address: string; file: string }[] {
  return [...scan.conflicts]
    .filter(([address, { conflict }]) => {
      const claim = scan.claims.get(address);
      return !scan.damagedClaims.has(address) && !(claim && keptBy(claim.claim, conflict));
    })
    .map(([address, { file }]) => ({ address, file }));
}

/** Cross-checks records against claims and returns every problem, in a stable order. */
export function problemsOf(scan: StoreScan): Problem[] {
  const rel = (file: string) => relativeTo(scan.root, file);
  const out: Problem[] = [];
  for (const d of scan.damagedRecords.values()) {
    out.push({ kind: "damaged-record", path: rel(d.file), message: `attachment record cannot be read (${d.why})` });
  }
  for (const [address, d] of scan.damagedClaims) {
    out.push({ kind: "damaged-claim", path: rel(d.file), message: `claim on ${address} cannot be read (${d.why}); the address stays in use` });
  }
  for (const [address, d] of scan.damagedConflicts) {
    out.push({ kind: "damaged-conflict", path: rel(d.file), message: `conflict record of ${address} cannot be read (${d.why}); the address stays in use` });
  }
  for (const { address, file } of staleConflicts(scan)) {
    out.push({ kind: "conflict-not-held", path: rel(file), message: `quarantines ${address}, whose claim is gone or another's: it holds nothing (left by a killed release)` });
  }
  for (const u of scan.unexpected) out.push({ kind: "unexpected-entry", path: rel(u.file), message: u.why });
  for (const [address, { claim, file }] of scan.claims) {
    if (quarantineKeeps(scan, address, claim)) continue; // held by its conflict record, not by an attachment
    const owner = keyOf(claim);
    const record = scan.records.get(owner);
    if (record) {
      if (!record.record.ips.some((e) => e.address === address)) {
        out.push({ kind: "claim-not-listed", path: rel(file), message: `claimed by ${owner}, whose record does not list ${address}` });
      }
    } else if (!scan.damagedRecords.has(owner)) {
      out.push({ kind: "claim-without-record", path: rel(file), message: `claimed by ${owner}, which has no attachment record` });
    }
  }
  for (const { record, file } of scan.records.values()) {
    for (const e of record.ips) {
      const claim = scan.claims.get(e.address);
      if (scan.damagedClaims.has(e.address)) continue; // reported above
      if (!claim) {
        out.push({ kind: "address-not-held", path: rel(file), message: `lists ${e.address}, which nothing claims (left by a killed ADD or DEL)` });
      } else if (keyOf(claim.claim) !== keyOf(record)) {
        out.push({ kind: "address-not-held", path: rel(file), message: `lists ${e.address}, which is claimed by ${keyOf(claim.claim)}` });
      }
    }
  }
  for (const s of scan.strays) out.push({ kind: "stray-temp-file", path: rel(s), message: "temp file of a writer that was killed" });
  for (const d of scan.emptyDirs) out.push({ kind: "empty-directory", path: rel(d), message: "container directory without records" });
  for (const f of scan.foreign) out.push({ kind: "permissions", path: rel(f.file), message: `owned by uid ${f.uid}, not by this user` });
  for (const f of scan.loose) {
    out.push({ kind: "permissions", path: rel(f.file), message: `mode ${f.mode.toString(8)}, expected ${f.want.toString(8)}` });
  }
  return out;
}

/** Prefix of the container ID of records repair makes to keep addresses whose owner it cannot tell. */
export const HELD_PREFIX = "repair-held-";

/** Quarantined addresses, one line each (not problems: they end by themselves). */
export function conflictNotices(scan: StoreScan): string[] {
  return [...scan.conflicts]
    .filter(([address, { conflict }]) => {
      const claim = scan.claims.get(address)?.claim;
      return claim !== undefined && keptBy(claim, conflict);
    })
    .map(
      ([address, { conflict: c }]) =>
        `${address} (pool ${c.pool}) quarantined since ${c.detected}: ${c.mac ? `${c.mac} answered for it` : "another host answered for it"} when ${keyOf(c)} probed it ` +
        "(freed once ipam.conflictHoldSeconds have passed, or by `spiderpool-ipam release --conflicts`)",
    );
}

/** Records held by repair for addresses whose owner could not be told. */
export function heldNotices(scan: StoreScan): string[] {
  return [...scan.records.values()]
    .filter(({ record }) => record.containerID.startsWith(HELD_PREFIX))
    .map(
      ({ record }) =>
        `${record.ips.map((e) => e.address).join(", ")} held by ${keyOf(record)} (set by store repair, owner unknown): ` +
        `free with \`spiderpool-ipam release --container-id ${record.containerID}\` once no pod uses it`,
    );
}

/** A scan that found nothing yet (of a store under `root`). */
export function emptyScan(root: string): StoreScan {
  return {
    root,
    records: new Map(),
    damagedRecords: new Map(),
    claims: new Map(),
    damagedClaims: new Map(),
    conflicts: new Map(),
    damagedConflicts: new Map(),
    unexpected: [],
    strays: [],
    emptyDirs: [],
    loose: [],
    foreign: [],
    setAside: 0,
  };
}
