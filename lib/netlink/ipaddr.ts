// lib/ip's addresses to and from the bytes netlink attributes carry. Text is
// parsed and formatted by lib/ip only.
import type { Family, IPAddr } from "../ip/address";
import { AF_INET, AF_INET6 } from "./constants";

export const addressFamily = (family: Family) => (family === 4 ? AF_INET : AF_INET6);
export const familyOf = (af: number): Family => (af === AF_INET ? 4 : 6);

/** Big-endian bytes of an address: 4 for IPv4, 16 for IPv6. */
export function ipToBytes(ip: IPAddr): Uint8Array {
  const bytes = new Uint8Array(ip.family === 4 ? 4 : 16);
  let rest = ip.value;
  for (let i = bytes.length - 1; i >= 0; i--, rest >>= 8n) bytes[i] = Number(rest & 0xffn);
  return bytes;
}

export function bytesToIp(bytes: Uint8Array): IPAddr {
  if (bytes.length !== 4 && bytes.length !== 16) throw new Error(`not an IP address: ${bytes.length} bytes`);
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return { family: bytes.length === 4 ? 4 : 6, value };
}
