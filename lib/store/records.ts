// What the store keeps on disk, and how a damaged file is told apart from a
// missing one: damage is reported (code 5, file named), never reset, because a
// reset would hand addresses out twice.
import { CniError, ErrorCode } from "../cni/errors";
import { formatIP, parseIP, type Family } from "../ip/address";
import type { PodRef } from "../ipam/request";
import { isDigits, isDnsSubdomainName, isLowerHex } from "../text";

/** One attachment: a container's interface and the addresses it holds. */
export interface AttachmentRecord {
  containerID: string;
  ifname: string;
  network: string;
  pod: PodRef;
  ips: RecordedIP[];
  created: string;
}

/**
 * One address of an attachment. `ordinal` (its position among the pool's
 * usable addresses, decimal) and `fingerprint` (of the pool's usable set
 * then) let DEL lower the pool's hint without loading the pools; without
 * them (an address outside its pool's usable set, a record repair rebuilt
 * from claims) DEL loads the pools.
 */
export interface RecordedIP {
  pool: string;
  address: string;
  family: Family;
  ordinal?: string;
  fingerprint?: string;
}

/** The claim on one address; the file's existence is what makes it used. */
export interface ClaimRecord {
  containerID: string;
  ifname: string;
  network: string;
  pool: string;
  pod: PodRef;
  created: string;
}

/** A store file that does not parse as what its place says; `reason` is the short why (for `store check`). */
export class StoreDamage extends CniError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(
      ErrorCode.IoFailure,
      `store file ${file} is damaged (${reason}); it is left as is so that no address is given twice: ` +
        "run `spiderpool-ipam store check` to list the damage and `spiderpool-ipam store repair` to set damaged files aside " +
        "and rebuild what their neighbours prove (see README, \"The store\")",
    );
  }
}

export function damaged(file: string, why: string): CniError {
  return new StoreDamage(file, why);
}

const isStr = (v: unknown): v is string => typeof v === "string";

/**
 * The format of records and claims this build writes and reads, stored in
 * each as `"v"`. A file of another version is damage to this build (code 5,
 * explained), never guessed at.
 */
export const RECORD_FORMAT_VERSION = 1;

/** An attachment record's file contents. */
export function encodeAttachment(record: AttachmentRecord): string {
  return JSON.stringify({ v: RECORD_FORMAT_VERSION, ...record }) + "\n";
}

/** The claim file of one address of `owner` (a record, or a record without its addresses), from `pool`. */
export function encodeClaim(owner: Omit<AttachmentRecord, "ips">, pool: string): string {
  const claim: ClaimRecord = {
    containerID: owner.containerID,
    ifname: owner.ifname,
    network: owner.network,
    pool,
    pod: owner.pod,
    created: owner.created,
  };
  return JSON.stringify({ v: RECORD_FORMAT_VERSION, ...claim }) + "\n";
}

/** The canonical text of an address (what claim files are named), or undefined. */
export function canonicalAddress(text: string): string | undefined {
  const ip = parseIP(text);
  return ip && formatIP(ip) === text ? text : undefined;
}

const isPod = (v: unknown): v is PodRef => typeof v === "object" && v !== null && !Array.isArray(v);

