// Reading and changing existing links (RTM_GETLINK / SETLINK / DELLINK).
// Creation of new links lives in link-create.ts.
import { decodeAttrs, nla, type Attr, type AttrTable } from "../netlink/attr";
import { IFF, IFLA, IFLA_INFO, IFLA_IPVLAN, IFLA_MACVLAN, IFLA_VLAN, MACVLAN_MODE, OPERSTATES, RTM } from "../netlink/constants";
import { isNetlinkErrno } from "../netlink/error";
import { buildPayload, type NetlinkMessage } from "../netlink/message";
import type { NetlinkSocket } from "../netlink/socket";
import { decodeIfInfoMsg, encodeIfInfoMsg, IFINFOMSG_LEN } from "../netlink/structs";
import { Errno } from "../sys/errno";
import { hasSlashColonNulOrSpace } from "../text";
import { utf8Length } from "../utf8";
import { NetInputError } from "./errors";

export type IpvlanMode = "l2" | "l3" | "l3s";
export const IPVLAN_MODES: readonly IpvlanMode[] = ["l2", "l3", "l3s"];

export interface Link {
  index: number;
  name: string;
  /** Raw IFF_* flags. */
  flags: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  mtu: number;
  /** "aa:bb:cc:dd:ee:ff"; absent for links without a hardware address. */
  mac?: string;
  /** IFLA_INFO_KIND: "ipvlan", "macvlan", "veth", "vlan", "dummy"...; absent for plain devices. */
  kind?: string;
  /** IFLA_LINK: the parent (lower) device. Its index is in the netns named by linkNetnsId when that is set. */
  linkIndex?: number;
  linkNetnsId?: number;
  /** IFLA_MASTER: the bridge/bond this link is enslaved to. */
  masterIndex?: number;
  ipvlanMode?: IpvlanMode;
  macvlanMode?: string;
  vlanId?: number;
  operstate: string;
}

// Skip the 64-bit counters in every reply: nothing here reads them.
const RTEXT_FILTER_SKIP_STATS = 1 << 3;

const IFNAMSIZ = 16;

/** The kernel's dev_valid_name, checked before sending so the error names the culprit. */
export function assertValidLinkName(name: string): void {
  const bytes = utf8Length(name);
  const why =
    bytes === 0
      ? "empty"
      : bytes >= IFNAMSIZ
        ? `longer than ${IFNAMSIZ - 1} bytes`
        : name === "." || name === ".."
          ? "reserved"
          : hasSlashColonNulOrSpace(name)
            ? "contains '/', ':', NUL or whitespace"
            : "";
  if (why) throw new NetInputError(`invalid interface name "${name}": ${why}`);
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":");
}

function macvlanModeName(mode: number): string {
  const entry = Object.entries(MACVLAN_MODE).find(([, v]) => v === mode);
  return entry ? entry[0].toLowerCase() : String(mode);
}

function readKindData(link: Link, info: AttrTable | undefined): void {
  const kind = info?.str(IFLA_INFO.KIND);
  if (!kind) return;
  link.kind = kind;
  const data = info?.nested(IFLA_INFO.DATA);
  if (!data) return;
  if (kind === "ipvlan") {
    const mode = data.u16(IFLA_IPVLAN.MODE);
    if (mode !== undefined) link.ipvlanMode = IPVLAN_MODES[mode];
  } else if (kind === "macvlan") {
    const mode = data.u32(IFLA_MACVLAN.MODE);
    if (mode !== undefined) link.macvlanMode = macvlanModeName(mode);
  } else if (kind === "vlan") {
    const id = data.u16(IFLA_VLAN.ID);
    if (id !== undefined) link.vlanId = id;
  }
}

