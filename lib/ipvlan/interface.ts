// Building the pod's ipvlan interface: create it on the master straight into
// the pod namespace under a temporary name, rename it, set the neighbour
// announcement sysctls, add addresses, bring it up (neighbours then get a
// gratuitous ARP / unsolicited NA) and add routes. With conflict detection,
// the link comes up first, its IPv4 addresses are ARP-probed before they are
// added, and announced once they are.
import { sleepSync } from "../sleep";
import { fnv1a64 } from "../hash";
import { CniError, ErrorCode } from "../cni/errors";
import type { CniIPConfig, CniRoute } from "../cni/types";
import { addAddress, listAddresses } from "../net/address";
import { createIpvlan } from "../net/link-create";
import { deleteLink, getLinkByName, setLinkName, setLinkUp, type Link } from "../net/link";
import { addRoute, type RouteSpec } from "../net/route";
import { addRule, deleteRule, listRules } from "../net/rule";
import { formatCidr, parseCidr } from "../ip/address";
import { announceIPv4, probeIPv4, type InterfaceAt } from "../net/arp-probe";
import { writeSysctl } from "../net/sysctl";
import { isNetlinkErrno } from "../netlink/error";
import type { NetlinkSocket } from "../netlink/socket";
import { Errno } from "../sys/errno";
import type { DadSettings, IpvlanMode } from "./config";
import type { PodNetns } from "../net/pod-netns";
import { AddressConflictError } from "./conflict";

export interface CreateOptions {
  /** Socket of the namespace the master lives in. */
  masterSock: NetlinkSocket;
  master: Link;
  pod: PodNetns;
  ifname: string;
  mode: IpvlanMode;
  mtu: number;
  /** The master is inside the pod namespace (linkInContainer). */
  masterInPod: boolean;
  containerId: string;
}

/**
 * The name the link is created under before it is renamed: derived from the
 * container and interface, so a DEL after an ADD killed between creation and
 * rename knows what to remove.
 */
export const temporaryName = (containerId: string, ifname: string) =>
  `ipv${fnv1a64(`${containerId}\0${ifname}`).slice(0, 10)}`;

export function assertInterfaceAbsent(pod: PodNetns, ifname: string): void {
  if (getLinkByName(pod.sock, ifname)) {
    throw new CniError(ErrorCode.InterfaceExists, `interface ${ifname} already exists in network namespace ${pod.path}`);
  }
}

/** Creates the slave and names it ifname inside the pod; returns it as the pod sees it. */
export function createPodIpvlan(o: CreateOptions): Link {
  const tmp = temporaryName(o.containerId, o.ifname);
  // Left by an ADD killed before its rename: not in use by anything.
  deleteLink(o.pod.sock, tmp, { ignoreMissing: true });
  try {
    createIpvlan(o.masterSock, {
      name: tmp,
      parentIndex: o.master.index,
      mode: o.mode,
      ...(o.mtu > 0 ? { mtu: o.mtu } : {}),
      ...(o.masterInPod ? {} : { netnsFd: o.pod.fd }),
    });
  } catch (e) {
    if (isNetlinkErrno(e, Errno.EOPNOTSUPP)) {
      throw new CniError(ErrorCode.MasterUnusable, `cannot create an ipvlan slave of ${o.master.name}: this kernel has no ipvlan support (${e.kernelMessage ?? "EOPNOTSUPP"})`, "load the ipvlan module: modprobe ipvlan");
    }
    if (isNetlinkErrno(e, Errno.EINVAL) && o.mtu > 0) {
      throw new CniError(ErrorCode.InvalidConfig, `cannot create an ipvlan slave of ${o.master.name} with mtu ${o.mtu}: ${e.kernelMessage ?? e.message} (at most the master's mtu ${o.master.mtu})`);
    }
    throw e;
  }
  const created = getLinkByName(o.pod.sock, tmp);
  if (!created) throw new CniError(ErrorCode.NetlinkFailure, `created ipvlan link ${tmp} is not visible in ${o.pod.path}`);
  try {
    // Rename before bringing it up: the kernel refuses to rename a running link.
    setLinkName(o.pod.sock, created.index, o.ifname);
  } catch (e) {
    deleteLink(o.pod.sock, created.index, { ignoreMissing: true });
    if (isNetlinkErrno(e, Errno.EEXIST)) {
      throw new CniError(ErrorCode.InterfaceExists, `interface ${o.ifname} already exists in network namespace ${o.pod.path}`);
    }
    throw e;
  }
  return { ...created, name: o.ifname };
}

