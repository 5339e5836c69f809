// IP address text <-> bytes, just what netlink attributes need (kept here so
// the netlink layer depends on nothing outside lib/netlink, lib/sys and lib/cni).
import { CniError, ErrorCode } from "../cni/errors";
import { AF_INET, AF_INET6 } from "./constants";

export type IpFamily = 4 | 6;

export interface IpBytes {
  family: IpFamily;
  bytes: Uint8Array;
}

export interface Cidr extends IpBytes {
  prefix: number;
}

export const addressFamily = (family: IpFamily) => (family === 4 ? AF_INET : AF_INET6);
export const ipFamilyOf = (af: number): IpFamily => (af === AF_INET ? 4 : 6);

const invalid = (what: string, text: string) => new CniError(ErrorCode.InvalidConfig, `invalid ${what} "${text}"`);

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    // No leading zeros: "010" is octal to some parsers and decimal to others.
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    bytes[i] = n;
  }
  return bytes;
}

function parseGroups(text: string): number[] | undefined {
  if (text === "") return [];
  const groups: number[] = [];
  const parts = text.split(":");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (i === parts.length - 1 && part.includes(".")) {
      const v4 = parseIPv4(part); // embedded IPv4 in the last 32 bits
      if (!v4) return undefined;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

function parseIPv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const count = head.length + tail.length;
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined;
  if (halves.length === 2 && head.length > 0 && halves[0]!.includes(".")) return undefined;
  const groups = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

export function tryParseIp(text: string): IpBytes | undefined {
  if (text.includes(":")) {
    const bytes = parseIPv6(text);
    return bytes && { family: 6, bytes };
  }
  const bytes = parseIPv4(text);
  return bytes && { family: 4, bytes };
}

/** Parses a dotted IPv4 or any valid IPv6 text form (no zone). */
export function parseIp(text: string): IpBytes {
  const ip = tryParseIp(text);
  if (!ip) throw invalid("IP address", text);
  return ip;
}

/** "10.0.0.0/8", "fd00::/64"; host bits are kept as given. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  if (slash === -1) throw invalid("CIDR", text);
  const ip = tryParseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^(0|[1-9]\d{0,2})$/.test(prefixText)) throw invalid("CIDR", text);
  const prefix = Number(prefixText);
  if (prefix > ip.bytes.length * 8) throw invalid("CIDR", text);
  return { ...ip, prefix };
}

/** Canonical text: dotted IPv4, RFC 5952 IPv6 (lower case, longest zero run as ::). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  if (bytes.length !== 16) throw new Error(`not an IP address: ${bytes.length} bytes`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.subarray(12).join(".")}`;
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Directed broadcast of an IPv4 network (all host bits set). */
export function ipv4Broadcast(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let bit = prefix; bit < 32; bit++) out[bit >> 3]! |= 0x80 >> (bit & 7);
  return out;
}
