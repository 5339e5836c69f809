// What `store check` reports, from what one pass over the store found
// (scan.ts reads it): records cross-checked against claims. Pure.
import type { AttachmentRecord, ClaimRecord } from "./records";

export type ProblemKind =
  | "damaged-record"
  | "damaged-claim"
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
  for (const u of scan.unexpected) out.push({ kind: "unexpected-entry", path: rel(u.file), message: u.why });
  for (const [address, { claim, file }] of scan.claims) {
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
    unexpected: [],
    strays: [],
    emptyDirs: [],
    loose: [],
    foreign: [],
    setAside: 0,
  };
}
