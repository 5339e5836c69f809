// Finding and vetting the parent ("master") of the ipvlan slaves before
// anything is allocated: missing, down or unusable are each their own error.
import { CniError, ErrorCode } from "../cni/errors";
import { getLinkByIndex, getLinkByName, type Link } from "../net/link";
import { listRoutes } from "../net/route";
import type { NetlinkSocket } from "../netlink/socket";

const IFF_LOOPBACK = 0x8;
// Kinds the kernel will not take as an ipvlan parent.
const UNUSABLE_KINDS = new Set(["ipvlan", "ipvtap", "bridge", "vrf", "wireguard", "tun"]);

/** The interface of the default route (IPv4 first, then IPv6), as the reference plugin does. */
export function defaultRouteInterface(sock: NetlinkSocket): Link | undefined {
  for (const family of [4, 6] as const) {
    const route = listRoutes(sock, { family, table: 254 }).find((r) => r.dst.endsWith("/0") && r.oif !== undefined);
    if (route?.oif !== undefined) return getLinkByIndex(sock, route.oif);
  }
  return undefined;
}

export function resolveMaster(sock: NetlinkSocket, name: string | undefined, where: string): Link {
  const link = name ? getLinkByName(sock, name) : defaultRouteInterface(sock);
  if (!link) {
    throw new CniError(
      ErrorCode.MasterNotFound,
      name ? `master interface ${name} not found in the ${where} network namespace` : `no "master" configured and the ${where} has no default route to take it from`,
    );
  }
  if (link.flags & IFF_LOOPBACK) throw new CniError(ErrorCode.MasterUnusable, `master ${link.name} is a loopback device and cannot carry ipvlan slaves`);
  if (link.kind && UNUSABLE_KINDS.has(link.kind)) {
    throw new CniError(ErrorCode.MasterUnusable, `master ${link.name} is a ${link.kind} device and cannot be an ipvlan parent`);
  }
  if (link.masterIndex !== undefined) {
    throw new CniError(ErrorCode.MasterUnusable, `master ${link.name} is enslaved to another device (index ${link.masterIndex}); use that device as master`);
  }
  if (!link.up) throw new CniError(ErrorCode.MasterDown, `master interface ${link.name} is down`);
  return link;
}
