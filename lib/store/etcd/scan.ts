// Finding a free address of a pool from the claims stored in etcd. Pure: the
// caller reads pages of claim keys and feeds them in.
//
// A pool's usable addresses are ranges in `ips` order; each range is one
// contiguous key range, so a scan is a walk over segments of address values
// in which a page of used keys either shows a gap (a free address) or moves
// the walk past the keys it listed.
import { rangeSize } from "../../ip/range";
import type { Pool } from "../../ipam/pool";

/** Inclusive address values, scanned upward. */
export interface Segment {
  from: bigint;
  to: bigint;
}

/**
 * The pool's usable addresses in scan order, starting at ordinal `start` and
 * wrapping around: the rest of the range holding `start`, the ranges after
 * it, the ranges before it, then the start of its own range.
 */
export function scanSegments(pool: Pool, start: bigint): Segment[] {
  if (start < 0n || start >= pool.total) start = 0n;
  const ranges = pool.usable;
  let offset = 0n;
  let k = 0;
  for (; k < ranges.length; k++) {
    const size = rangeSize(ranges[k]!);
    if (start < offset + size) break;
    offset += size;
  }
  const own = ranges[k];
  if (!own) return []; // an empty pool
  const at = own.start + (start - offset);
  const whole = (r: { start: bigint; end: bigint }): Segment => ({ from: r.start, to: r.end });
  const segments = [{ from: at, to: own.end }, ...ranges.slice(k + 1).map(whole), ...ranges.slice(0, k).map(whole)];
  if (at > own.start) segments.push({ from: own.start, to: at - 1n });
  return segments;
}

/**
 * One page of used addresses (sorted, all within [candidate, to]) against the
 * walk at `candidate`: the first free address if the page shows one, else
 * where the walk goes on (past the last listed key), or undefined when the
 * page was the last one (`complete`) and the segment is used up.
 */
export function nextInPage(candidate: bigint, to: bigint, used: bigint[], complete: boolean): { free: bigint } | { next: bigint } | undefined {
  for (const value of used) {
    if (value > candidate) return { free: candidate };
    if (value === candidate) candidate++;
  }
  if (candidate > to) return undefined;
  return complete ? { free: candidate } : { next: candidate };
}
