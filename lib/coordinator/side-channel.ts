// The veth side channel on the node and in the pod (Spiderpool's coordinator
// in underlay mode): a veth pair beside the ipvlan NIC, /32 (/128) routes in
// the pod to the node's own addresses and the Service CIDRs through it, and on
// the node a route to each pod address through it in a dedicated table with a
// "to <pod address>" rule, so replies come back the same way.
import { fnv1a64 } from "../hash";
import { CniError, ErrorCode } from "../cni/errors";
import type { PodNetns } from "../net/pod-netns";
import { addAddress, listAddresses } from "../net/address";
import { createVeth } from "../net/link-create";
import { deleteLink, getLinkByName, setLinkUp, type Link } from "../net/link";
import { addRoute, deleteRoute, listRoutes, type RouteSpec } from "../net/route";
import { addRule, deleteRule, listRules } from "../net/rule";
import { writeSysctl } from "../net/sysctl";
import { RT_SCOPE } from "../netlink/constants";
import { isNetlinkErrno } from "../netlink/error";
import type { NetlinkSocket } from "../netlink/socket";
import { Errno } from "../sys/errno";
import type { CoordinatorConfig } from "./config";
import { hostVethName, planSideChannel, type SideChannelRoute } from "./plan";
import { readState, removeState, writeState } from "./state";

// Fixed link-local addresses on the two veth ends: each pair is its own link,
// so they never clash, and with NODAD they are usable at once.
export const HOST_VETH_LINK_LOCAL = "fe80::1";
export const POD_VETH_LINK_LOCAL = "fe80::2";

export const hostVethFor = (containerId: string) => hostVethName(containerId, fnv1a64);

export interface SideChannelContext {
  hostSock: NetlinkSocket;
  pod: PodNetns;
  cfg: CoordinatorConfig;
  containerId: string;
  ifname: string;
  /** The ipvlan master, whose IPv4 address is the next hop for Service routes. */
  master?: Link;
}

const bare = (cidr: string) => cidr.split("/")[0]!;
const ignoreExists = (fn: () => void) => {
  try {
    fn();
  } catch (e) {
    if (!isNetlinkErrno(e, Errno.EEXIST)) throw e;
  }
};

/** The node's own global addresses; the master's come first. */
export function nodeAddresses(hostSock: NetlinkSocket, master?: Link): string[] {
  const all = listAddresses(hostSock, { scope: RT_SCOPE.UNIVERSE }).filter((a) => !a.ip.startsWith("127.") && a.ip !== "::1");
  all.sort((a, b) => Number(b.index === master?.index) - Number(a.index === master?.index));
  return [...new Set(all.map((a) => a.ip))];
}

function toSpec(r: SideChannelRoute, oif: number): RouteSpec {
  const spec: RouteSpec = { dst: r.dst, oif };
  if (r.gw) spec.gw = r.gw;
  if (r.src) spec.src = r.src;
  if (r.scope) spec.scope = r.scope;
  if (r.table !== undefined) spec.table = r.table;
  return spec;
}

/** Creates (or, for a further NIC of the same pod, reuses) the pair; returns both ends. */
function ensureVethPair(ctx: SideChannelContext, hostVeth: string, v6: boolean): { host: Link; pod: Link } {
  const podName = ctx.cfg.podVethName;
  let host = getLinkByName(ctx.hostSock, hostVeth);
  let pod = getLinkByName(ctx.pod.sock, podName);
  if (host && pod) return { host, pod };
  if (pod) throw new CniError(ErrorCode.InterfaceExists, `interface ${podName} (coordinator.podVethName) already exists in ${ctx.pod.path}`);
  if (host) deleteLink(ctx.hostSock, host.index, { ignoreMissing: true }); // a stale node end of a pod long gone
  createVeth(ctx.hostSock, { name: hostVeth, peerName: podName, peerNetnsFd: ctx.pod.fd });
  host = getLinkByName(ctx.hostSock, hostVeth);
  pod = getLinkByName(ctx.pod.sock, podName);
  if (!host || !pod) throw new CniError(ErrorCode.NetlinkFailure, `veth pair ${hostVeth}/${podName} is not visible after creation`);
  writeSysctl(`net/ipv4/conf/${hostVeth}/rp_filter`, ctx.cfg.hostRPFilter);
  if (v6) {
    writeSysctl(`net/ipv6/conf/${hostVeth}/disable_ipv6`, 0);
    writeSysctl(`net/ipv6/conf/${hostVeth}/accept_dad`, 0);
  }
  ctx.pod.run(() => {
    // The pod receives replies on veth0 for addresses that live on eth0.
    writeSysctl("net/ipv4/conf/all/rp_filter", 0);
    writeSysctl(`net/ipv4/conf/${podName}/rp_filter`, 0);
    if (v6) {
      writeSysctl(`net/ipv6/conf/${podName}/disable_ipv6`, 0);
      writeSysctl(`net/ipv6/conf/${podName}/accept_dad`, 0);
    }
  });
  if (v6) {
    addAddress(ctx.hostSock, { index: host.index, ip: HOST_VETH_LINK_LOCAL, prefix: 64, noDad: true });
    addAddress(ctx.pod.sock, { index: pod.index, ip: POD_VETH_LINK_LOCAL, prefix: 64, noDad: true });
  }
  setLinkUp(ctx.hostSock, host.index);
  setLinkUp(ctx.pod.sock, pod.index);
  return { host, pod };
}

