// The "coordinator" block of ipvlan-attach: the veth side channel that lets a
// pod reach its own node and Services (an ipvlan slave cannot talk to its
// master's addresses, and a cloud VPC does not hairpin). Keys follow
// upstream Spiderpool's coordinator where they mean the same thing.
import { invalidConfig, unsupportedField } from "../cni/errors";
import { interfaceNameProblem } from "../cni/env";
import { parseCidr } from "../ip/address";

export interface CoordinatorConfig {
  enabled: boolean;
  /** The pod end of the veth pair. */
  podVethName: string;
  /** Node-side routing table holding the routes to pod addresses. */
  hostRuleTable: number;
  /** Priority of the node's "to <pod address> lookup <table>" rules. */
  hostRulePriority: number;
  /** rp_filter for the node end of the veth. */
  hostRPFilter: 0 | 1 | 2;
  /** Service CIDRs (v4 and v6) routed through the node. */
  serviceCIDR: string[];
  /** Further CIDRs to route through the node (e.g. node-local DNS 169.254.20.10/32). */
  hijackCIDR: string[];
  /** Where the node keeps what each attachment added, so DEL removes exactly that. */
  stateDir: string;
  /** Multi-NIC pods: only this interface keeps its default route in the main table. */
  podDefaultRouteNIC: string;
  /** Give every other interface its own table and "from <its address>" rules. */
  tunePodRoutes: boolean;
  /** ARP-probe each IPv4 address before it is added (RFC 5227); IPv6 duplicate address detection too. */
  detectIPConflict: boolean;
  /** The whole ARP probe window (three probes spread inside it). */
  conflictProbeMs: number;
  /** Resolve each family's gateway from the pod before ADD answers. */
  detectGateway: boolean;
  /** How long the gateways may take to answer. */
  gatewayTimeoutMs: number;
  /** rp_filter in the pod (all and the interface); undefined: the pod's sysctls are left alone. */
  podRPFilter?: 0 | 1 | 2;
}

export const DEFAULT_COORDINATOR: CoordinatorConfig = {
  enabled: true,
  podVethName: "veth0",
  hostRuleTable: 500,
  hostRulePriority: 1000,
  hostRPFilter: 0,
  serviceCIDR: [],
  hijackCIDR: [],
  stateDir: "/run/spiderpool/coordinator",
  podDefaultRouteNIC: "eth0",
  tunePodRoutes: true,
  detectIPConflict: false,
  conflictProbeMs: 300,
  detectGateway: false,
  gatewayTimeoutMs: 2000,
};

const KEYS = new Set([
  "enabled",
  "podVethName",
  "hostRuleTable",
  "hostRulePriority",
  "hostRPFilter",
  "serviceCIDR",
  "hijackCIDR",
  "stateDir",
  "podDefaultRouteNIC",
  "tunePodRoutes",
  "detectIPConflict",
  "conflictProbeMs",
  "detectGateway",
  "gatewayTimeoutMs",
  "podRPFilter",
]);

function bool(v: unknown, key: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") throw invalidConfig(`"coordinator.${key}" must be true or false`);
  return v;
}

function cidrList(v: unknown, key: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw invalidConfig(`"coordinator.${key}" must be a list of CIDRs`);
  return (v as string[]).map((c) => {
    if (!parseCidr(c)) throw invalidConfig(`"coordinator.${key}" entry ${JSON.stringify(c)} is not a CIDR`);
    return c;
  });
}

function intIn(v: unknown, key: string, min: number, max: number, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw invalidConfig(`"coordinator.${key}" must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function parseCoordinatorConfig(raw: unknown): CoordinatorConfig {
  if (raw === undefined || raw === null) return { ...DEFAULT_COORDINATOR };
  if (typeof raw !== "object" || Array.isArray(raw)) throw invalidConfig(`"coordinator" must be an object`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw unsupportedField(`coordinator.${k}`, o[k]);
  const podVethName = o.podVethName ?? DEFAULT_COORDINATOR.podVethName;
  if (typeof podVethName !== "string" || interfaceNameProblem(podVethName)) {
    throw invalidConfig(`"coordinator.podVethName" must be an interface name, got ${JSON.stringify(podVethName)}`);
  }
  const podDefaultRouteNIC = o.podDefaultRouteNIC ?? DEFAULT_COORDINATOR.podDefaultRouteNIC;
  if (typeof podDefaultRouteNIC !== "string" || interfaceNameProblem(podDefaultRouteNIC)) {
    throw invalidConfig(`"coordinator.podDefaultRouteNIC" must be an interface name, got ${JSON.stringify(podDefaultRouteNIC)}`);
  }
  const stateDir = o.stateDir ?? DEFAULT_COORDINATOR.stateDir;
  if (typeof stateDir !== "string" || !stateDir.startsWith("/") || stateDir.includes("\0")) {
    throw invalidConfig(`"coordinator.stateDir" must be an absolute path`);
  }
  const config: CoordinatorConfig = {
    enabled: bool(o.enabled, "enabled", true),
    podVethName,
    hostRuleTable: o.hostRuleTable === undefined || o.hostRuleTable === null ? DEFAULT_COORDINATOR.hostRuleTable : tableNumber(o.hostRuleTable),
    hostRulePriority: intIn(o.hostRulePriority, "hostRulePriority", 1, 32765, DEFAULT_COORDINATOR.hostRulePriority),
    hostRPFilter: intIn(o.hostRPFilter, "hostRPFilter", 0, 2, 0) as 0 | 1 | 2,
    serviceCIDR: cidrList(o.serviceCIDR, "serviceCIDR"),
    hijackCIDR: cidrList(o.hijackCIDR, "hijackCIDR"),
    stateDir,
    podDefaultRouteNIC,
    tunePodRoutes: bool(o.tunePodRoutes, "tunePodRoutes", true),
    detectIPConflict: bool(o.detectIPConflict, "detectIPConflict", DEFAULT_COORDINATOR.detectIPConflict),
    conflictProbeMs: intIn(o.conflictProbeMs, "conflictProbeMs", 30, 10000, DEFAULT_COORDINATOR.conflictProbeMs),
    detectGateway: bool(o.detectGateway, "detectGateway", DEFAULT_COORDINATOR.detectGateway),
    gatewayTimeoutMs: intIn(o.gatewayTimeoutMs, "gatewayTimeoutMs", 100, 60000, DEFAULT_COORDINATOR.gatewayTimeoutMs),
  };
  if (o.podRPFilter !== undefined && o.podRPFilter !== null) config.podRPFilter = intIn(o.podRPFilter, "podRPFilter", 0, 2, 0) as 0 | 1 | 2;
  return config;
}

// Tables 0 and 253-255 are the kernel's own (unspec, default, main, local).
function tableNumber(v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 0xfffffffe || (v >= 253 && v <= 255)) {
    throw invalidConfig(`"coordinator.hostRuleTable" must be a routing table number other than 0 and 253-255, got ${JSON.stringify(v)}`);
  }
  return v;
}
