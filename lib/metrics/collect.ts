// Reads this node's pool usage from the store and writes it where
// node_exporter's textfile collector looks.
import { chmodSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import type { Pool } from "../ipam/pool";
import { checkTrustedPath } from "../ipam/private-dir";
import { countAllocations, poolsOnNode } from "../ipam/usage";
import { claimedAddresses, countAttachments, quarantinedAddresses } from "../store/usage";
import { tempPathFor } from "../sys/atomic";
import { formatExposition } from "./exposition";
import { ippoolFamilies } from "./ippool";

/** The metrics text for `node`; `pools` are all loaded pools (a claim counts for the pool that holds it). */
export function nodeMetricsText(pools: Pool[], dataDir: string, node: string): string {
  return formatExposition(
    ippoolFamilies({
      node,
      pools: poolsOnNode(pools, node),
      allocated: countAllocations(pools, claimedAddresses(dataDir)),
      conflicts: countAllocations(pools, quarantinedAddresses(dataDir)),
      attachments: countAttachments(dataDir),
    }),
  );
}

/**
 * Replaces `path` atomically (temp file in the same directory, then rename):
 * the collector reads the old text or the new, never half. 0644 whatever the
 * umask, since node_exporter usually runs as another user. The temp name does
 * not end in .prom, so the collector never reads it. No fsync: metrics lost to
 * a power cut are rewritten by the next call. The directory's path is checked
 * from "/" first (code 7 naming the component): a directory another user
 * could replace would move the file anywhere. Whatever is in the file's place
 * (a link, a FIFO) is replaced by the rename, never written through.
 */
export function writeMetricsFile(path: string, text: string): void {
  checkTrustedPath(path, "metricsFile");
  const tmp = tempPathFor(path);
  try {
    writeFileSync(tmp, text, { flag: "wx", mode: 0o644 });
    chmodSync(tmp, 0o644);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* never created, or already renamed */
    }
    throw e;
  }
}
