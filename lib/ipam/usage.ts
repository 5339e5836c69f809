// How much of each pool is in use, from the claimed addresses (lib/store's
// usage.ts lists them): pure, for `pools`, `metrics` and the metrics refresh.
import { cidrContains, parseIP, type Family, type IPAddr } from "../ip/address";
import { rangeListContains } from "../ip/range";
import type { Pool } from "./pool";

/** The pools a node sees: those without nodeName, and those naming it. */
export const poolsOnNode = (pools: Pool[], node: string): Pool[] =>
  pools.filter((p) => p.nodeName.length === 0 || p.nodeName.includes(node));

/** A usable range of one pool, with the pool's subnet bounds; numbers for IPv4, bigints for IPv6. */
interface Span<T> {
  start: T;
  end: T;
  subnetFirst: T;
  subnetLast: T;
  pool: Pool;
}

/**
 * Every usable range of every pool of one family, sorted by start, or
 * undefined when two of them overlap (validated pools never share an address;
 * if they somehow did, "first pool in list order" needs the linear scan).
 */
function sortedSpans<T extends number | bigint>(pools: Pool[], family: Family, conv: (v: bigint) => T): Span<T>[] | undefined {
  const spans: Span<T>[] = [];
  for (const pool of pools) {
    if (pool.family !== family) continue;
    const subnetFirst = conv(pool.subnet.base);
    const subnetLast = conv(pool.subnet.base + (1n << BigInt((family === 4 ? 32 : 128) - pool.subnet.prefix)) - 1n);
    for (const r of pool.usable) spans.push({ start: conv(r.start), end: conv(r.end), subnetFirst, subnetLast, pool });
  }
  spans.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  for (let i = 1; i < spans.length; i++) if (spans[i]!.start <= spans[i - 1]!.end) return undefined;
  return spans;
}

/** The pool whose usable range holds `value` and whose subnet does too (binary search over disjoint spans). */
function findOwner<T extends number | bigint>(spans: Span<T>[], value: T): Pool | undefined {
  let lo = 0;
  let hi = spans.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = spans[mid]!;
    if (value < s.start) hi = mid - 1;
    else if (value > s.end) lo = mid + 1;
    else return value >= s.subnetFirst && value <= s.subnetLast ? s.pool : undefined;
  }
  return undefined;
}

/**
 * An IPv4 address in dotted decimal as parseIP accepts it (four decimal
 * octets 0-255, no leading zeros) as a number; undefined for anything else.
 * Claim names are nearly all of this shape, and a number compares much
 * faster than parseIP's bigint.
 */
function parseIPv4Number(text: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return undefined; // leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  return value * 256 + octet;
}

/**
 * Counts claims per pool; a claim outside every pool's usable set counts
 * nowhere. O((claims + ranges) x log ranges): each claim is found by binary
 * search among the pools' usable ranges (IPv4 as plain numbers), not by
 * trying every pool.
 */
export function countAllocations(pools: Pool[], claims: string[]): Map<string, number> {
  const counts = new Map(pools.map((p) => [p.name, 0]));
  const v4 = sortedSpans(pools, 4, Number);
  const v6 = sortedSpans(pools, 6, (v) => v);
  const linear = (ip: IPAddr) => pools.find((p) => p.family === ip.family && cidrContains(p.subnet, ip) && rangeListContains(p.usable, ip));
  for (const text of claims) {
    let owner: Pool | undefined;
    const n = v4 ? parseIPv4Number(text) : undefined;
    if (n !== undefined) {
      owner = findOwner(v4!, n);
    } else {
      const ip = parseIP(text);
      if (!ip) continue;
      const spans = ip.family === 4 ? v4 : v6;
      owner = spans ? findOwner<bigint | number>(spans, ip.family === 4 ? Number(ip.value) : ip.value) : linear(ip);
    }
    if (owner) counts.set(owner.name, (counts.get(owner.name) ?? 0) + 1);
  }
  return counts;
}
