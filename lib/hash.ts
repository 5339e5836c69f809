// FNV-1a 64 over a string's UTF-8 bytes, as 16 hex digits: stable across runs,
// runtimes and platforms, and cheap to load (node:crypto costs a Bun
// executable ~2.7 ms at start-up). For names and fingerprints, not security.
const OFFSET = 0xcbf29ce484222325n;
const PRIME = 0x100000001b3n;
const U64 = (1n << 64n) - 1n;

export function fnv1a64(text: string): string {
  let hash = OFFSET;
  for (const byte of new TextEncoder().encode(text)) hash = ((hash ^ BigInt(byte)) * PRIME) & U64;
  return hash.toString(16).padStart(16, "0");
}