/** Turns one RTM_NEWLINK message (a GETLINK reply or dump entry) into a Link. */
export function parseLink(msg: NetlinkMessage): Link {
  const header = decodeIfInfoMsg(msg.payload);
  const attrs = decodeAttrs(msg.payload.subarray(IFINFOMSG_LEN));
  const link: Link = {
    index: header.index,
    name: attrs.str(IFLA.IFNAME) ?? "",
    flags: header.flags,
    up: (header.flags & IFF.UP) !== 0,
    mtu: attrs.u32(IFLA.MTU) ?? 0,
    operstate: OPERSTATES[attrs.u8(IFLA.OPERSTATE) ?? 0] ?? "unknown",
  };
  const mac = attrs.bytes(IFLA.ADDRESS);
  if (mac && mac.length > 0) link.mac = formatMac(mac);
  const linkIndex = attrs.u32(IFLA.LINK);
  if (linkIndex !== undefined) link.linkIndex = linkIndex;
  const netnsId = attrs.s32(IFLA.LINK_NETNSID);
  if (netnsId !== undefined) link.linkNetnsId = netnsId;
  const master = attrs.u32(IFLA.MASTER);
  if (master !== undefined) link.masterIndex = master;
  readKindData(link, attrs.nested(IFLA.LINKINFO));
  return link;
}

function getLink(sock: NetlinkSocket, index: number, attrs: Attr[], what: string): Link | undefined {
  try {
    const [reply] = sock.request(
      {
        type: RTM.GETLINK,
        payload: buildPayload(encodeIfInfoMsg({ index }), [...attrs, nla.u32(IFLA.EXT_MASK, RTEXT_FILTER_SKIP_STATS)]),
      },
      `get link ${what}`,
    );
    return reply && parseLink(reply);
  } catch (err) {
    if (isNetlinkErrno(err, Errno.ENODEV)) return undefined;
    throw err;
  }
}

/** The link of that name in the socket's netns, or undefined if there is none. */
export function getLinkByName(sock: NetlinkSocket, name: string): Link | undefined {
  assertValidLinkName(name);
  return getLink(sock, 0, [nla.str(IFLA.IFNAME, name)], `"${name}"`);
}

export function getLinkByIndex(sock: NetlinkSocket, index: number): Link | undefined {
  return getLink(sock, index, [], `index ${index}`);
}

export function listLinks(sock: NetlinkSocket): Link[] {
  const payload = buildPayload(encodeIfInfoMsg({}), [nla.u32(IFLA.EXT_MASK, RTEXT_FILTER_SKIP_STATS)]);
  return sock.dump({ type: RTM.GETLINK, payload }, "list links").map(parseLink);
}

function setLink(sock: NetlinkSocket, header: { index: number; flags?: number; change?: number }, attrs: Attr[], op: string) {
  sock.request({ type: RTM.SETLINK, payload: buildPayload(encodeIfInfoMsg(header), attrs) }, op);
}

/** Renames a link; do it while the link is down (the kernel answers EBUSY otherwise). */
export function setLinkName(sock: NetlinkSocket, index: number, name: string): void {
  assertValidLinkName(name);
  setLink(sock, { index }, [nla.str(IFLA.IFNAME, name)], `rename link index ${index} to "${name}"`);
}

export function setLinkUp(sock: NetlinkSocket, index: number): void {
  setLink(sock, { index, flags: IFF.UP, change: IFF.UP }, [], `set link index ${index} up`);
}

/**
 * Deletes a link by index or name. With ignoreMissing, a link that is already
 * gone (ENODEV) is not an error; returns whether this call deleted it.
 */
export function deleteLink(sock: NetlinkSocket, link: number | string, { ignoreMissing = false } = {}): boolean {
  const byName = typeof link === "string";
  if (byName) assertValidLinkName(link);
  const payload = buildPayload(encodeIfInfoMsg({ index: byName ? 0 : link }), byName ? [nla.str(IFLA.IFNAME, link)] : []);
  try {
    sock.request({ type: RTM.DELLINK, payload }, `delete link ${byName ? `"${link}"` : `index ${link}`}`);
    return true;
  } catch (err) {
    if (ignoreMissing && isNetlinkErrno(err, Errno.ENODEV)) return false;
    throw err;
  }
}
