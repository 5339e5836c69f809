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
 * the Pool type by name. A generic walk of every object (or a JSON.parse
 * reviver) did the same at ~0.35 ms per plugin call with a warm cache
 * (profiled); the unit test round-trips a pool with every field set, so a
 * BigInt field added to Pool and missed here fails it.
 */
export function decodePools(text: string): Pool[] {
  const pools = JSON.parse(text) as Pool[];
  for (let i = 0; i < pools.length; i++) {
    const pool = pools[i]!;
    pool.subnet.base = BigInt(pool.subnet.base);
    pool.total = BigInt(pool.total);
    if (pool.gateway) pool.gateway.value = BigInt(pool.gateway.value);
    const usable = pool.usable;
    for (let k = 0; k < usable.length; k++) {
      const range = usable[k]!;
      range.start = BigInt(range.start);
      range.end = BigInt(range.end);
    }
  }
  return pools;
}
