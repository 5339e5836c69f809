// What the IPAM commands ask of a store, whichever keeps the allocations:
// files under dataDir on this node (local.ts) or etcd for the whole cluster
// (etcd/store.ts). Both keep the same promises: an address is held by at most
// one (container, interface); an ADD records all its addresses or none; a
// repeated ADD answers what is recorded; a release is idempotent.
import type { IPAddr } from "../ip/address";
import type { Allocation } from "../ipam/allocate";
import type { QuarantinePolicy, ReportedConflict } from "../ipam/conflicts";
import type { Pool } from "../ipam/pool";
import type { Selection } from "../ipam/select";
import type { AttachmentRecord } from "./records";

/** Who an allocation is for: the attachment record without its addresses. */
export type AttachmentOwner = Omit<AttachmentRecord, "ips">;

/** An attachment as GC's "cni.dev/valid-attachments" names it: `${containerID}\0${ifname}`. */
export type AttachmentKey = string;

export const attachmentKey = (a: { containerID: string; ifname: string }): AttachmentKey => `${a.containerID}\0${a.ifname}`;

export interface AllocationRequest {
  owner: AttachmentOwner;
  selection: Selection;
  /** Static addresses asked for (at most one per family). */
  requested: IPAddr[];
  /** Every pool this node sees, to recognise what an existing record holds. */
  pools: Pool[];
  /** Quarantined addresses of the candidate pools whose hold is over are freed first. */
  quarantine: QuarantinePolicy;
  /**
   * Whether the pools the request was planned with are still the node's,
   * asked when nothing can change them any more (under the local store's
   * lock, before each etcd transaction): false makes allocate throw
   * PoolsChangedError, having written nothing.
   */
  poolsUnchanged?: () => boolean;
}

/** The pool files changed between loading them and allocating: plan again with the new ones. */
export class PoolsChangedError extends Error {
  constructor() {
    super("the pool files changed while the ADD waited for the store");
  }
}

/** What a DEL is told by ipvlan-attach's rollback: addresses another host answered for, to quarantine. */
export interface ConflictReport {
  conflicts: ReportedConflict[];
  /** The time the quarantine counts from. */
  detected: Date;
}

/** A quarantined address as the CLI shows it (`node`: the etcd store's node that hit the conflict). */
export interface QuarantinedAddress {
  address: string;
  pool: string;
  mac: string;
  detected: string;
  network: string;
  containerID: string;
  ifname: string;
  node?: string;
}

/** Which quarantined addresses `release --conflicts` frees: all, a pool's, or the listed ones. */
export interface ConflictFilter {
  pool?: string;
  addresses?: string[];
}

export const conflictChosen = (filter: ConflictFilter, q: { address: string; pool: string }): boolean =>
  (filter.pool === undefined || q.pool === filter.pool) && (filter.addresses === undefined || filter.addresses.includes(q.address));

export interface IpamStore {
  /** ADD: the attachment's recorded addresses if it has them, else one new address per requested family. */
  allocate(request: AllocationRequest): Promise<Allocation[]>;
  /**
   * DEL: frees what the attachment holds; nothing recorded is success. `pools` (optional) only speed up the next scan.
   * Reported conflicts on addresses it holds stay held by a conflict record; returns those addresses
   * (with those an earlier DEL of it quarantined already).
   */
  release(containerID: string, ifname: string, pools?: Pool[], report?: ConflictReport): Promise<string[]>;
  /** CHECK: the attachment's record, each of its addresses verified to be held by it (code 110 otherwise). */
  verify(containerID: string, ifname: string): Promise<AttachmentRecord>;
  /**
   * GC: frees this node's attachments of `network` that `valid` does not list, and quarantined addresses of
   * `network` whose hold is over; reports the first error after trying all.
   */
  collect(network: string, valid: Set<AttachmentKey>, quarantine: QuarantinePolicy, pools?: Pool[]): Promise<void>;
  /**
   * STATUS: whether an ADD from `pools` could get an address now: a free one,
   * or a quarantined one whose hold is over (ADD frees those first). An
   * unreachable store throws.
   */
  hasFree(pools: Pool[], quarantine: QuarantinePolicy): Promise<boolean>;
  /** The CLI's `release`: frees a container's attachments (one interface, or all). */
  releaseContainer(containerID: string, ifname?: string, pools?: Pool[]): Promise<AttachmentRecord[]>;
  /** The CLI's `release --conflicts`: ends the chosen quarantines now. */
  releaseConflicts(filter: ConflictFilter, pools?: Pool[]): Promise<QuarantinedAddress[]>;
}
