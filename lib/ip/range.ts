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

/** Removes `remove` from one range; the pieces come back in ascending order. */
function subtractFromRange(range: IPRange, remove: IPRange[]): IPRange[] {
  // Only the removals that touch this range matter; sorting them makes one sweep enough.
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

/**
 * Every address of `ranges` that is not in `remove`. The result follows the order
 * of `ranges` (each one split into ascending pieces), never a global sort.
 */
export function subtractRanges(ranges: IPRange[], remove: IPRange[]): IPRange[] {
  return ranges.flatMap((r) => subtractFromRange(r, remove));
}

/**
 * Drops addresses already listed by an earlier range, so a list with overlapping
 * entries counts each address once and still yields it at its first position.
 */
export function dedupeRanges(ranges: IPRange[]): IPRange[] {
  const seen: IPRange[] = [];
  const out: IPRange[] = [];
  for (const r of ranges) {
    out.push(...subtractFromRange(r, seen));
    seen.push(r);
  }
  return out;
}
