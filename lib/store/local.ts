// The local backend of the IPAM store: the files under dataDir (store.ts),
// one node's allocations under one kernel lock. It cannot see other nodes'
// allocations, so it refuses a pool that several nodes may use unless the
// configuration says the cluster is this one node (`sharedPools: "allow"`).
import { CniError, ErrorCode, toCniError } from "../cni/errors";
import { formatIP, parseIP } from "../ip/address";
import { findFree, ordinalOf, planAllocation, type Allocation } from "../ipam/allocate";
import type { Pool } from "../ipam/pool";
import type { Selection } from "../ipam/select";
import { sharingReason } from "../ipam/shared";
import { lockFile } from "../sys/flock";
import { quarantineOver, type QuarantinePolicy } from "../ipam/conflicts";
import {
  attachmentKey, conflictChosen, PoolsChangedError, type AllocationRequest, type AttachmentKey, type ConflictFilter, type ConflictReport, type IpamStore, type QuarantinedAddress,
} from "./backend";
import type { LocalStoreSettings } from "../ipam/store-config";
import { keptBy, type AttachmentRecord, type ConflictRecord, type RecordedIP } from "./records";
import { AllocationStore, discardPrestaged, type StoreTx } from "./store";

export interface LocalStoreOptions {
  dataDir: string;
  lockTimeoutMs: number;
  nodeName: string;
  settings: LocalStoreSettings;
}

export class LocalStore implements IpamStore {
  private constructor(
    private readonly files: AllocationStore,
    private readonly opts: LocalStoreOptions,
  ) {}

  /** Opens (creating as needed) the store under dataDir. */
  static open(opts: LocalStoreOptions): LocalStore {
    const files = AllocationStore.open({
      dataDir: opts.dataDir,
      lockTimeoutMs: opts.lockTimeoutMs,
      acquireLock: (path, timeoutMs) => lockFile(path, { timeoutMs }),
    });
    return new LocalStore(files, opts);
  }

  async allocate({ owner, selection, requested, pools, quarantine, poolsUnchanged }: AllocationRequest): Promise<Allocation[]> {
    if (this.opts.settings.sharedPools !== "allow") refuseSharedPools(selection, this.opts.nodeName);
    const { containerID, ifname } = owner;
    // A repeated ADD (the record exists) needs no new files: nothing to stage.
    const fresh = !this.files.recorded(containerID, ifname);
    const prestaged = fresh ? this.files.prestageClaims(owner, likelyPools(selection)) : new Map();
    let committed = false;
    try {
      return this.files.withLock((tx) => {
        // Pools replaced while we waited (`pools discover` writes under this lock) may lack what we planned with.
        if (poolsUnchanged && !poolsUnchanged()) throw new PoolsChangedError();
        const existing = tx.attachment(containerID, ifname);
        if (existing) {
          const kept = intactAllocations(tx, existing, pools);
          if (kept) return kept;
          releaseRecord(tx, existing, pools); // half-written by a killed ADD: start over
        }
        const candidates = new Set([...selection.v4, ...selection.v6].map((p) => p.name));
        endQuarantines(tx, (c) => candidates.has(c.pool) && quarantineOver(c.detected, quarantine), pools, () => {
          /* a quarantine that cannot be ended now holds its address a while longer: `store check` tells why */
        });
        const planned = planAllocation(selection, (_pool, ip) => tx.isUsed(ip), {
          requested,
          hint: (pool) => tx.hint(pool.name, pool.fingerprint),
        });
        const ips = planned.map(recordedIP);
        tx.commit({ ...owner, ips }, prestaged);
        committed = true;
        planned.forEach((a, i) => {
          // The scan started at the hint, so everything below this ordinal is
          // used; a static request says nothing about the addresses before it.
          const { ordinal, fingerprint } = ips[i]!;
          const wasRequested = requested.some((r) => r.family === a.ip.family && r.value === a.ip.value);
          if (ordinal !== undefined && fingerprint !== undefined && !wasRequested) {
            tx.setHint(a.pool.name, fingerprint, BigInt(ordinal) + 1n);
          }
        });
        return planned;
      });
    } finally {
      discardPrestaged(prestaged);
      // A failed ADD leaves no directory of its own behind (a pool ran out, say).
      if (fresh && !committed) this.files.removeEmptyContainerDir(containerID);
    }
  }

  async release(containerID: string, ifname: string, pools?: Pool[], report?: ConflictReport): Promise<string[]> {
    return this.files.withLock((tx) => {
      const record = tx.attachment(containerID, ifname);
      let quarantined: string[] = [];
      if (record) {
        if (report) {
          const conflicts = conflictRecords(tx, record, report);
          tx.quarantine(conflicts);
          quarantined = conflicts.map((c) => c.address);
        }
        releaseRecord(tx, record, pools);
      } else if (report) {
        // A DEL repeated after it quarantined them: the same answer.
        quarantined = report.conflicts.map((c) => c.address).filter((a) => {
          try {
            const c = tx.conflict(a);
            return c?.containerID === containerID && c.ifname === ifname;
          } catch {
            return false; // damaged: not this DEL's to judge (`store check` lists it)
          }
        });
      }
      tx.tidyContainer(containerID); // what an ADD killed mid-write left there
      return quarantined;
    });
  }

