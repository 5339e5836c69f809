// SpiderMultusConfig spec.coordinator -> the "coordinator" block of
// ipvlan-attach. Upstream appends a coordinator plugin after the main one;
// ipvlan-attach does that work itself, so the settings become its keys. Each
// mapped value is checked by ipvlan-attach's own parser, so a NAD that converts
// is one ipvlan-attach accepts; what it cannot honour is refused by name.
import { CniError, ErrorCode } from "../cni/errors";
import { parseCoordinatorConfig } from "../coordinator/config";
import { familyBits, parseIP } from "../ip/address";
import { invalid, unsupported } from "./refusal";
import type { CoordinatorSpec } from "./schema";

const WHY_OVERLAY =
  "overlay mode (no veth pair: the pod reaches Services through a first NIC made by an overlay CNI such as Calico or Cilium) is not supported; ipvlan-attach's side channel is underlay mode's veth pair: use underlay, auto or disabled";
const WHY_MAC_PREFIX = "an ipvlan slave keeps its master's MAC address, so a MAC prefix cannot apply (upstream says so for IPVlan too); only \"\" (none) is accepted";
const WHY_TX_QUEUE_LEN = "ipvlan-attach does not set the pod interface's tx queue length; only 0 (leave it) is accepted";
const WHY_VETH_ADDRESS = "ipvlan-attach gives the pod's veth no IPv4 address of its own (its IPv4 routes are on-link, from the pod's address); only \"\" (none) is accepted";
const whyPodCIDRType = (type: string) =>
  `${JSON.stringify(type)} routes the cluster's pod CIDRs through the node, which upstream's SpiderCoordinator reads from the cluster` +
  `${type === "calico" || type === "cilium" ? ` (from ${type}'s IP pools)` : ""}; nad reads no cluster and ipvlan-attach has no pod-CIDR setting: ` +
  `use "none" (what ipvlan-attach does) and list the pod CIDRs in hijackCIDR`;

/** Where each ipvlan-attach key came from, for messages. */
type Mapped = { key: string; field: string; value: unknown };

// Upstream's webhook takes a plain address in hijackCIDR as a host prefix; ipvlan-attach wants CIDRs.
function asCidr(entry: string): string {
  const ip = entry.includes("/") ? undefined : parseIP(entry);
  return ip ? `${entry}/${familyBits(ip.family)}` : entry;
}

/** Upstream's rule: enableCoordinator false leaves the coordinator out, mode disabled makes it do nothing. */
function enabledFrom(enableCoordinator: boolean | undefined, mode: CoordinatorSpec["mode"]): boolean | undefined {
  if (enableCoordinator === false || mode === "disabled") return false;
  if (enableCoordinator === true || mode !== undefined) return true;
  return undefined; // ipvlan-attach's default: on
}

// Settings of the veth side channel alone: with the coordinator off they would do nothing.
const SIDE_CHANNEL_KEYS = new Set(["hijackCIDR", "hostRuleTable", "hostRPFilter"]);

/** What turned the coordinator off, for the message. */
const offBy = (enableCoordinator: boolean | undefined) =>
  enableCoordinator === false ? "spec.enableCoordinator: false" : 'spec.coordinator.mode: "disabled"';

function refuseUnsupported(c: CoordinatorSpec, where: string): void {
  const at = (field: string) => `spec.coordinator.${field}`;
  if (c.mode === "overlay") throw unsupported(where, at("mode"), `"overlay": ${WHY_OVERLAY}`);
  if (c.podCIDRType !== undefined && c.podCIDRType !== "none") throw unsupported(where, at("podCIDRType"), whyPodCIDRType(c.podCIDRType));
  if (c.podMACPrefix) throw unsupported(where, at("podMACPrefix"), `${JSON.stringify(c.podMACPrefix)}: ${WHY_MAC_PREFIX}`);
  if (c.txQueueLen) throw unsupported(where, at("txQueueLen"), `${c.txQueueLen}: ${WHY_TX_QUEUE_LEN}`);
  if (c.vethLinkAddress) throw unsupported(where, at("vethLinkAddress"), `${JSON.stringify(c.vethLinkAddress)}: ${WHY_VETH_ADDRESS}`);
}

/**
 * The upstream fields with an ipvlan-attach key (same name), in that block's
 * order; values that mean what ipvlan-attach does anyway are left out.
 */
function mappedFields(c: CoordinatorSpec): Mapped[] {
  const mapped: Mapped[] = [];
  const put = (key: string, value: unknown) => {
    if (value !== undefined) mapped.push({ key, field: `spec.coordinator.${key}`, value });
  };
  if (c.hijackCIDR?.length) put("hijackCIDR", c.hijackCIDR.map(asCidr));
  put("hostRuleTable", c.hostRuleTable);
  put("hostRPFilter", c.hostRPFilter);
  // Upstream's empty value keeps the default route on eth0, ipvlan-attach's default.
  put("podDefaultRouteNIC", c.podDefaultRouteNIC || undefined);
  put("tunePodRoutes", c.tunePodRoutes);
  put("detectIPConflict", c.detectIPConflict);
  put("detectGateway", c.detectGateway);
  // Negative: leave the pod's rp_filter alone, which is what ipvlan-attach does without the key.
  put("podRPFilter", c.podRPFilter !== undefined && c.podRPFilter < 0 ? undefined : c.podRPFilter);
  return mapped;
}

// ipvlan-attach's messages start with the key they are about: '"coordinator.hostRuleTable" must be ...'.
const withoutKey = (message: string) => message.replace(/^"coordinator\.[A-Za-z]+" /, "");

/** ipvlan-attach's parser on one key; its refusal is reported against the SpiderMultusConfig field. */
function checkWithIpvlanAttach(key: string, value: unknown, field: string, where: string): void {
  try {
    parseCoordinatorConfig({ [key]: value });
  } catch (e) {
    if (!(e instanceof CniError)) throw e;
    const what = `${withoutKey(e.message)} (ipvlan-attach's coordinator.${key})`;
    throw e.code === ErrorCode.InvalidConfig ? invalid(where, field, what) : unsupported(where, field, what);
  }
}

/**
 * The coordinator block for ipvlan-attach, or undefined when the
 * SpiderMultusConfig says nothing about the coordinator (ipvlan-attach's
 * defaults apply).
 */
export function coordinatorBlock(enableCoordinator: boolean | undefined, c: CoordinatorSpec | undefined, where: string): Record<string, unknown> | undefined {
  if (c === undefined) return enableCoordinator === undefined ? undefined : { enabled: enableCoordinator };
  refuseUnsupported(c, where);
  const block: Record<string, unknown> = {};
  const enabled = enabledFrom(enableCoordinator, c.mode);
  if (enabled !== undefined) block.enabled = enabled;
  for (const { key, field, value } of mappedFields(c)) {
    if (enabled === false && SIDE_CHANNEL_KEYS.has(key)) {
      throw invalid(where, field, `has no effect with ${offBy(enableCoordinator)} (it is a setting of the side channel to the node); remove one of them`);
    }
    if (key === "hijackCIDR") (value as string[]).forEach((cidr, i) => checkWithIpvlanAttach(key, [cidr], `${field}[${i}]`, where));
    else checkWithIpvlanAttach(key, value, field, where);
    block[key] = value;
  }
  return Object.keys(block).length > 0 ? block : undefined;
}
