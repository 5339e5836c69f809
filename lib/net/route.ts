// Routes (RTM_NEWROUTE / DELROUTE / GETROUTE). A route via a gateway needs its
// link up first (ENETUNREACH for IPv4, EHOSTUNREACH for IPv6 otherwise).
import { decodeAttrs, nla, type Attr } from "../netlink/attr";
import { NLM_F, RT_SCOPE, RT_TABLE, RTA, RTAX_MTU, RTM, RTN, RTPROT } from "../netlink/constants";
import { isNetlinkErrno } from "../netlink/error";
import { formatIP, type Family, type IPAddr } from "../ip/address";
import { addressFamily, bytesToIp, familyOf, ipToBytes } from "../netlink/ipaddr";
import { buildPayload, type NetlinkMessage } from "../netlink/message";
import type { NetlinkSocket } from "../netlink/socket";
import { decodeRtMsg, encodeRtMsg, RTMSG_LEN } from "../netlink/structs";
import { Errno } from "../sys/errno";
import { ipOf, prefixOf } from "./ip-text";
import { NetInputError } from "./errors";

export type RouteScope = "universe" | "site" | "link" | "host";
const SCOPES: Record<RouteScope, number> = {
  universe: RT_SCOPE.UNIVERSE,
  site: RT_SCOPE.SITE,
  link: RT_SCOPE.LINK,
  host: RT_SCOPE.HOST,
};

export interface RouteSpec {
  /** "10.0.0.0/8", "::/0", or "default" (family from gw/src or `family`). */
  dst: string;
  gw?: string;
  /** Output link index. */
  oif?: number;
  /** Routing table id; main (254) when absent. */
  table?: number;
  /** Defaults: link for an IPv4 route without gateway, universe otherwise. */
  scope?: RouteScope;
  /** Preferred source address (RTA_PREFSRC). */
  src?: string;
  /** Metric (RTA_PRIORITY). */
  priority?: number;
  mtu?: number;
  family?: Family;
}

export interface Route {
  family: Family;
  /** CIDR; "0.0.0.0/0" or "::/0" for a default route. */
  dst: string;
  gw?: string;
  oif?: number;
  table: number;
  scope: number;
  src?: string;
  priority?: number;
  mtu?: number;
  protocol: number;
  type: number;
}

function resolveDst(spec: RouteSpec): { ip: IPAddr; prefix: number } {
  if (spec.dst !== "default") return prefixOf(spec.dst);
  const family = spec.family ?? (spec.gw ? ipOf(spec.gw).family : spec.src ? ipOf(spec.src).family : undefined);
  if (!family) throw new NetInputError(`route "default" needs a gateway, source or family`);
  return { ip: { family, value: 0n }, prefix: 0 };
}

function sameFamily(family: Family, text: string, what: string): Uint8Array {
  const ip = ipOf(text);
  if (ip.family !== family) throw new NetInputError(`route ${what} ${text} is not IPv${family}`);
  return ipToBytes(ip);
}

function describe(verb: string, spec: RouteSpec): string {
  return `${verb} route ${spec.dst}${spec.gw ? ` via ${spec.gw}` : ""}${spec.oif !== undefined ? ` dev index ${spec.oif}` : ""}${spec.table !== undefined ? ` table ${spec.table}` : ""}`;
}

function encodeRoute(spec: RouteSpec, forDelete: boolean): Uint8Array {
  const dst = resolveDst(spec);
  const family = dst.ip.family;
  const table = spec.table ?? RT_TABLE.MAIN;
  const attrs: Attr[] = [nla.u32(RTA.TABLE, table)];
  if (dst.prefix > 0) attrs.push(nla.bytes(RTA.DST, ipToBytes(dst.ip)));
  if (spec.gw) attrs.push(nla.bytes(RTA.GATEWAY, sameFamily(family, spec.gw, "gateway")));
  if (spec.oif !== undefined) attrs.push(nla.u32(RTA.OIF, spec.oif));
  if (spec.src) attrs.push(nla.bytes(RTA.PREFSRC, sameFamily(family, spec.src, "source")));
  if (spec.priority !== undefined) attrs.push(nla.u32(RTA.PRIORITY, spec.priority));
  if (spec.mtu !== undefined) attrs.push(nla.nested(RTA.METRICS, [nla.u32(RTAX_MTU, spec.mtu)]));
  const defaultScope = family === 4 && !spec.gw ? RT_SCOPE.LINK : RT_SCOPE.UNIVERSE;
  const header = encodeRtMsg({
    family: addressFamily(family),
    dstLen: dst.prefix,
    // Table ids above 255 only fit in RTA_TABLE.
    table: table < 256 ? table : RT_TABLE.UNSPEC,
    // A delete matches any scope/protocol/type unless the caller pins the scope.
    protocol: forDelete ? RTPROT.UNSPEC : RTPROT.BOOT,
    scope: spec.scope ? SCOPES[spec.scope] : forDelete ? RT_SCOPE.NOWHERE : defaultScope,
    type: forDelete ? RTN.UNSPEC : RTN.UNICAST,
  });
  return buildPayload(header, attrs);
}

/** Adds a route; EEXIST if the same route is already there. */
export function addRoute(sock: NetlinkSocket, spec: RouteSpec): void {
  sock.request(
    { type: RTM.NEWROUTE, flags: NLM_F.CREATE | NLM_F.EXCL, payload: encodeRoute(spec, false) },
    describe("add", spec),
  );
}

/** Deletes a route; with ignoreMissing an absent one (ESRCH) is not an error. */
export function deleteRoute(sock: NetlinkSocket, spec: RouteSpec, { ignoreMissing = false } = {}): boolean {
  try {
    sock.request({ type: RTM.DELROUTE, payload: encodeRoute(spec, true) }, describe("delete", spec));
    return true;
  } catch (err) {
    if (ignoreMissing && isNetlinkErrno(err, Errno.ESRCH)) return false;
    throw err;
  }
}

export function parseRoute(msg: NetlinkMessage): Route {
  const header = decodeRtMsg(msg.payload);
  const attrs = decodeAttrs(msg.payload.subarray(RTMSG_LEN));
  const family = familyOf(header.family);
  const dst = attrs.bytes(RTA.DST);
  const route: Route = {
    family,
    dst: `${formatIP(dst ? bytesToIp(dst) : { family, value: 0n })}/${header.dstLen}`,
    table: attrs.u32(RTA.TABLE) ?? header.table,
    scope: header.scope,
    protocol: header.protocol,
    type: header.type,
  };
  const gw = attrs.bytes(RTA.GATEWAY);
  if (gw) route.gw = formatIP(bytesToIp(gw));
  const oif = attrs.u32(RTA.OIF);
  if (oif !== undefined) route.oif = oif;
  const src = attrs.bytes(RTA.PREFSRC);
  if (src) route.src = formatIP(bytesToIp(src));
  const priority = attrs.u32(RTA.PRIORITY);
  if (priority !== undefined) route.priority = priority;
  const mtu = attrs.nested(RTA.METRICS)?.u32(RTAX_MTU);
  if (mtu !== undefined) route.mtu = mtu;
  return route;
}

/** Routes of one family in the socket's netns; all tables unless `table` is given. */
export function listRoutes(sock: NetlinkSocket, filter: { family: Family; table?: number }): Route[] {
  const header = encodeRtMsg({ family: addressFamily(filter.family) });
  return sock
    .dump({ type: RTM.GETROUTE, payload: buildPayload(header) }, `list IPv${filter.family} routes`)
    .map(parseRoute)
    .filter((r) => r.family === filter.family && (filter.table === undefined || r.table === filter.table));
}