  async verify(containerID: string, ifname: string): Promise<AttachmentRecord> {
    return this.files.withLock((tx) => {
      const record = tx.attachment(containerID, ifname);
      if (!record) throw notRecorded(containerID, ifname);
      for (const entry of record.ips) {
        const owner = tx.claim(entry.address);
        if (!owner || owner.containerID !== containerID || owner.ifname !== ifname) {
          throw notHeld(entry.address, containerID, ifname, owner && `${owner.containerID}/${owner.ifname}`);
        }
      }
      return record;
    });
  }

  async collect(network: string, valid: Set<AttachmentKey>, quarantine: QuarantinePolicy, pools?: Pool[]): Promise<void> {
    const errors: CniError[] = [];
    this.files.withLock((tx) => {
      // Quarantines of this network whose hold is over end; the rest keep their claims.
      endQuarantines(tx, (c) => c.network === network && quarantineOver(c.detected, quarantine), pools, (e) => errors.push(toCniError(e)));
      const quarantines = new Map(tx.listConflicts().map((c) => [c.address, c]));
      const recorded = new Set<AttachmentKey>();
      for (const record of tx.listAttachments()) {
        const key = attachmentKey(record);
        if (record.network !== network || valid.has(key)) {
          recorded.add(key);
          continue;
        }
        try {
          releaseRecord(tx, record, pools);
        } catch (e) {
          errors.push(toCniError(e));
        }
      }
      for (const { address, claim } of tx.listClaims()) {
        if (claim.network !== network) continue;
        const q = quarantines.get(address);
        if (q && (!q.conflict || keptBy(claim, q.conflict))) continue; // quarantined (or its record unreadable: kept)
        const key = attachmentKey(claim);
        // A listed attachment is alive: its address stays claimed even when its
        // record is missing, or GC would hand a live pod's address out again.
        if (!recorded.has(key) && !valid.has(key)) {
          try {
            tx.dropClaim(address);
          } catch (e) {
            errors.push(toCniError(e));
          }
        }
      }
      tx.sweepStrays(); // temp files of writers that were killed
    });
    if (errors.length > 0) throw errors[0]!;
  }

  async hasFree(pools: Pool[], quarantine: QuarantinePolicy): Promise<boolean> {
    return this.files.withLock(
      (tx) =>
        pools.some((p) => findFree(p, (ip) => tx.isUsed(ip), tx.hint(p.name, p.fingerprint)) !== undefined) ||
        tx.listConflicts().some(({ conflict: c }) => c !== undefined && pools.some((p) => p.name === c.pool) && quarantineOver(c.detected, quarantine)),
    );
  }

  async releaseContainer(containerID: string, ifname?: string, pools?: Pool[]): Promise<AttachmentRecord[]> {
    return this.files.withLock((tx) => {
      const records = tx.attachmentsOf(containerID).filter((r) => !ifname || r.ifname === ifname);
      for (const r of records) releaseRecord(tx, r, pools);
      return records;
    });
  }

  async releaseConflicts(filter: ConflictFilter, pools?: Pool[]): Promise<QuarantinedAddress[]> {
    return this.files.withLock((tx) => {
      const chosen = tx.listConflicts().filter((c) => filter.addresses === undefined || filter.addresses.includes(c.address));
      // A record that cannot be read: its pool is unknown, so it is never freed by guess.
      const unreadable = chosen.find((c) => c.damage);
      if (unreadable) throw unreadable.damage!;
      const released: QuarantinedAddress[] = [];
      endQuarantines(tx, (c) => conflictChosen(filter, c), pools, (e) => {
        throw e;
      }, (c) => released.push(c));
      return released;
    });
  }
}

/** Code 7 before anything is written: a pool other nodes may use cannot be kept apart by this node's files. */
export function refuseSharedPools(selection: Selection, nodeName: string): void {
  for (const pool of [...selection.v4, ...selection.v6]) {
    const why = sharingReason(pool);
    if (why) {
      throw new CniError(
        ErrorCode.InvalidConfig,
        `pool ${pool.name} may be used by several nodes (${why}), and the local store cannot keep their allocations apart: ` +
          `pin the pool to this node with spec.nodeName: [${nodeName}], or use the etcd store (ipam.store.type "etcd"); ` +
          `a cluster of one node may set ipam.store.sharedPools "allow"`,
      );
    }
  }
}

export const notRecorded = (containerID: string, ifname: string) =>
  new CniError(ErrorCode.AllocationMissing, `no allocation recorded for container ${containerID} interface ${ifname}`);

export const notHeld = (address: string, containerID: string, ifname: string, holder?: string) =>
  new CniError(
    ErrorCode.AllocationMissing,
    `address ${address} of container ${containerID} interface ${ifname} is not claimed by it${holder ? ` (held by ${holder})` : ""}`,
  );

