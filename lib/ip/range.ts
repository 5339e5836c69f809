// Inclusive address ranges, as written in a pool's `ips` / `excludeIPs`: "a" or "a-b".
// List operations keep the order of their input: allocation is "first free in ips order".

import { type Family, type IPAddr, formatIP, parseIP } from "./address";

export interface IPRange {
  family: Family;
  start: bigint;
  /** Inclusive. */
  end: bigint;
}

/** "a" or "a-b": same family, no spaces, start <= end. */
export function parseIPRange(text: string): IPRange | undefined {
  const parts = text.split("-");
  if (parts.length > 2) return undefined;
  const start = parseIP(parts[0] ?? "");
  if (!start) return undefined;
  if (parts.length === 1) return { family: start.family, start: start.value, end: start.value };
  const end = parseIP(parts[1] ?? "");
  if (!end || end.family !== start.family || end.value < start.value) return undefined;
  return { family: start.family, start: start.value, end: end.value };
}

export function formatIPRange(r: IPRange): string {
  const start = formatIP({ family: r.family, value: r.start });
  if (r.start === r.end) return start;
  return `${start}-${formatIP({ family: r.family, value: r.end })}`;
}

export function rangeSize(r: IPRange): bigint {
  return r.end - r.start + 1n;
}

export function rangesOverlap(a: IPRange, b: IPRange): boolean {
  return a.family === b.family && a.start <= b.end && b.start <= a.end;
}

export function rangeContains(r: IPRange, ip: IPAddr): boolean {
  return r.family === ip.family && ip.value >= r.start && ip.value <= r.end;
}

export function rangeListContains(ranges: IPRange[], ip: IPAddr): boolean {
  return ranges.some((r) => rangeContains(r, ip));
}

const compareBig = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
const byFamilyThenStart = (a: IPRange, b: IPRange) => a.family - b.family || compareBig(a.start, b.start);

/** The index of the first value of ascending `values` that is >= `value` (values.length when none). */
function lowerBound<T>(values: readonly T[], value: bigint, key: (v: T) => bigint): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(values[mid]!) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const itself = (b: bigint) => b;

/** The ranges of one family, sorted by start and merged where they overlap or touch. */
function mergedByFamily(ranges: IPRange[]): Map<Family, IPRange[]> {
  const out = new Map<Family, IPRange[]>();
  for (const r of [...ranges].sort(byFamilyThenStart)) {
    let list = out.get(r.family);
    if (!list) out.set(r.family, (list = []));
    const last = list[list.length - 1];
    if (last && r.start <= last.end + 1n) {
      if (r.end > last.end) last.end = r.end;
    } else {
      list.push({ ...r });
    }
  }
  return out;
}

/** Removes sorted, disjoint `cuts` from one range; the pieces come back in ascending order. */
function subtractFromRange(range: IPRange, cuts: IPRange[]): IPRange[] {
  const pieces: IPRange[] = [];
  let next = range.start;
  // Cuts are disjoint and sorted, so the first one ending at or after the range's start is found by bisection.
  for (let k = lowerBound(cuts, range.start, (c) => c.end); k < cuts.length && cuts[k]!.start <= range.end; k++) {
    const cut = cuts[k]!;
    if (cut.start > next) pieces.push({ family: range.family, start: next, end: cut.start - 1n });
    if (cut.end + 1n > next) next = cut.end + 1n;
    if (next > range.end) return pieces;
  }
  pieces.push({ family: range.family, start: next, end: range.end });
  return pieces;
}

/**
 * Every address of `ranges` that is not in `remove`. The result follows the order
 * of `ranges` (each one split into ascending pieces), never a global sort.
 */
export function subtractRanges(ranges: IPRange[], remove: IPRange[]): IPRange[] {
  const cuts = mergedByFamily(remove);
  return ranges.flatMap((r) => subtractFromRange(r, cuts.get(r.family) ?? []));
}

/**
 * The address line of one family cut into segments at every range's start and
 * end, each segment taken by the first range that covers it. `nextFree[k]`
 * leads (with path halving) to the first segment from k on not yet taken, so
 * every segment is visited once however much the ranges overlap.
 */
class SegmentOwners {
  private readonly bounds: bigint[];
  private readonly nextFree: Int32Array;

  constructor(ranges: IPRange[]) {
    const points = ranges.flatMap((r) => [r.start, r.end + 1n]).sort(compareBig);
    this.bounds = points.filter((p, i) => i === 0 || p !== points[i - 1]);
    // Segment k runs from bounds[k] to bounds[k + 1] - 1; the last bound is a sentinel.
    this.nextFree = Int32Array.from(this.bounds, (_, k) => k);
  }

  private free(k: number): number {
    const next = this.nextFree;
    while (next[k] !== k) {
      next[k] = next[next[k]!]!;
      k = next[k]!;
    }
    return k;
  }

  /** Takes the segments of `range` no earlier range took; returns them merged, ascending. */
  take(range: IPRange): IPRange[] {
    const last = lowerBound(this.bounds, range.end + 1n, itself);
    const pieces: IPRange[] = [];
    for (let k = this.free(lowerBound(this.bounds, range.start, itself)); k < last; k = this.free(k + 1)) {
      const start = this.bounds[k]!;
      const end = this.bounds[k + 1]! - 1n;
      const prev = pieces[pieces.length - 1];
      if (prev && prev.end + 1n === start) prev.end = end;
      else pieces.push({ family: range.family, start, end });
      this.nextFree[k] = k + 1;
    }
    return pieces;
  }
}

/**
 * Drops addresses already listed by an earlier range, so a list with overlapping
 * entries counts each address once and still yields it at its first position.
 */
export function dedupeRanges(ranges: IPRange[]): IPRange[] {
  const owners = new Map<Family, SegmentOwners>();
  for (const family of new Set(ranges.map((r) => r.family))) {
    owners.set(family, new SegmentOwners(ranges.filter((r) => r.family === family)));
  }
  return ranges.flatMap((r) => owners.get(r.family)!.take(r));
}

/**
 * The lowest address that two of `lists` share, each list being disjoint
 * ranges (a pool's usable set), with the indexes of those two lists. One sweep
 * over all ranges sorted by start: a range that overlaps anything earlier
 * overlaps the earlier range reaching furthest, which (ranges of one list
 * being disjoint) belongs to another list.
 */
export function firstSharedAddress(lists: IPRange[][]): { address: IPAddr; lists: [number, number] } | undefined {
  const tagged = lists.flatMap((ranges, list) => ranges.map((range) => ({ range, list })));
  tagged.sort((a, b) => byFamilyThenStart(a.range, b.range));
  let reach: (typeof tagged)[number] | undefined;
  for (const t of tagged) {
    if (reach && rangesOverlap(reach.range, t.range)) {
      return { address: { family: t.range.family, value: t.range.start }, lists: [reach.list, t.list] };
    }
    if (!reach || reach.range.family !== t.range.family || t.range.end > reach.range.end) reach = t;
  }
  return undefined;
}
