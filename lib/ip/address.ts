// IP addresses and CIDRs as (family, bigint). Strict parsing, canonical formatting.
// Pure: no sockets, no Node APIs, so it runs unchanged on Node and Bun.

export type Family = 4 | 6;

export interface IPAddr {
  family: Family;
  value: bigint;
}

export interface Cidr {
  family: Family;
  /** The network address (host bits cleared). */
  base: bigint;
  prefix: number;
}

export function familyBits(f: Family): number {
  return f === 4 ? 32 : 128;
}

/** "0" or a decimal number without leading zeros, else -1. */
function canonicalDecimal(text: string): number {
  return /^(0|[1-9][0-9]*)$/.test(text) ? Number(text) : -1;
}

/** Dotted quad, each octet 0-255 in decimal without leading zeros. */
function parseV4(text: string): bigint | undefined {
  const octets = text.split(".");
  if (octets.length !== 4) return undefined;
  let value = 0;
  for (const octet of octets) {
    // "010" is octal to inet_aton but decimal to others: refuse the ambiguity.
    const n = octet.length > 3 ? -1 : canonicalDecimal(octet);
    if (n < 0 || n > 255) return undefined;
    value = value * 256 + n;
  }
  return BigInt(value);
}

/** Parses the 16-bit groups of one side of "::"; an IPv4 tail counts as two groups. */
function parseV6Groups(side: string, allowV4Tail: boolean): number[] | undefined {
  if (side === "") return [];
  const parts = side.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? "";
    if (allowV4Tail && i === parts.length - 1 && part.includes(".")) {
      const v4 = parseV4(part);
      if (v4 === undefined) return undefined;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
      groups.push(parseInt(part, 16));
    }
  }
  return groups;
}

function parseV6(text: string): bigint | undefined {
  // Every character is checked by the group parsers (hex digits, or the
  // digits and dots of an IPv4 tail), so zone ids ("%eth0") are refused: a
  // pool address has no link scope.
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseV6Groups(halves[0] ?? "", false);
    const tail = parseV6Groups(halves[1] ?? "", true);
    if (!head || !tail) return undefined;
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    const all = parseV6Groups(text, true);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/** Strict parse of one address; undefined when the text is not exactly an IP. */
export function parseIP(text: string): IPAddr | undefined {
  if (text.includes(":")) {
    const value = parseV6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseV4(text);
  return value === undefined ? undefined : { family: 4, value };
}

function formatV4(value: bigint): string {
  return `${(value >> 24n) & 0xffn}.${(value >> 16n) & 0xffn}.${(value >> 8n) & 0xffn}.${value & 0xffn}`;
}

const V4_MAPPED_PREFIX = 0xffffn << 32n;

function formatV6(value: bigint): string {
  // RFC 5952 section 5: IPv4-mapped addresses keep the dotted tail.
  if (value >> 32n === 0xffffn) return `::ffff:${formatV4(value - V4_MAPPED_PREFIX)}`;
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  // Longest run of zero groups (length >= 2, first one on a tie) becomes "::".
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** Canonical text: dotted quad, or RFC 5952 (lowercase, compressed) IPv6. */
export function formatIP(ip: IPAddr): string {
  return ip.family === 4 ? formatV4(ip.value) : formatV6(ip.value);
}

/** Host-bit mask of a prefix: the bits a network address must have cleared. */
function hostMask(family: Family, prefix: number): bigint {
  return (1n << BigInt(familyBits(family) - prefix)) - 1n;
}

/**
 * Parses "addr/prefix". `ip` is the address as written; `cidr.base` has the host
 * bits cleared, so callers can tell "10.0.0.5/24" from the canonical "10.0.0.0/24".
 */
export function parseCidr(text: string): { cidr: Cidr; ip: IPAddr } | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const ip = parseIP(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  const prefix = canonicalDecimal(prefixText);
  if (!ip || prefix < 0 || prefix > familyBits(ip.family)) return undefined;
  const base = ip.value & ~hostMask(ip.family, prefix);
  return { cidr: { family: ip.family, base, prefix }, ip };
}

export function formatCidr(c: Cidr): string {
  return `${formatIP({ family: c.family, value: c.base })}/${c.prefix}`;
}

/** Last address of the CIDR (the broadcast address for IPv4). */
export function cidrLast(c: Cidr): bigint {
  return c.base | hostMask(c.family, c.prefix);
}

export function cidrContains(c: Cidr, ip: IPAddr): boolean {
  return c.family === ip.family && ip.value >= c.base && ip.value <= cidrLast(c);
}

/** CIDRs either nest or are disjoint, so overlap means one holds the other's base. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  return cidrContains(a, { family: b.family, value: b.base }) || cidrContains(b, { family: a.family, value: a.base });
}

export function cidrEquals(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.base === b.base && a.prefix === b.prefix;
}
