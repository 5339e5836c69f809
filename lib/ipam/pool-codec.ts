// Validated pools as JSON, so the plugin can keep them in a cache and skip
// parsing and validation while the pool files are unchanged. Addresses are
// BigInts, written as decimal strings and turned back field by field.
import type { Pool } from "./pool";

/** Changes whenever the encoding does: part of the cache key, so an old cache is never misread. */
export const POOL_CODEC_VERSION = "pools/2";

export function encodePools(pools: Pool[]): string {
  return JSON.stringify(pools, (_key, value) => (typeof value === "bigint" ? value.toString() : value));
}

/**
 * The inverse of encodePools: a plain JSON.parse, then the BigInt fields of
 * the Pool type by name (a JSON.parse reviver visiting every value measured
 * slower: docs/performance.md). The unit test round-trips a pool with every
 * field set, so a BigInt field added to Pool and missed here fails it.
 */
export function decodePools(text: string): Pool[] {
  const pools = JSON.parse(text) as Pool[];
  for (const pool of pools) {
    pool.subnet.base = BigInt(pool.subnet.base);
    pool.total = BigInt(pool.total);
    if (pool.gateway) pool.gateway.value = BigInt(pool.gateway.value);
    for (const range of pool.usable) {
      range.start = BigInt(range.start);
      range.end = BigInt(range.end);
    }
  }
  return pools;
}
