// Where the etcd store keeps what, under the configured prefix P:
//   P/ips/v4/<8 hex digits>, P/ips/v6/<32 hex digits>   one claim per address in use
//   P/attachments/<node>/<containerID>/<ifname>         one record per attachment
//   P/pools/<name>                                      the pool's definition all nodes agreed on
//   P/conflicts/v4/<8 hex digits>, P/conflicts/v6/...   a quarantined address (its claim stays)
// A claim key is the address in fixed-width hex, so keys sort as addresses
// do: a contiguous range of addresses is one contiguous key range, which is
// what lets a node find the first free address with a bounded range read.
// Pure: no I/O.
import { familyBits, formatCidr, formatIP, type Family, type IPAddr } from "../../ip/address";
import { formatIPRange } from "../../ip/range";
import { fnv1a64 } from "../../hash";
import type { Pool } from "../../ipam/pool";

export interface EtcdKeys {
  claim(ip: IPAddr): string;
  /** The exclusive end key of the claims from `first` up to and including `last`. */
  claimRangeEnd(last: IPAddr): string;
  /** The address a claim key names, or undefined for a key that is not one. */
  addressOfClaim(key: string): IPAddr | undefined;
  /** The address a conflict key names, or undefined for a key that is not one. */
  addressOfConflict(key: string): IPAddr | undefined;
  attachment(node: string, containerID: string, ifname: string): string;
  /** The prefix of one node's attachments (of one container when given). */
  attachmentsOf(node: string, containerID?: string): string;
  /** The prefix of every node's attachments. */
  allAttachments(): string;
  pool(name: string): string;
  /** The conflict record of a quarantined address (named as its claim is). */
  conflict(ip: IPAddr): string;
  conflictRangeEnd(last: IPAddr): string;
  /** The prefix of every conflict record. */
  allConflicts(): string;
}

const hexWidth = (family: Family) => familyBits(family) / 4;

export function etcdKeys(prefix: string): EtcdKeys {
  const hex = (ip: IPAddr) => ip.value.toString(16).padStart(hexWidth(ip.family), "0");
  const claimBase = (family: Family) => `${prefix}/ips/v${family}/`;
  const claim = (ip: IPAddr) => claimBase(ip.family) + hex(ip);
  const conflict = (ip: IPAddr) => `${prefix}/conflicts/v${ip.family}/${hex(ip)}`;
  return {
    claim,
    // Keys are fixed width: the smallest key after claim(last) is claim(last) + "\0".
    claimRangeEnd: (last) => claim(last) + "\0",
    addressOfClaim: (key) => addressIn(key, claimBase),
    addressOfConflict: (key) => addressIn(key, (family) => `${prefix}/conflicts/v${family}/`),
    attachment: (node, containerID, ifname) => `${prefix}/attachments/${node}/${containerID}/${ifname}`,
    attachmentsOf: (node, containerID) => `${prefix}/attachments/${node}/${containerID === undefined ? "" : `${containerID}/`}`,
    allAttachments: () => `${prefix}/attachments/`,
    pool: (name) => `${prefix}/pools/${name}`,
    conflict,
    conflictRangeEnd: (last) => conflict(last) + "\0",
    allConflicts: () => `${prefix}/conflicts/`,
  };
}

/** The address a key names under `base(family)` (fixed-width hex), or undefined. */
function addressIn(key: string, base: (family: Family) => string): IPAddr | undefined {
  for (const family of [4, 6] as const) {
    const hex = key.slice(base(family).length);
    if (key.startsWith(base(family)) && hex.length === hexWidth(family) && /^[0-9a-f]+$/.test(hex)) {
      return { family, value: BigInt(`0x${hex}`) };
    }
  }
  return undefined;
}

/** What every node must agree on about a pool: its subnet, usable addresses and gateway. */
export interface PoolDefinition {
  fingerprint: string;
  subnet: string;
  gateway: string;
}

/**
 * The pool's definition as stored in etcd. The text is compared byte for
 * byte in a transaction, so it is built in one fixed order.
 */
export function poolDefinition(pool: Pool): { definition: PoolDefinition; text: string } {
  const subnet = formatCidr(pool.subnet);
  const gateway = pool.gateway ? formatIP(pool.gateway) : "";
  const fingerprint = fnv1a64(JSON.stringify([subnet, pool.usable.map(formatIPRange), gateway]));
  const definition: PoolDefinition = { fingerprint, subnet, gateway };
  return { definition, text: JSON.stringify(definition) };
}

/** The fingerprint in a stored definition's text, or the text itself when it does not parse. */
export function storedFingerprint(text: string): string {
  try {
    const fp = (JSON.parse(text) as { fingerprint?: unknown }).fingerprint;
    return typeof fp === "string" ? fp : text.slice(0, 64);
  } catch {
    return text.slice(0, 64);
  }
}

/** Node names become key segments: a Kubernetes node name (DNS subdomain) always fits. */
export function isKeySegment(name: string): boolean {
  return name !== "" && name.length <= 253 && !name.includes("/") && name !== "." && name !== ".." && !/[\0-\x1f\x7f]/.test(name);
}
