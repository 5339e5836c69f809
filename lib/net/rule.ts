// Policy routing rules (RTM_NEWRULE / DELRULE / GETRULE): "from <src> lookup <table>".
import { decodeAttrs, nla, type Attr } from "../netlink/attr";
import { FR_ACT, FRA, NLM_F, RT_TABLE, RTM } from "../netlink/constants";
import { isNetlinkErrno } from "../netlink/error";
import { familyBits, formatIP, type Family, type IPAddr } from "../ip/address";
import { addressFamily, bytesToIp, familyOf, ipToBytes } from "../netlink/ipaddr";
import { buildPayload, type NetlinkMessage } from "../netlink/message";
import type { NetlinkSocket } from "../netlink/socket";
import { decodeFibRuleHdr, encodeFibRuleHdr, FIB_RULE_HDR_LEN } from "../netlink/structs";
import { Errno } from "../sys/errno";
import { ipOf, prefixOf } from "./ip-text";
import { NetInputError } from "./errors";

export interface RuleSpec {
  family: Family;
  priority: number;
  table: number;
  /** CIDR, or a bare address meaning a host prefix. */
  src?: string;
  dst?: string;
  /** Input interface name. */
  iif?: string;
  /** Output interface name. */
  oif?: string;
}

export interface Rule {
  family: Family;
  priority: number;
  table: number;
  action: number;
  src?: string;
  dst?: string;
  iif?: string;
  oif?: string;
}

function selector(family: Family, text: string): { ip: IPAddr; prefix: number } {
  const cidr = text.includes("/") ? prefixOf(text) : { ip: ipOf(text), prefix: familyBits(family) };
  if (cidr.ip.family !== family) throw new NetInputError(`rule selector ${text} is not IPv${family}`);
  return cidr;
}

function encodeRule(spec: RuleSpec): Uint8Array {
  const src = spec.src ? selector(spec.family, spec.src) : undefined;
  const dst = spec.dst ? selector(spec.family, spec.dst) : undefined;
  const attrs: Attr[] = [nla.u32(FRA.PRIORITY, spec.priority), nla.u32(FRA.TABLE, spec.table)];
  if (src) attrs.push(nla.bytes(FRA.SRC, ipToBytes(src.ip)));
  if (dst) attrs.push(nla.bytes(FRA.DST, ipToBytes(dst.ip)));
  if (spec.iif) attrs.push(nla.str(FRA.IIFNAME, spec.iif));
  if (spec.oif) attrs.push(nla.str(FRA.OIFNAME, spec.oif));
  const header = encodeFibRuleHdr({
    family: addressFamily(spec.family),
    dstLen: dst?.prefix ?? 0,
    srcLen: src?.prefix ?? 0,
    table: spec.table < 256 ? spec.table : RT_TABLE.UNSPEC,
    action: FR_ACT.TO_TBL,
  });
  return buildPayload(header, attrs);
}

function describe(verb: string, spec: RuleSpec): string {
  const parts = [`${verb} IPv${spec.family} rule priority ${spec.priority}`];
  if (spec.src) parts.push(`from ${spec.src}`);
  if (spec.dst) parts.push(`to ${spec.dst}`);
  if (spec.iif) parts.push(`iif ${spec.iif}`);
  if (spec.oif) parts.push(`oif ${spec.oif}`);
  parts.push(`lookup ${spec.table}`);
  return parts.join(" ");
}

/** Adds a rule; EEXIST when an identical rule exists. */
export function addRule(sock: NetlinkSocket, spec: RuleSpec): void {
  sock.request({ type: RTM.NEWRULE, flags: NLM_F.CREATE | NLM_F.EXCL, payload: encodeRule(spec) }, describe("add", spec));
}

/** Deletes a rule; with ignoreMissing an absent one (ENOENT) is not an error. */
export function deleteRule(sock: NetlinkSocket, spec: RuleSpec, { ignoreMissing = false } = {}): boolean {
  try {
    sock.request({ type: RTM.DELRULE, payload: encodeRule(spec) }, describe("delete", spec));
    return true;
  } catch (err) {
    if (ignoreMissing && isNetlinkErrno(err, Errno.ENOENT)) return false;
    throw err;
  }
}

export function parseRule(msg: NetlinkMessage): Rule {
  const header = decodeFibRuleHdr(msg.payload);
  const attrs = decodeAttrs(msg.payload.subarray(FIB_RULE_HDR_LEN));
  const rule: Rule = {
    family: familyOf(header.family),
    priority: attrs.u32(FRA.PRIORITY) ?? 0,
    table: attrs.u32(FRA.TABLE) ?? header.table,
    action: header.action,
  };
  const src = attrs.bytes(FRA.SRC);
  if (src) rule.src = `${formatIP(bytesToIp(src))}/${header.srcLen}`;
  const dst = attrs.bytes(FRA.DST);
  if (dst) rule.dst = `${formatIP(bytesToIp(dst))}/${header.dstLen}`;
  const iif = attrs.str(FRA.IIFNAME);
  if (iif) rule.iif = iif;
  const oif = attrs.str(FRA.OIFNAME);
  if (oif) rule.oif = oif;
  return rule;
}

export function listRules(sock: NetlinkSocket, family: Family): Rule[] {
  const header = encodeFibRuleHdr({ family: addressFamily(family) });
  return sock
    .dump({ type: RTM.GETRULE, payload: buildPayload(header) }, `list IPv${family} rules`)
    .map(parseRule)
    .filter((r) => r.family === family);
}
