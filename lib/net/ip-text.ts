// Addresses handed to lib/net as text, parsed by lib/ip.
import { parseCidr, parseIP, type IPAddr } from "../ip/address";
import { NetInputError } from "./errors";

const invalid = (what: string, text: string) => new NetInputError(`invalid ${what} "${text}"`);

export function ipOf(text: string): IPAddr {
  const ip = parseIP(text);
  if (!ip) throw invalid("IP address", text);
  return ip;
}

/** "10.0.0.0/8", "fd00::/64": the address as written (host bits kept) and the prefix length. */
export function prefixOf(text: string): { ip: IPAddr; prefix: number } {
  const parsed = parseCidr(text);
  if (!parsed) throw invalid("CIDR", text);
  return { ip: parsed.ip, prefix: parsed.cidr.prefix };
}
