// Validated pools as JSON (addresses are BigInts), so the plugin can keep them
// in a cache and skip parsing and validation while the pool files are unchanged.
import type { Pool } from "./pool";

const BIGINT_TAG = "$bigint";

export function encodePools(pools: Pool[]): string {
  return JSON.stringify(pools, (_key, value) => (typeof value === "bigint" ? { [BIGINT_TAG]: value.toString() } : value));
}

export function decodePools(text: string): Pool[] {
  return JSON.parse(text, (_key, value) => {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const tagged = (value as Record<string, unknown>)[BIGINT_TAG];
      if (typeof tagged === "string" && Object.keys(value).length === 1) return BigInt(tagged);
    }
    return value;
  }) as Pool[];
}
