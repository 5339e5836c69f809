// Releasing an attachment, shared by DEL, GC and the `release` CLI. The pool
// hint is lowered before the claims go, so a crash in between can only make
// the next scan start lower than needed, never skip a free address.
import { parseIP } from "../../../lib/ip/address";
import { ordinalOf } from "../../../lib/ipam/allocate";
import type { Pool } from "../../../lib/ipam/pool";
import type { AttachmentRecord } from "../../../lib/store/records";
import type { StoreTx } from "../../../lib/store/store";

export function releaseAttachment(tx: StoreTx, record: AttachmentRecord, pools: Pool[] | undefined): void {
  for (const entry of record.ips) {
    const pool = pools?.find((p) => p.name === entry.pool);
    const ip = parseIP(entry.address);
    const ordinal = pool && ip ? ordinalOf(pool, ip) : undefined;
    if (pool && ordinal !== undefined) {
      if (ordinal < tx.hint(pool.name, pool.fingerprint)) tx.setHint(pool.name, pool.fingerprint, ordinal);
    } else {
      // Pools unreadable or changed: forget the hint (slower next scan, still right).
      tx.setHint(entry.pool, "reset", 0n);
    }
  }
  tx.release(record);
}
