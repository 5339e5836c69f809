// Finding and vetting the parent ("master") of the ipvlan slaves before
// anything is allocated: missing, down or unusable are each their own error.
import { CniError, ErrorCode } from "../cni/errors";
import { createVlan } from "../net/link-create";
import { getLinkByIndex, getLinkByName, setLinkUp, type Link } from "../net/link";
import { isNetlinkErrno } from "../netlink/error";
import { Errno } from "../sys/errno";
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

/**
 * With vlanID the slaves hang off "<master>.<vlanID>", as upstream's
 * SpiderMultusConfig does. A missing VLAN link is created on the master (and
 * left in place for other pods: it belongs to the node, not to one pod);
 * `create: false` only looks it up (CHECK).
 */
export function resolveVlanParent(sock: NetlinkSocket, master: Link, vlanId: number, create = true): Link {
  const name = `${master.name}.${vlanId}`;
  let link = getLinkByName(sock, name);
  if (!link && create) {
    try {
      createVlan(sock, { name, parentIndex: master.index, vlanId });
    } catch (e) {
      if (!isNetlinkErrno(e, Errno.EEXIST)) throw e; // another ADD made it first
    }
    link = getLinkByName(sock, name);
  }
  if (!link) throw new CniError(ErrorCode.MasterNotFound, `VLAN interface ${name} not found`);
  if (link.kind !== "vlan" || link.vlanId !== vlanId || link.linkIndex !== master.index) {
    throw new CniError(ErrorCode.MasterUnusable, `${name} exists but is not VLAN ${vlanId} of ${master.name}`);
  }
  if (!link.up) {
    if (!create) throw new CniError(ErrorCode.MasterDown, `VLAN interface ${name} is down`);
    setLinkUp(sock, link.index);
    link = { ...link, up: true };
  }
  return link;
}

/** The master, or its VLAN "<master>.<vlanID>" when vlanID is set. */
export function resolveParent(
  sock: NetlinkSocket,
  cfg: { master?: string; vlanID: number },
  where: string,
  opts: { except?: string; create?: boolean } = {},
): Link {
  const master = resolveMaster(sock, cfg.master, where, opts.except);
  return cfg.vlanID === 0 ? master : resolveVlanParent(sock, master, cfg.vlanID, opts.create ?? true);
}
