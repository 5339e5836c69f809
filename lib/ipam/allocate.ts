// Choosing addresses. The caller owns the store and tells us, through a predicate, which
// addresses are taken; we only decide which address comes next. Ranges are walked lazily,
// so a pool of 2^48 addresses costs no more than a pool of 16.

import { CniError, ErrorCode } from "../cni/errors";
import { type Family, type IPAddr, cidrContains, formatCidr, formatIP } from "../ip/address";
import { rangeListContains, rangeSize } from "../ip/range";
import type { Pool } from "./pool";
import type { Selection } from "./select";

export interface Allocation {
  pool: Pool;
  ip: IPAddr;
}

/** Index of `ip` among the pool's usable addresses, in ips order. */
export function ordinalOf(pool: Pool, ip: IPAddr): bigint | undefined {
  if (ip.family !== pool.family) return undefined;
  let offset = 0n;
  for (const r of pool.usable) {
    if (ip.value >= r.start && ip.value <= r.end) return offset + (ip.value - r.start);
    offset += rangeSize(r);
  }
  return undefined;
}

/**
 * First address not used, with ordinal in [fromOrdinal, toOrdinal). `isUsed` gets the
 * canonical text (formatIP). toOrdinal (default: the pool's end) lets a caller that
 * started mid-pool wrap around without walking the second half twice.
 */
export function findFree(
  pool: Pool,
  isUsed: (ip: string) => boolean,
  fromOrdinal = 0n,
  toOrdinal: bigint = pool.total,
): { ip: IPAddr; ordinal: bigint } | undefined {
  let offset = 0n;
  for (const r of pool.usable) {
    if (offset >= toOrdinal) break;
    const size = rangeSize(r);
    const lo = fromOrdinal > offset ? fromOrdinal : offset;
    const hi = toOrdinal < offset + size ? toOrdinal : offset + size;
    for (let ordinal = lo; ordinal < hi; ordinal++) {
      const ip: IPAddr = { family: pool.family, value: r.start + (ordinal - offset) };
      if (!isUsed(formatIP(ip))) return { ip, ordinal };
    }
    offset += size;
  }
  return undefined;
}

const familyName = (f: Family) => `IPv${f}`;

function unavailable(msg: string): CniError {
  return new CniError(ErrorCode.RequestedIpUnavailable, msg);
}

/** A static address: it must be usable in one of the candidates and free. */
export function takeRequested(candidates: Pool[], ip: IPAddr, isUsed: (pool: Pool, ip: string) => boolean): Allocation {
  const text = formatIP(ip);
  const pool = candidates.find((p) => rangeListContains(p.usable, ip));
  if (!pool) {
    const holder = candidates.find((p) => cidrContains(p.subnet, ip));
    if (holder) {
      throw unavailable(
        `requested IP ${text} is inside subnet ${formatCidr(holder.subnet)} of pool ${holder.name} but not one of its usable addresses (outside spec.ips, in spec.excludeIPs, or the gateway)`,
      );
    }
    throw unavailable(`requested IP ${text} is not in any of the selected ${familyName(ip.family)} pools ${candidates.map((p) => p.name).join(", ")}`);
  }
  if (isUsed(pool, text)) throw unavailable(`requested IP ${text} in pool ${pool.name} is already allocated`);
  return { pool, ip };
}

/** First free address of the first pool that has one, trying candidates in order. */
function takeFirstFree(
  candidates: Pool[],
  family: Family,
  isUsed: (pool: Pool, ip: string) => boolean,
  hint: ((pool: Pool) => bigint) | undefined,
): Allocation {
  for (const pool of candidates) {
    if (pool.total === 0n) continue;
    let start = hint ? hint(pool) : 0n;
    if (start < 0n || start >= pool.total) start = 0n;
    const used = (ip: string) => isUsed(pool, ip);
    const found = findFree(pool, used, start) ?? (start > 0n ? findFree(pool, used, 0n, start) : undefined);
    if (found) return { pool, ip: found.ip };
  }
  throw poolsExhausted(candidates, family);
}

/** Code 101: no candidate pool of the family has a free address. */
export function poolsExhausted(candidates: Pool[], family: Family): CniError {
  return new CniError(ErrorCode.PoolExhausted, `all IP addresses used out in pools ${candidates.map((p) => p.name).join(", ")} (${familyName(family)})`);
}

/** At most one requested address per family, and only for a family being allocated. */
export function requestedByFamily(sel: Selection, requested: IPAddr[]): Map<Family, IPAddr> {
  const out = new Map<Family, IPAddr>();
  for (const ip of requested) {
    const earlier = out.get(ip.family);
    if (earlier) {
      throw unavailable(`two ${familyName(ip.family)} addresses requested (${formatIP(earlier)} and ${formatIP(ip)}); one interface gets one per family`);
    }
    const candidates = ip.family === 4 ? sel.v4 : sel.v6;
    if (candidates.length === 0) {
      throw unavailable(`requested IP ${formatIP(ip)} but no ${familyName(ip.family)} pool is selected (pools from ${sel.rule})`);
    }
    out.set(ip.family, ip);
  }
  return out;
}

/**
 * One address per requested family, v4 then v6. Dual-stack gets both or throws: the
 * plan is returned whole or not at all, and nothing is written here anyway.
 * `hint` may name an ordinal to start the search from (wrapping around to the start).
 */
export function planAllocation(
  sel: Selection,
  isUsed: (pool: Pool, ip: string) => boolean,
  opts: { requested?: IPAddr[]; hint?: (pool: Pool) => bigint } = {},
): Allocation[] {
  const requested = requestedByFamily(sel, opts.requested ?? []);
  const plan: Allocation[] = [];
  for (const [family, candidates] of [
    [4, sel.v4],
    [6, sel.v6],
  ] as const) {
    if (candidates.length === 0) continue;
    const want = requested.get(family);
    plan.push(want ? takeRequested(candidates, want, isUsed) : takeFirstFree(candidates, family, isUsed, opts.hint));
  }
  return plan;
}
