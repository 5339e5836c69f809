// FNV-1a 64 over a string's UTF-8 bytes, as 16 hex digits: stable across runs,
// runtimes and platforms, and without node:crypto (kept off the call path:
// docs/performance.md). For names and fingerprints, not security.
const encoder = new TextEncoder();
const OFFSET_BASIS = 0xcbf29ce484222325n;
const PRIME = 0x100000001b3n;
const MASK_64 = (1n << 64n) - 1n;

export function fnv1a64(text: string): string {
  let hash = OFFSET_BASIS;
  for (const byte of encoder.encode(text)) hash = ((hash ^ BigInt(byte)) * PRIME) & MASK_64;
  return hash.toString(16).padStart(16, "0");
}
