// Reading the whole store for `store check` and `store repair`: one pass over
// its directories (scanStore, the disk part), then a cross-check of records
// against claims (problemsOf, pure). Nothing here writes.
import { isValidContainerId } from "../cni/env";
import { CniError } from "../cni/errors";
import { fileKind, isMissing, listDirIfExists, lstatPath, O_NOFOLLOW, readTextIfExists, type FileStat } from "../sys/fs";
import { joinPath as join } from "../sys/path";
import { isAbandoned } from "./atomic";
import { TEMP_PREFIX, type StoreLayout } from "./layout";
import { canonicalAddress, parseClaim, StoreDamage, type AttachmentRecord, type ClaimRecord } from "./records";
import { readAttachmentAt } from "./store";

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
  unexpected: DamagedEntry[];
  /** Temp files no live writer holds. */
  strays: string[];
  emptyDirs: string[];
  loose: { file: string; mode: number; want: number }[];
  foreign: { file: string; uid: number }[];
  /** Files under damaged/, set aside by earlier repairs. */
  setAside: number;
}

/** The reason parse* gave, without the advice around it. */
const reasonOf = (e: unknown) => (e instanceof StoreDamage ? e.reason : e instanceof CniError ? e.message : (e as Error).message);

/** A directory's names, sorted; none when it is not there (or not a directory: reported by its own check). */
const namesIn = (dir: string): string[] => (listDirIfExists(dir, O_NOFOLLOW) ?? []).sort();

function lstatIfExists(path: string): FileStat | undefined {
  try {
    return lstatPath(path);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

/** Reads the whole store (the caller holds the store lock). */
export function scanStore(l: StoreLayout, uid = process.getuid?.()): StoreScan {
  const scan: StoreScan = {
    root: l.root,
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
  const noteMode = (file: string, st: FileStat) => {
    const want = st.isDirectory() ? 0o700 : 0o600;
    if (st.mode & 0o077) scan.loose.push({ file, mode: st.mode & 0o777, want });
    if (uid !== undefined && st.uid !== uid) scan.foreign.push({ file, uid: st.uid });
  };
  const stray = (file: string) => {
    if (isAbandoned(file)) scan.strays.push(file);
  };
  for (const dir of [l.root, l.attachments, l.claims, l.hints, l.cache]) {
    const st = lstatIfExists(dir);
    if (st?.isDirectory()) noteMode(dir, st);
    else if (st) scan.unexpected.push({ file: dir, why: `a ${fileKind(st.mode)}, not a directory` });
  }

  // attachments/<containerID>/<ifname>
  for (const id of namesIn(l.attachments)) {
    const dir = join(l.attachments, id);
    if (id.startsWith(TEMP_PREFIX)) {
      stray(dir);
      continue;
    }
    const st = lstatIfExists(dir);
    if (!st) continue; // gone meanwhile
    if (!st.isDirectory() || id.startsWith(".") || !isValidContainerId(id)) {
      scan.unexpected.push({ file: dir, why: st.isDirectory() ? "not a container ID the plugin accepts" : `a ${fileKind(st.mode)}, not a directory` });
      continue;
    }
    noteMode(dir, st);
    const names = namesIn(dir);
    if (names.length === 0) scan.emptyDirs.push(dir);
    for (const ifname of names) {
      const file = join(dir, ifname);
      if (ifname.startsWith(TEMP_PREFIX)) {
        stray(file);
        continue;
      }
      const fst = lstatIfExists(file);
      if (!fst) continue;
      if (ifname.startsWith(".") || !fst.isFile()) {
        scan.unexpected.push({ file, why: fst.isFile() ? "a hidden name the plugin never writes" : `a ${fileKind(fst.mode)}, not a regular file` });
        continue;
      }
      noteMode(file, fst);
      try {
        const record = readAttachmentAt(readTextIfExists(file, O_NOFOLLOW) ?? "", file, id, ifname);
        scan.records.set(keyOf(record), { record, file });
      } catch (e) {
        scan.damagedRecords.set(`${id}/${ifname}`, { file, why: reasonOf(e), containerID: id, ifname });
      }
    }
  }

  // ips/<address>
  for (const name of namesIn(l.claims)) {
    const file = join(l.claims, name);
    if (name.startsWith(TEMP_PREFIX)) {
      stray(file);
      continue;
    }
    const address = canonicalAddress(name);
    const st = lstatIfExists(file);
    if (!st) continue;
    if (address === undefined) {
      scan.unexpected.push({ file, why: "not the canonical form of an address: the plugin never reads it" });
      continue;
    }
    if (!st.isFile()) {
      // It still makes the address "used" (the plugin tests existence).
      scan.damagedClaims.set(address, { file, why: `a ${fileKind(st.mode)}, not a regular file`, isFile: false, isDirectory: st.isDirectory() });
      continue;
    }
    noteMode(file, st);
    try {
      scan.claims.set(address, { claim: parseClaim(readTextIfExists(file, O_NOFOLLOW) ?? "", file), file });
    } catch (e) {
      scan.damagedClaims.set(address, { file, why: reasonOf(e), isFile: true, isDirectory: false });
    }
  }

  for (const name of namesIn(l.hints)) if (name.startsWith(TEMP_PREFIX)) stray(join(l.hints, name));
  for (const name of namesIn(l.cache)) if (name.startsWith(TEMP_PREFIX)) stray(join(l.cache, name));
  const countFiles = (dir: string): number =>
    namesIn(dir).reduce((n, name) => {
      const p = join(dir, name);
      return n + (lstatIfExists(p)?.isDirectory() ? countFiles(p) : 1);
    }, 0);
  scan.setAside = countFiles(l.damaged);
  return scan;
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
