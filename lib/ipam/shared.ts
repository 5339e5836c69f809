// Whether a pool can be used by more than one node. A local store keeps each
// node's allocations apart only from that node's own: a pool two nodes can use
// would hand the same address to a pod on each.
import type { Pool } from "./pool";

/** Why `pool` may be used by more than one node, or undefined when it is pinned to one node. */
export function sharingReason(pool: Pool): string | undefined {
  if (pool.nodeName.length > 1) return `its spec.nodeName names several nodes (${pool.nodeName.join(", ")})`;
  if (pool.nodeName.length === 1) return undefined;
  return pool.nodeAffinity ? "it selects nodes by spec.nodeAffinity" : "it has no spec.nodeName, so every node may use it";
}