/** Sets up the side channel for one interface's addresses. Undo with teardownSideChannel. */
export function setupSideChannel(ctx: SideChannelContext, podAddresses: string[]): string[] {
  const hostVeth = hostVethFor(ctx.containerId);
  const podIPs = podAddresses.map(bare);
  const v6 = podIPs.some((ip) => ip.includes(":"));
  const nodeIPs = nodeAddresses(ctx.hostSock, ctx.master);
  const plan = planSideChannel({
    podIPs,
    nodeIPs,
    nodeGatewayV4: nodeIPs.find((ip) => !ip.includes(":")),
    serviceCIDR: ctx.cfg.serviceCIDR,
    hijackCIDR: ctx.cfg.hijackCIDR,
    hostVethLinkLocal: HOST_VETH_LINK_LOCAL,
    podVethLinkLocal: POD_VETH_LINK_LOCAL,
    table: ctx.cfg.hostRuleTable,
    priority: ctx.cfg.hostRulePriority,
  });
  // Record first: whatever happens next, DEL knows what to remove.
  writeState(ctx.cfg.stateDir, { containerID: ctx.containerId, ifname: ctx.ifname, hostVeth, hostRoutes: plan.hostRoutes, hostRules: plan.hostRules });
  const { host, pod } = ensureVethPair(ctx, hostVeth, v6);
  for (const r of plan.podRoutes) ignoreExists(() => addRoute(ctx.pod.sock, toSpec(r, pod.index)));
  for (const r of plan.hostRoutes) ignoreExists(() => addRoute(ctx.hostSock, toSpec(r, host.index)));
  for (const rule of plan.hostRules) ignoreExists(() => addRule(ctx.hostSock, rule));
  return plan.warnings;
}

/**
 * Removes what setup added for this interface, and the veth pair when no
 * other interface of the pod uses it. Idempotent; works without the pod netns.
 */
export function teardownSideChannel(hostSock: NetlinkSocket, cfg: CoordinatorConfig, containerId: string, ifname: string): void {
  const state = readState(cfg.stateDir, containerId, ifname);
  const hostVeth = state?.hostVeth ?? hostVethFor(containerId);
  if (state) {
    for (const rule of state.hostRules) deleteRule(hostSock, rule, { ignoreMissing: true });
    const link = getLinkByName(hostSock, hostVeth);
    if (link) for (const r of state.hostRoutes) deleteRoute(hostSock, toSpec(r, link.index), { ignoreMissing: true });
  }
  const lastInterface = removeState(cfg.stateDir, containerId, ifname);
  // Deleting the node end takes the pod end with it.
  if (lastInterface) deleteLink(hostSock, hostVeth, { ignoreMissing: true });
}

/** CHECK: the pair exists and everything the record lists is in place. */
export function checkSideChannel(hostSock: NetlinkSocket, pod: PodNetns, cfg: CoordinatorConfig, containerId: string, ifname: string): void {
  const fail = (msg: string) => new CniError(ErrorCode.InvalidConfig, `CHECK: side channel: ${msg}`);
  const state = readState(cfg.stateDir, containerId, ifname);
  if (!state) throw fail(`no record of ${containerId}/${ifname} under ${cfg.stateDir}`);
  const host = getLinkByName(hostSock, state.hostVeth);
  if (!host || !host.up) throw fail(`node end ${state.hostVeth} is missing or down`);
  const podEnd = getLinkByName(pod.sock, cfg.podVethName);
  if (!podEnd || !podEnd.up) throw fail(`pod end ${cfg.podVethName} is missing or down`);
  for (const family of [4, 6] as const) {
    const routes = listRoutes(hostSock, { family, table: cfg.hostRuleTable });
    for (const r of state.hostRoutes.filter((x) => x.dst.includes(":") === (family === 6))) {
      if (!routes.some((k) => k.dst === r.dst && k.oif === host.index)) throw fail(`node route ${r.dst} via ${state.hostVeth} is missing`);
    }
    const rules = listRules(hostSock, family);
    for (const want of state.hostRules.filter((x) => x.family === family)) {
      if (!rules.some((k) => k.dst === want.dst && k.table === want.table && k.priority === want.priority)) {
        throw fail(`node rule "to ${want.dst} lookup ${want.table}" is missing`);
      }
    }
  }
}