const hasFamily = (ips: CniIPConfig[], v6: boolean) => ips.some((ip) => ip.address.includes(":") === v6);

function trySysctl(key: string, value: number, required: boolean): void {
  try {
    writeSysctl(key, value);
  } catch (e) {
    if (required) throw e; // e.g. no IPv6 in this kernel: only fatal if we need it
  }
}

/** Waits (bounded) for IPv6 DAD to finish on the link; a failed DAD is an address conflict. */
function awaitDad(pod: PodNetns, link: Link, dad: DadSettings): void {
  const deadline = performance.now() + dad.timeoutMs;
  for (;;) {
    const v6 = listAddresses(pod.sock, { index: link.index, family: 6 }).filter((a) => a.scope === 0);
    const failed = v6.filter((a) => a.dadFailed);
    if (failed.length > 0) {
      throw new AddressConflictError(
        failed.map((a) => ({ ip: a.ip, mac: "" })),
        `IPv6 address ${failed.map((a) => a.ip).join(", ")} is already used by another host on the link (duplicate address detection failed)`,
      );
    }
    const pending = v6.filter((a) => a.tentative);
    if (pending.length === 0) return;
    if (performance.now() >= deadline) {
      throw new CniError(
        ErrorCode.AddressConflict,
        `IPv6 address ${pending.map((a) => a.ip).join(", ")} still tentative after ${dad.timeoutMs} ms of duplicate address detection`,
        "raise ipv6DAD.timeoutMs or disable ipv6DAD",
      );
    }
    sleepSync(20);
  }
}

/** The routing table of a pod interface that does not hold the main default route. */
export const interfaceTable = (linkIndex: number) => 100 + linkIndex;
/** Priority of the pod's "from <address> lookup <table>" rules. */
export const SOURCE_RULE_PRIORITY = 1000;

export interface PodInterfaceOptions {
  dad: DadSettings;
  /** A further NIC of a multi-NIC pod: its own routing table (see configurePodInterface). */
  ownTable?: number;
  /** ARP-probe the IPv4 addresses before adding them; answers are read on `listenOn` (the master). */
  conflictProbe?: { windowMs: number; listenOn: InterfaceAt };
}

/** Brings the link up and probes its IPv4 addresses; a conflict is code 103 naming the address and the MAC. */
function probeBeforeAdding(pod: PodNetns, link: Link, v4: string[], probe: NonNullable<PodInterfaceOptions["conflictProbe"]>): void {
  if (!link.mac) throw new CniError(ErrorCode.MasterUnusable, `${link.name} has no MAC address to send ARP probes from`);
  // The probes leave by this very interface, which must be up for that (and has no IPv4 address yet).
  setLinkUp(pod.sock, link.index);
  const conflict = probeIPv4({ ips: v4, mac: link.mac, from: { index: link.index, netnsFd: pod.fd }, listenOn: probe.listenOn, windowMs: probe.windowMs });
  if (conflict) {
    throw new AddressConflictError(
      [conflict],
      `IPv4 address ${conflict.ip} is already used by another host: ${conflict.mac} answered the ARP probe`,
      "IPAM is told (args.spiderpool.conflicts): spiderpool-ipam quarantines the address, so a retry gets another one",
    );
  }
}

/**
 * Addresses, link up and routes; routes without a gateway use their family's.
 * With `ownTable` (a further NIC of a multi-NIC pod), its default routes go
 * only into that table, its other routes into main and that table, and rules
 * send traffic from its addresses there: replies leave by the NIC the
 * request came in on, while eth0 keeps the pod's main default route.
 */
