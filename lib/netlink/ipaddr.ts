// IP address text <-> bytes, just what netlink attributes need.
import { CniError, ErrorCode } from "../cni/errors";
import { formatIP, parseCidr as parseTextCidr, parseIP } from "../ip/address";
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

// Text is parsed and formatted by lib/ip (one strict parser for the whole
// project); here only the conversion between its numbers and netlink's bytes.

/** Big-endian bytes of an address value: 4 for IPv4, 16 for IPv6. */
function toBytes(family: IpFamily, value: bigint): Uint8Array {
  const bytes = new Uint8Array(family === 4 ? 4 : 16);
  // 32 bits at a time: a few BigInt operations instead of one per byte.
  for (let word = bytes.length / 4 - 1, rest = value; word >= 0; word--, rest >>= 32n) {
    const w = Number(rest & 0xffffffffn);
    bytes[word * 4] = w >>> 24;
    bytes[word * 4 + 1] = (w >>> 16) & 0xff;
    bytes[word * 4 + 2] = (w >>> 8) & 0xff;
    bytes[word * 4 + 3] = w & 0xff;
  }
  return bytes;
}

function fromBytes(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = 0; i < bytes.length; i += 4) {
    const w = ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0;
    value = (value << 32n) | BigInt(w);
  }
  return value;
}

export function tryParseIp(text: string): IpBytes | undefined {
  const ip = parseIP(text);
  return ip && { family: ip.family, bytes: toBytes(ip.family, ip.value) };
}

/** Parses a dotted IPv4 or any valid IPv6 text form (no zone). */
export function parseIp(text: string): IpBytes {
  const ip = tryParseIp(text);
  if (!ip) throw invalid("IP address", text);
  return ip;
}

/** "10.0.0.0/8", "fd00::/64"; host bits are kept as given. */
export function parseCidr(text: string): Cidr {
  const parsed = parseTextCidr(text);
  if (!parsed) throw invalid("CIDR", text);
  return { family: parsed.ip.family, bytes: toBytes(parsed.ip.family, parsed.ip.value), prefix: parsed.cidr.prefix };
}

/** Canonical text: dotted IPv4, RFC 5952 IPv6 (lower case, longest zero run as ::). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length !== 4 && bytes.length !== 16) throw new Error(`not an IP address: ${bytes.length} bytes`);
  return formatIP({ family: bytes.length === 4 ? 4 : 6, value: fromBytes(bytes) });
}

/** Directed broadcast of an IPv4 network (all host bits set). */
export function ipv4Broadcast(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let bit = prefix; bit < 32; bit++) out[bit >> 3]! |= 0x80 >> (bit & 7);
  return out;
}
