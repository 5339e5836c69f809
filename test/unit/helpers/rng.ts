// A deterministic 32-bit PRNG (mulberry32) for randomised tests, so a failure
// reproduces from its seed.

/** Returns a generator of uniform 32-bit unsigned integers. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** An integer from 0 to n - 1. */
export const below = (next: () => number, n: number) => next() % n;