export function configurePodInterface(pod: PodNetns, link: Link, ips: CniIPConfig[], routes: CniRoute[], opts: PodInterfaceOptions): void {
  const { dad, ownTable, conflictProbe } = opts;
  const v6 = hasFamily(ips, true);
  pod.run(() => {
    if (v6) writeSysctl(`net/ipv6/conf/${link.name}/disable_ipv6`, 0);
    // The kernel delays each address's DAD by a random part of router_solicitation_delay (1 s) before
    // its probe and 1 s of waiting: without the delay DAD takes 1 s, not up to 2.
    if (v6 && dad.enabled) writeSysctl(`net/ipv6/conf/${link.name}/router_solicitation_delay`, 0);
    trySysctl(`net/ipv4/conf/${link.name}/arp_notify`, 1, false);
    trySysctl(`net/ipv6/conf/${link.name}/ndisc_notify`, 1, v6);
  });
  const v4 = ips.filter((ip) => !ip.address.includes(":")).map((ip) => ip.address.split("/")[0]!);
  const probed = conflictProbe !== undefined && v4.length > 0;
  if (probed) probeBeforeAdding(pod, link, v4, conflictProbe);
  for (const ip of ips) {
    const [address, prefix] = ip.address.split("/");
    addAddress(pod.sock, { index: link.index, ip: address!, prefix: Number(prefix), noDad: !dad.enabled });
  }
  setLinkUp(pod.sock, link.index);
  const lo = getLinkByName(pod.sock, "lo");
  if (lo && !lo.up) setLinkUp(pod.sock, lo.index);
  // The link came up before its addresses, so the kernel's gratuitous ARP at link up had none to announce.
  if (probed) announceIPv4(v4, link.mac!, { index: link.index, netnsFd: pod.fd });
  if (v6 && dad.enabled) awaitDad(pod, link, dad);

  const add = (spec: RouteSpec) => {
    try {
      addRoute(pod.sock, spec);
    } catch (e) {
      if (!isNetlinkErrno(e, Errno.EEXIST)) throw e; // the kernel may have made it already (e.g. a connected route)
    }
  };
  if (ownTable !== undefined) {
    for (const ip of ips) {
      const cidr = parseCidr(ip.address);
      if (!cidr) continue;
      const address = ip.address.split("/")[0]!;
      // The connected subnet in the NIC's table too, so lookups there reach on-link hosts.
      add({ dst: formatCidr(cidr.cidr), oif: link.index, table: ownTable, scope: "link", src: address });
      addRule(pod.sock, { family: cidr.cidr.family, priority: SOURCE_RULE_PRIORITY, table: ownTable, src: address });
    }
  }
  const gateways = { 4: ips.find((ip) => !ip.address.includes(":"))?.gateway, 6: ips.find((ip) => ip.address.includes(":"))?.gateway };
  for (const r of routes) {
    const family = r.dst.includes(":") ? 6 : 4;
    const spec: RouteSpec = { dst: r.dst, oif: link.index };
    const gw = r.gw ?? gateways[family];
    if (gw) spec.gw = gw;
    if (r.priority !== undefined) spec.priority = r.priority;
    if (r.mtu !== undefined) spec.mtu = r.mtu;
    const isDefault = r.dst.endsWith("/0");
    const tables = ownTable === undefined ? [r.table] : isDefault ? [ownTable] : [r.table, ownTable];
    for (const table of tables) add(table === undefined ? spec : { ...spec, table });
  }
}

/**
 * coordinator.podRPFilter: rp_filter for the whole pod ("all") and its
 * interface. Set last, after the side channel (which turns "all" off for its
 * veth): the configured value is what the pod keeps.
 */
export function setPodRPFilter(pod: PodNetns, ifname: string, value: 0 | 1 | 2): void {
  pod.run(() => {
    writeSysctl("net/ipv4/conf/all/rp_filter", value);
    writeSysctl(`net/ipv4/conf/${ifname}/rp_filter`, value);
  });
}

/**
 * Removes the pod's interface and its source rules, and the temporary link an
 * ADD killed before its rename left; true if something was removed.
 */
export function removePodInterface(pod: PodNetns, ifname: string, containerId: string): boolean {
  const leftover = deleteLink(pod.sock, temporaryName(containerId, ifname), { ignoreMissing: true });
  const link = getLinkByName(pod.sock, ifname);
  if (!link) return leftover;
  // Routes go with the link; rules do not.
  const table = interfaceTable(link.index);
  for (const family of [4, 6] as const) {
    for (const rule of listRules(pod.sock, family).filter((r) => r.table === table)) {
      deleteRule(pod.sock, { family, priority: rule.priority, table, ...(rule.src ? { src: rule.src } : {}) }, { ignoreMissing: true });
    }
  }
  return deleteLink(pod.sock, link.index, { ignoreMissing: true });
}
