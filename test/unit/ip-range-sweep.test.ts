// The sorted sweeps of lib/ip/range.ts against the simple quadratic
// definitions they replaced, on random lists dense with overlaps.
import { describe, expect, it } from "vitest";
import type { Family, IPAddr } from "../../lib/ip/address";
import { type IPRange, dedupeRanges, firstSharedAddress, formatIPRange, rangesOverlap, subtractRanges } from "../../lib/ip/range";
import { below, rng } from "./helpers/rng";

// ---- the reference: the pairwise definitions, kept here only to check against

function subtractOne(range: IPRange, remove: IPRange[]): IPRange[] {
  const cuts = remove.filter((r) => rangesOverlap(r, range)).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const pieces: IPRange[] = [];
  let next = range.start;
  for (const cut of cuts) {
    if (cut.start > next) pieces.push({ family: range.family, start: next, end: cut.start - 1n });
    if (cut.end + 1n > next) next = cut.end + 1n;
    if (next > range.end) return pieces;
  }
  pieces.push({ family: range.family, start: next, end: range.end });
  return pieces;
}

const subtractReference = (ranges: IPRange[], remove: IPRange[]) => ranges.flatMap((r) => subtractOne(r, remove));

function dedupeReference(ranges: IPRange[]): IPRange[] {
  const seen: IPRange[] = [];
  const out: IPRange[] = [];
  for (const r of ranges) {
    out.push(...subtractOne(r, seen));
    seen.push(r);
  }
  return out;
}

/** Every address two of the lists share, by trying every pair of ranges. */
function sharedReference(lists: IPRange[][]): IPAddr[] {
  const shared: IPAddr[] = [];
  lists.forEach((a, i) =>
    lists.slice(i + 1).forEach((b) => {
      for (const x of a) for (const y of b) if (rangesOverlap(x, y)) shared.push({ family: x.family, value: x.start > y.start ? x.start : y.start });
    }),
  );
  return shared;
}

/** IPv4 before IPv6, then by value. */
const lower = (a: IPAddr, b: IPAddr) => (b.family < a.family || (b.family === a.family && b.value < a.value) ? b : a);

// ---- random lists on a small address line, so ranges overlap a lot

function randomRanges(next: () => number, count: number): IPRange[] {
  return Array.from({ length: count }, () => {
    // Mostly IPv4 near 0 and near the top of the space; some IPv6 with the same numbers.
    const family: Family = below(next, 5) === 0 ? 6 : 4;
    const top = below(next, 4) === 0 ? 0xffffffffn - 80n : 0n;
    const start = top + BigInt(below(next, 80));
    const length = below(next, 3) === 0 ? 0n : BigInt(below(next, 20));
    const end = start + length > 0xffffffffn ? 0xffffffffn : start + length;
    return { family, start, end };
  });
}

const text = (ranges: IPRange[]) => ranges.map((r) => `v${r.family} ${formatIPRange(r)}`);

describe("range sweeps agree with the pairwise definitions", () => {
  it("subtractRanges on 300 random inputs", () => {
    const next = rng(11);
    for (let round = 0; round < 300; round++) {
      const ranges = randomRanges(next, below(next, 12));
      const remove = randomRanges(next, below(next, 12));
      expect(text(subtractRanges(ranges, remove)), `round ${round}`).toEqual(text(subtractReference(ranges, remove)));
    }
  });

  it("subtractRanges leaves its inputs unchanged", () => {
    const ranges = randomRanges(rng(3), 20);
    const remove = randomRanges(rng(4), 20);
    const before = [text(ranges), text(remove)];
    subtractRanges(ranges, remove);
    expect([text(ranges), text(remove)]).toEqual(before);
  });

  it("dedupeRanges on 300 random inputs", () => {
    const next = rng(12);
    for (let round = 0; round < 300; round++) {
      const ranges = randomRanges(next, below(next, 16));
      expect(text(dedupeRanges(ranges)), `round ${round}`).toEqual(text(dedupeReference(ranges)));
    }
  });

  it("firstSharedAddress finds the lowest shared address (IPv4 first) on 300 random sets of pools' usable lists", () => {
    const next = rng(13);
    for (let round = 0; round < 300; round++) {
      // Each list disjoint, as a pool's usable set is.
      const lists = Array.from({ length: 1 + below(next, 4) }, () => dedupeRanges(randomRanges(next, below(next, 6))));
      const shared = sharedReference(lists);
      const found = firstSharedAddress(lists);
      if (shared.length === 0) {
        expect(found, `round ${round}`).toBeUndefined();
        continue;
      }
      const lowest = shared.reduce(lower);
      expect(found?.address, `round ${round}`).toEqual(lowest);
      const [i, j] = found!.lists;
      expect(i).not.toBe(j);
      for (const list of [lists[i]!, lists[j]!]) {
        expect(list.some((r) => r.family === lowest.family && r.start <= lowest.value && lowest.value <= r.end)).toBe(true);
      }
    }
  });

  it("40,000 single addresses with 20,000 of them excluded", () => {
    const ips = Array.from({ length: 40_000 }, (_, i): IPRange => ({ family: 4, start: 2n * BigInt(i), end: 2n * BigInt(i) }));
    const excluded = ips.filter((_, i) => i % 2 === 0);
    const usable = subtractRanges(dedupeRanges([...ips, ...ips]), excluded);
    expect(usable).toHaveLength(20_000);
    expect(usable[0]).toEqual({ family: 4, start: 2n, end: 2n });
    expect(firstSharedAddress([usable, excluded])).toBeUndefined();
    expect(firstSharedAddress([usable, ips])?.address.value).toBe(2n);
  });
});
