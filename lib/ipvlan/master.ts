// Finding and vetting the parent ("master") of the ipvlan slaves before
// anything is allocated: missing, down or unusable are each their own error.
import { CniError, ErrorCode } from "../cni/errors";
import { getLinkByIndex, getLinkByName, type Link } from "../net/link";
import { listRoutes } from "../net/route";
import type { NetlinkSocket } from "../netlink/socket";

const IFF_LOOPBACK = 0x8;
// Kinds the kernel will not take as an ipvlan parent.
const UNUSABLE_KINDS = new Set(["ipvlan", "ipvtap", "bridge", "vrf", "wireguard", "tun"]);

/**
 * The interface of the default route (IPv4 first, then IPv6), as the reference plugin does.
 * `except` skips routes through that interface: with linkInContainer the pod's own slave,
 * whose default route ADD installed beside the master's, is not a master candidate (CHECK).
 */
export function defaultRouteInterface(sock: NetlinkSocket, except?: string): Link | undefined {
  for (const family of [4, 6] as const) {
    for (const route of listRoutes(sock, { family, table: 254 })) {
      if (!route.dst.endsWith("/0") || route.oif === undefined) continue;
      const link = getLinkByIndex(sock, route.oif);
      if (link && link.name !== except) return link;
    }
  }
  return undefined;
}

export function resolveMaster(sock: NetlinkSocket, name: string | undefined, where: string, except?: string): Link {
  const link = name ? getLinkByName(sock, name) : defaultRouteInterface(sock, except);
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
