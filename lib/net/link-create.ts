// Creating links with RTM_NEWLINK (CREATE|EXCL: an existing name is EEXIST,
// never silently reused).
//
// IFLA_LINK (the parent index) is resolved in the netns of the SENDING socket,
// while IFLA_NET_NS_FD places the new link in another netns at creation time:
// so an ipvlan for a pod is created over a host-side socket with netnsFd set to
// the pod's netns, under a temporary name, then renamed over a pod-side socket.
import { nla, type Attr } from "../netlink/attr";
import { IFLA, IFLA_INFO, IFLA_IPVLAN, IFLA_MACVLAN, IFLA_VLAN, IPVLAN_MODE, MACVLAN_MODE, NLM_F, RTM, VETH_INFO_PEER } from "../netlink/constants";
import { isNetlinkErrno } from "../netlink/error";
import { buildPayload } from "../netlink/message";
import type { NetlinkSocket } from "../netlink/socket";
import { encodeIfInfoMsg } from "../netlink/structs";
import { Errno } from "../sys/errno";
import { assertValidLinkName, type IpvlanMode } from "./link";

export interface ParentedLinkOptions {
  /** Name of the new link (at most 15 bytes); use a temporary one when creating into a pod. */
  name: string;
  /** Index of the parent in the sending socket's netns. */
  parentIndex: number;
  mtu?: number;
  /** Create the link directly inside this netns (fd from openNetns). */
  netnsFd?: number;
}

interface LinkSpec {
  name: string;
  kind: string;
  parentIndex?: number;
  mtu?: number;
  netnsFd?: number;
  /** IFLA_INFO_DATA: attributes (nested) or raw bytes (veth's peer). */
  data?: Attr[];
}

function describe(spec: LinkSpec): string {
  return `create ${spec.kind} link "${spec.name}"${spec.parentIndex !== undefined ? ` on parent index ${spec.parentIndex}` : ""}`;
}

/** The one code path every kind goes through. */
function createLink(sock: NetlinkSocket, spec: LinkSpec): void {
  assertValidLinkName(spec.name);
  const attrs: Attr[] = [nla.str(IFLA.IFNAME, spec.name)];
  if (spec.parentIndex !== undefined) attrs.push(nla.u32(IFLA.LINK, spec.parentIndex));
  if (spec.mtu !== undefined) attrs.push(nla.u32(IFLA.MTU, spec.mtu));
  if (spec.netnsFd !== undefined) attrs.push(nla.u32(IFLA.NET_NS_FD, spec.netnsFd));
  const info: Attr[] = [nla.str(IFLA_INFO.KIND, spec.kind)];
  if (spec.data) info.push(nla.nested(IFLA_INFO.DATA, spec.data));
  attrs.push(nla.nested(IFLA.LINKINFO, info));
  sock.request(
    { type: RTM.NEWLINK, flags: NLM_F.CREATE | NLM_F.EXCL, payload: buildPayload(encodeIfInfoMsg({}), attrs) },
    describe(spec),
  );
}

/** Shared by ipvlan and macvlan (and anything else that hangs off a parent). */
export function createLinkOnParent(
  sock: NetlinkSocket,
  kind: string,
  options: ParentedLinkOptions,
  data?: Attr[],
): void {
  createLink(sock, { ...options, kind, ...(data ? { data } : {}) });
}

const IPVLAN_MODE_VALUES: Record<IpvlanMode, number> = { l2: IPVLAN_MODE.L2, l3: IPVLAN_MODE.L3, l3s: IPVLAN_MODE.L3S };

export function createIpvlan(sock: NetlinkSocket, options: ParentedLinkOptions & { mode: IpvlanMode }): void {
  createLinkOnParent(sock, "ipvlan", options, [nla.u16(IFLA_IPVLAN.MODE, IPVLAN_MODE_VALUES[options.mode])]);
}

export type MacvlanMode = "private" | "vepa" | "bridge" | "passthru";
const MACVLAN_MODE_VALUES: Record<MacvlanMode, number> = {
  private: MACVLAN_MODE.PRIVATE,
  vepa: MACVLAN_MODE.VEPA,
  bridge: MACVLAN_MODE.BRIDGE,
  passthru: MACVLAN_MODE.PASSTHRU,
};

export function createMacvlan(sock: NetlinkSocket, options: ParentedLinkOptions & { mode?: MacvlanMode }): void {
  createLinkOnParent(sock, "macvlan", options, [nla.u32(IFLA_MACVLAN.MODE, MACVLAN_MODE_VALUES[options.mode ?? "bridge"])]);
}

export function createVlan(sock: NetlinkSocket, options: ParentedLinkOptions & { vlanId: number }): void {
  createLinkOnParent(sock, "vlan", options, [nla.u16(IFLA_VLAN.ID, options.vlanId)]);
}

export interface VethOptions {
  name: string;
  peerName: string;
  /** Put the peer end into this netns (fd from openNetns). */
  peerNetnsFd?: number;
  /** Put the first end into this netns. */
  netnsFd?: number;
  mtu?: number;
}

export function createVeth(sock: NetlinkSocket, options: VethOptions): void {
  assertValidLinkName(options.peerName);
  const peerAttrs: Attr[] = [nla.str(IFLA.IFNAME, options.peerName)];
  if (options.mtu !== undefined) peerAttrs.push(nla.u32(IFLA.MTU, options.mtu));
  if (options.peerNetnsFd !== undefined) peerAttrs.push(nla.u32(IFLA.NET_NS_FD, options.peerNetnsFd));
  // VETH_INFO_PEER holds a whole ifinfomsg + attributes, so it is raw bytes, not a nested list.
  const peer = nla.bytes(VETH_INFO_PEER, buildPayload(encodeIfInfoMsg({}), peerAttrs));
  createLink(sock, { ...options, kind: "veth", data: [peer] });
}

/**
 * True when a create failed because the kernel does not know the link kind
 * (e.g. no CONFIG_IPVLAN): EOPNOTSUPP, extack "Unknown device type".
 */
export function isUnsupportedLinkKind(err: unknown): boolean {
  return isNetlinkErrno(err, Errno.EOPNOTSUPP);
}
