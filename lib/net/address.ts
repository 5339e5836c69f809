// Interface addresses (RTM_NEWADDR / GETADDR).
import { decodeAttrs, nla, type Attr } from "../netlink/attr";
import { IFA, IFA_F, NLM_F, RT_SCOPE, RTM } from "../netlink/constants";
import { cidrLast, formatIP, type Family } from "../ip/address";
import { addressFamily, bytesToIp, familyOf, ipToBytes } from "../netlink/ipaddr";
import { buildPayload, type NetlinkMessage } from "../netlink/message";
import type { NetlinkSocket } from "../netlink/socket";
import { decodeIfAddrMsg, encodeIfAddrMsg, IFADDRMSG_LEN } from "../netlink/structs";
import { ipOf } from "./ip-text";
import { NetInputError } from "./errors";

export interface AddressSpec {
  /** Link index in the socket's netns. */
  index: number;
  /** "10.6.0.21" or any IPv6 text form. */
  ip: string;
  prefix: number;
  /** Checked against ip when given. */
  family?: Family;
  /** IPv6: skip duplicate address detection so the address is usable at once. */
  noDad?: boolean;
}

export interface Address {
  index: number;
  family: Family;
  ip: string;
  prefix: number;
  scope: number;
  /** IFA_F_* (from IFA_FLAGS when present: it carries the bits above 0xff). */
  flags: number;
  tentative: boolean;
  dadFailed: boolean;
  permanent: boolean;
  label?: string;
}

function addressAttrs(spec: AddressSpec): { family: Family; attrs: Attr[]; flags: number } {
  const ip = ipOf(spec.ip);
  if (spec.family !== undefined && spec.family !== ip.family) {
    throw new NetInputError(`address ${spec.ip} is not IPv${spec.family}`);
  }
  const maxPrefix = ip.family === 4 ? 32 : 128;
  if (!Number.isInteger(spec.prefix) || spec.prefix < 0 || spec.prefix > maxPrefix) {
    throw new NetInputError(`invalid prefix length ${spec.prefix} for ${spec.ip}`);
  }
  const bytes = ipToBytes(ip);
  const attrs: Attr[] = [];
  let flags = 0;
  if (ip.family === 4) {
    // IFA_LOCAL is the interface's address; IFA_ADDRESS the peer (the same for non point-to-point).
    attrs.push(nla.bytes(IFA.LOCAL, bytes), nla.bytes(IFA.ADDRESS, bytes));
    // /31 and /32 have no broadcast address (RFC 3021).
    if (spec.prefix < 31) attrs.push(nla.bytes(IFA.BROADCAST, ipToBytes({ family: 4, value: cidrLast({ family: 4, base: ip.value, prefix: spec.prefix }) })));
  } else {
    attrs.push(nla.bytes(IFA.ADDRESS, bytes));
    if (spec.noDad) flags |= IFA_F.NODAD;
    attrs.push(nla.u32(IFA.FLAGS, flags)); // IFA_FLAGS overrides the u8 header field
  }
  return { family: ip.family, attrs, flags };
}

/** Adds an address; EEXIST if the link already has it. IPv6 needs disable_ipv6=0 on the link (else EACCES). */
export function addAddress(sock: NetlinkSocket, spec: AddressSpec): void {
  const { family, attrs, flags } = addressAttrs(spec);
  const header = encodeIfAddrMsg({
    family: addressFamily(family),
    prefixLen: spec.prefix,
    flags,
    scope: RT_SCOPE.UNIVERSE,
    index: spec.index,
  });
  sock.request(
    { type: RTM.NEWADDR, flags: NLM_F.CREATE | NLM_F.EXCL, payload: buildPayload(header, attrs) },
    `add address ${spec.ip}/${spec.prefix} to link index ${spec.index}`,
  );
}

export function parseAddress(msg: NetlinkMessage): Address {
  const header = decodeIfAddrMsg(msg.payload);
  const attrs = decodeAttrs(msg.payload.subarray(IFADDRMSG_LEN));
  const bytes = attrs.bytes(IFA.LOCAL) ?? attrs.bytes(IFA.ADDRESS) ?? new Uint8Array(0);
  const flags = attrs.u32(IFA.FLAGS) ?? header.flags;
  const address: Address = {
    index: header.index,
    family: familyOf(header.family),
    ip: bytes.length ? formatIP(bytesToIp(bytes)) : "",
    prefix: header.prefixLen,
    scope: header.scope,
    flags,
    tentative: (flags & IFA_F.TENTATIVE) !== 0,
    dadFailed: (flags & IFA_F.DADFAILED) !== 0,
    permanent: (flags & IFA_F.PERMANENT) !== 0,
  };
  const label = attrs.str(IFA.LABEL);
  if (label) address.label = label;
  return address;
}

/** Addresses in the socket's netns, optionally of one link, one family and/or one scope. */
export function listAddresses(sock: NetlinkSocket, filter: { index?: number; family?: Family; scope?: number } = {}): Address[] {
  const header = encodeIfAddrMsg({ family: filter.family ? addressFamily(filter.family) : 0 });
  const out: Address[] = [];
  for (const msg of sock.dump({ type: RTM.GETADDR, payload: buildPayload(header) }, "list addresses")) {
    // Link and scope are read from the fixed header before anything else is
    // decoded: a node carries two link-local addresses per pod (its end of
    // each pod's veth), and decoding those was most of a node-wide listing.
    const h = decodeIfAddrMsg(msg.payload);
    if ((filter.index !== undefined && h.index !== filter.index) || (filter.scope !== undefined && h.scope !== filter.scope)) continue;
    const a = parseAddress(msg);
    if (!filter.family || a.family === filter.family) out.push(a);
  }
  return out;
}
