// What the IPAM commands ask of a store, whichever keeps the allocations:
// files under dataDir on this node (local.ts) or etcd for the whole cluster
// (etcd/store.ts). Both keep the same promises: an address is held by at most
// one (container, interface); an ADD records all its addresses or none; a
// repeated ADD answers what is recorded; a release is idempotent.
import type { IPAddr } from "../ip/address";
import type { Allocation } from "../ipam/allocate";
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
}

export interface IpamStore {
  /** ADD: the attachment's recorded addresses if it has them, else one new address per requested family. */
  allocate(request: AllocationRequest): Promise<Allocation[]>;
  /** DEL: frees what the attachment holds; nothing recorded is success. `pools` (optional) only speed up the next scan. */
  release(containerID: string, ifname: string, pools?: Pool[]): Promise<void>;
  /** CHECK: the attachment's record, each of its addresses verified to be held by it (code 110 otherwise). */
  verify(containerID: string, ifname: string): Promise<AttachmentRecord>;
  /** GC: frees this node's attachments of `network` that `valid` does not list; reports the first error after trying all. */
  collect(network: string, valid: Set<AttachmentKey>, pools?: Pool[]): Promise<void>;
  /** STATUS: whether one of `pools` has a free address now (an unreachable store throws). */
  hasFree(pools: Pool[]): Promise<boolean>;
  /** The CLI's `release`: frees a container's attachments (one interface, or all). */
  releaseContainer(containerID: string, ifname?: string, pools?: Pool[]): Promise<AttachmentRecord[]>;
}
