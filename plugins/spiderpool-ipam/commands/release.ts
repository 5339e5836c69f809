// Releasing an attachment, shared by DEL, GC and the `release` CLI. The pool
// hint is lowered before the claims go, so a crash in between can only make
// the next scan start lower than needed, never skip a free address.
import { parseIP } from "../../../lib/ip/address";
import { ordinalOf } from "../../../lib/ipam/allocate";
import type { Pool } from "../../../lib/ipam/pool";
import type { AttachmentRecord, RecordedIP } from "../../../lib/store/records";
import type { StoreTx } from "../../../lib/store/store";

export function releaseAttachment(tx: StoreTx, record: AttachmentRecord, pools: Pool[] | undefined): void {
  for (const entry of record.ips) {
    const place = placeInPool(entry, pools);
    if (place) {
      if (place.ordinal < tx.hint(entry.pool, place.fingerprint)) tx.setHint(entry.pool, place.fingerprint, place.ordinal);
    } else {
      // Pools unreadable or changed: forget the hint (slower next scan, still right).
      tx.setHint(entry.pool, "reset", 0n);
    }
  }
  tx.release(record);
}

/**
 * Where an address sits in its pool, for the hint: from the loaded pools
 * (the pool as it is now), else from what the record noted at ADD (so DEL
 * need not load the pools), else unknown.
 */
function placeInPool(entry: RecordedIP, pools: Pool[] | undefined): { ordinal: bigint; fingerprint: string } | undefined {
  let pool: Pool | undefined;
  for (const p of pools ?? []) if (p.name === entry.pool) pool = p;
  const ip = parseIP(entry.address);
  const ordinal = pool && ip ? ordinalOf(pool, ip) : undefined;
  if (pool && ordinal !== undefined) return { ordinal, fingerprint: pool.fingerprint };
  if (pools === undefined && entry.ordinal !== undefined && entry.fingerprint !== undefined) {
    return { ordinal: BigInt(entry.ordinal), fingerprint: entry.fingerprint };
  }
  return undefined;
}
