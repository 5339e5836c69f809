// Whether a pool can be used by more than one node. A local store keeps each
// node's allocations apart only from that node's own: a pool two nodes can use
// would hand the same address to a pod on each.
import type { Pool } from "./pool";

/** Why `pool` may be used by nodes other than `nodeName`, or undefined when it is pinned to it alone. */
export function sharingReason(pool: Pool, nodeName: string): string | undefined {
  if (pool.nodeName.length === 0) {
    return pool.nodeAffinity ? "it selects nodes by spec.nodeAffinity" : "it has no spec.nodeName, so every node may use it";
  }
  const others = pool.nodeName.filter((n) => n !== nodeName);
  if (others.length > 0) return `its spec.nodeName also names ${others.join(", ")}`;
  return undefined;
}