/** The allocations an existing record still holds, if all of them are intact. */
function intactAllocations(tx: StoreTx, record: AttachmentRecord, pools: Pool[]): Allocation[] | undefined {
  const allocs: Allocation[] = [];
  for (const entry of record.ips) {
    const owner = tx.claim(entry.address);
    if (!owner || owner.containerID !== record.containerID || owner.ifname !== record.ifname) return undefined;
    const pool = pools.find((p) => p.name === entry.pool);
    const ip = parseIP(entry.address);
    if (!pool || !ip) return undefined;
    allocs.push({ pool, ip });
  }
  return allocs.length > 0 ? allocs : undefined;
}

/**
 * Frees one attachment. The pool hint is lowered before the claims go, so a
 * crash in between can only make the next scan start lower than needed,
 * never skip a free address.
 */
function releaseRecord(tx: StoreTx, record: AttachmentRecord, pools: Pool[] | undefined): void {
  for (const entry of record.ips) lowerHint(tx, entry, pools);
  tx.release(record);
}

/**
 * The conflict records for the reported addresses this attachment holds
 * (its record lists them and their claims are its own); others are ignored.
 */
function conflictRecords(tx: StoreTx, record: AttachmentRecord, report: ConflictReport): ConflictRecord[] {
  const out: ConflictRecord[] = [];
  for (const { address, mac } of report.conflicts) {
    const entry = record.ips.find((e) => e.address === address);
    const claim = entry && tx.claim(address);
    if (!entry || !claim || claim.containerID !== record.containerID || claim.ifname !== record.ifname) continue;
    const conflict: ConflictRecord = { ...claim, address, family: entry.family, mac, detected: report.detected.toISOString() };
    if (entry.ordinal !== undefined && entry.fingerprint !== undefined) {
      conflict.ordinal = entry.ordinal;
      conflict.fingerprint = entry.fingerprint;
    }
    out.push(conflict);
  }
  return out;
}

/**
 * Ends the quarantines `chosen` picks (readable ones only), lowering each
 * pool's hint first as a release does. A record whose claim is gone, or is
 * someone else's now, holds nothing and goes too. Errors go to `failed`, one
 * per address.
 */
function endQuarantines(
  tx: StoreTx,
  chosen: (c: ConflictRecord) => boolean,
  pools: Pool[] | undefined,
  failed: (e: unknown) => void,
  ended: (c: ConflictRecord) => void = () => {},
): void {
  for (const { address, conflict } of tx.listConflicts()) {
    if (!conflict || !chosen(conflict)) continue;
    try {
      const claim = tx.claim(address);
      if (claim && keptBy(claim, conflict)) lowerHint(tx, conflict, pools);
      tx.endQuarantine(address, conflict);
      ended(conflict);
    } catch (e) {
      failed(e);
    }
  }
}

/** The pool's hint goes down to a freed address, so the next scan finds it. */
function lowerHint(tx: StoreTx, entry: RecordedIP, pools: Pool[] | undefined): void {
  const place = placeInPool(entry, pools);
  if (place) {
    if (place.ordinal < tx.hint(entry.pool, place.fingerprint)) tx.setHint(entry.pool, place.fingerprint, place.ordinal);
  } else {
    // The pool changed since: forget the hint (slower next scan, still right).
    tx.setHint(entry.pool, "reset", 0n);
  }
}

/** Where an address sits in its pool, for the hint: from the loaded pool, else from what the record noted at ADD. */
function placeInPool(entry: RecordedIP, pools: Pool[] | undefined): { ordinal: bigint; fingerprint: string } | undefined {
  const pool = pools?.find((p) => p.name === entry.pool);
  const ip = parseIP(entry.address);
  const ordinal = pool && ip ? ordinalOf(pool, ip) : undefined;
  if (pool && ordinal !== undefined) return { ordinal, fingerprint: pool.fingerprint };
  if (pools === undefined && entry.ordinal !== undefined && entry.fingerprint !== undefined) {
    return { ordinal: BigInt(entry.ordinal), fingerprint: entry.fingerprint };
  }
  return undefined;
}

/** An allocation as the record keeps it, with where it sits in its pool (for DEL's hint). */
export function recordedIP(a: Allocation): RecordedIP {
  const entry: RecordedIP = { pool: a.pool.name, address: formatIP(a.ip), family: a.ip.family };
  const ordinal = ordinalOf(a.pool, a.ip);
  if (ordinal !== undefined) {
    entry.ordinal = ordinal.toString();
    entry.fingerprint = a.pool.fingerprint;
  }
  return entry;
}

/** The pool each family most likely takes its address from: the first candidate. */
function likelyPools(selection: Selection): string[] {
  const names: string[] = [];
  if (selection.v4[0]) names.push(selection.v4[0].name);
  if (selection.v6[0]) names.push(selection.v6[0].name);
  return names;
}
