// What the side channel needs, computed from addresses alone (pure, unit
// tested): the pod's routes through its veth, and the node's routes and rules
// back to the pod.
//
// IPv4 uses on-link routes (the node answers ARP for its own addresses on any
// interface). IPv6 neighbour discovery only answers for addresses on the
// receiving interface, so IPv6 goes via the peer veth's link-local address.
import type { Family } from "../ip/address";

export interface SideChannelRoute {
  dst: string;
  gw?: string;
  /** Preferred source: the pod's own address, not whatever the kernel would pick. */
  src?: string;
  scope?: "link";
  table?: number;
}

export interface SideChannelRule {
  family: Family;
  dst: string;
  table: number;
  priority: number;
}

export interface SideChannelInput {
  /** This interface's pod addresses, without prefix length. */
  podIPs: string[];
  /** The node's own addresses (global scope), without prefix length. */
  nodeIPs: string[];
  /** Next hop for IPv4 Service/hijack routes: a node address reachable on-link. */
  nodeGatewayV4?: string;
  serviceCIDR: string[];
  hijackCIDR: string[];
  /** Link-local addresses of the veth ends, needed when IPv6 is in play. */
  hostVethLinkLocal?: string;
  podVethLinkLocal?: string;
  table: number;
  priority: number;
}

const isV6 = (s: string) => s.includes(":");
const hostPrefix = (ip: string) => `${ip}/${isV6(ip) ? 128 : 32}`;

export interface SideChannelPlan {
  podRoutes: SideChannelRoute[];
  hostRoutes: SideChannelRoute[];
  hostRules: SideChannelRule[];
  /** Why some routes could not be planned (e.g. a v4 Service CIDR but no node IPv4). */
  warnings: string[];
}

export function planSideChannel(input: SideChannelInput): SideChannelPlan {
  const podV4 = input.podIPs.find((ip) => !isV6(ip));
  const podV6 = input.podIPs.find(isV6);
  const plan: SideChannelPlan = { podRoutes: [], hostRoutes: [], hostRules: [], warnings: [] };
  const needLinkLocal = (which: "hostVethLinkLocal" | "podVethLinkLocal") => {
    const ll = input[which];
    if (!ll) throw new Error(`side channel: ${which} is required for IPv6`);
    return ll;
  };

  for (const node of input.nodeIPs) {
    if (!isV6(node) && podV4) plan.podRoutes.push({ dst: hostPrefix(node), scope: "link", src: podV4 });
    if (isV6(node) && podV6) plan.podRoutes.push({ dst: hostPrefix(node), gw: needLinkLocal("hostVethLinkLocal"), src: podV6 });
  }
  for (const cidr of [...input.serviceCIDR, ...input.hijackCIDR]) {
    if (!isV6(cidr)) {
      if (!podV4) continue;
      if (!input.nodeGatewayV4) {
        plan.warnings.push(`no node IPv4 address to route ${cidr} through`);
        continue;
      }
      plan.podRoutes.push({ dst: cidr, gw: input.nodeGatewayV4, src: podV4 });
    } else if (podV6) {
      plan.podRoutes.push({ dst: cidr, gw: needLinkLocal("hostVethLinkLocal"), src: podV6 });
    }
  }
  for (const ip of input.podIPs) {
    const v6 = isV6(ip);
    plan.hostRoutes.push(v6 ? { dst: hostPrefix(ip), gw: needLinkLocal("podVethLinkLocal"), table: input.table } : { dst: hostPrefix(ip), scope: "link", table: input.table });
    plan.hostRules.push({ family: v6 ? 6 : 4, dst: hostPrefix(ip), table: input.table, priority: input.priority });
  }
  return plan;
}

/** The node end's name: stable per container, at most 15 bytes. */
export function hostVethName(containerId: string, hash: (text: string) => string): string {
  return `spd${hash(containerId).slice(0, 12)}`;
}