function parseObject(text: string, file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw damaged(file, text.length === 0 ? "empty" : "not valid JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw damaged(file, "not a JSON object");
  const { v: version, ...o } = v as Record<string, unknown>;
  if (version !== RECORD_FORMAT_VERSION) {
    throw damaged(
      file,
      version === undefined
        ? "no format version (\"v\")"
        : `format version ${JSON.stringify(version).slice(0, 40)}, not ${RECORD_FORMAT_VERSION}, the one this build reads`,
    );
  }
  return o;
}

export function parseAttachment(text: string, file: string): AttachmentRecord {
  const o = parseObject(text, file);
  if (!isStr(o.containerID) || !isStr(o.ifname) || !isStr(o.network) || !Array.isArray(o.ips)) {
    throw damaged(file, "missing containerID, ifname, network or ips");
  }
  const seen = new Set<string>();
  for (const ip of o.ips as unknown[]) {
    const e = ip as Record<string, unknown> | null;
    if (!e || typeof e !== "object" || !isStr(e.pool) || !isStr(e.address) || (e.family !== 4 && e.family !== 6)) {
      throw damaged(file, "an entry of ips lacks pool, address or family");
    }
    // Addresses become claim file names: only canonical ones of the stated family.
    if (canonicalAddress(e.address) === undefined || parseIP(e.address)!.family !== e.family) {
      throw damaged(file, `ips holds ${JSON.stringify(e.address.slice(0, 100))}, not a canonical IPv${e.family} address`);
    }
    // A pool name as the schema allows it (DNS-1123), checked without loading the schema.
    if (!isDnsSubdomainName(e.pool)) throw damaged(file, `ips names pool ${JSON.stringify(e.pool.slice(0, 100))}, not a pool name`);
    if (seen.has(e.address)) throw damaged(file, `ips lists ${e.address} twice`);
    seen.add(e.address);
    // Only a hint's inputs: a malformed one is dropped (DEL then loads the pools), never fatal.
    if (e.ordinal !== undefined && !(isStr(e.ordinal) && e.ordinal.length <= 40 && isDigits(e.ordinal))) delete e.ordinal;
    if (e.fingerprint !== undefined && !(isStr(e.fingerprint) && isLowerHex(e.fingerprint, 16))) delete e.fingerprint;
  }
  if (!isPod(o.pod)) throw damaged(file, "pod is missing or not an object");
  if (!isStr(o.created)) throw damaged(file, "created is missing");
  return o as unknown as AttachmentRecord;
}

export function parseClaim(text: string, file: string): ClaimRecord {
  const o = parseObject(text, file);
  if (!isStr(o.containerID) || !isStr(o.ifname) || !isStr(o.network) || !isStr(o.pool) || !isStr(o.created)) {
    throw damaged(file, "missing containerID, ifname, network, pool or created");
  }
  if (!isPod(o.pod)) throw damaged(file, "pod is missing or not an object");
  return o as unknown as ClaimRecord;
}

/**
 * A quarantined address (`conflicts/<address>`): another host answered for it
 * when ipvlan-attach probed it, and the claim on it is kept (as the attachment
 * that hit the conflict wrote it) until the hold is over or a person frees it.
 * The owner fields and `created` are the claim's: a claim that no longer
 * matches them is not this quarantine's, and the record then holds nothing.
 */
export interface ConflictRecord extends ClaimRecord {
  address: string;
  family: Family;
  /** Where the address sits in its pool and the pool's fingerprint then (the hint is lowered when it is freed). */
  ordinal?: string;
  fingerprint?: string;
  /** Who answered for the address ("" when unknown). */
  mac: string;
  /** When the conflict was reported (ISO time): the hold counts from it. */
  detected: string;
}

export function encodeConflict(conflict: ConflictRecord): string {
  return JSON.stringify({ v: RECORD_FORMAT_VERSION, ...conflict }) + "\n";
}

/** Whether `claim` is the one a quarantine keeps (the same owner and the same ADD). */
export const keptBy = (claim: ClaimRecord, conflict: ConflictRecord): boolean =>
  claim.containerID === conflict.containerID && claim.ifname === conflict.ifname && claim.created === conflict.created && claim.pool === conflict.pool;

export function parseConflict(text: string, file: string, address: string): ConflictRecord {
  const o = parseClaim(text, file) as unknown as Record<string, unknown>;
  if (o.address !== address) throw damaged(file, `it names ${JSON.stringify(String(o.address).slice(0, 100))}, not the address its path names`);
  if (parseIP(address)?.family !== o.family) throw damaged(file, "family is not the address's");
  if (!isStr(o.mac) || !isStr(o.detected) || Number.isNaN(Date.parse(o.detected))) throw damaged(file, "missing mac, or detected is not a time");
  if (!isDnsSubdomainName(o.pool as string)) throw damaged(file, "pool is not a pool name");
  if (o.ordinal !== undefined && !(isStr(o.ordinal) && o.ordinal.length <= 40 && isDigits(o.ordinal))) delete o.ordinal;
  if (o.fingerprint !== undefined && !(isStr(o.fingerprint) && isLowerHex(o.fingerprint, 16))) delete o.fingerprint;
  return o as unknown as ConflictRecord;
}
