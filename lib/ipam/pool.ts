// A SpiderIPPool document validated (upstream webhook rules) and normalized into the
// form pool choice and allocation work on. Pure: documents in, pools or CniError out.

import type { z } from "zod";
import {
  type Cidr,
  type Family,
  type IPAddr,
  cidrContains,
  cidrEquals,
  cidrsOverlap,
  formatCidr,
  formatIP,
  parseCidr,
  parseIP,
} from "../ip/address";
import { type IPRange, dedupeRanges, firstSharedAddress, formatIPRange, parseIPRange, rangeSize, subtractRanges } from "../ip/range";
import { fnv1a64 } from "../hash";
import { formatPath, poolInvalid, poolUnsupported } from "./pool-errors";
import { type LabelSelector, POOL_API_VERSION, POOL_KIND, type SpiderIPPoolDoc, SpiderIPPoolSchema } from "./pool-schema";

export interface Pool {
  name: string;
  family: Family;
  subnet: Cidr;
  /** ips minus excludeIPs, in ips order; the gateway is never usable. */
  usable: IPRange[];
  /** Count of usable addresses. */
  total: bigint;
  gateway?: IPAddr;
  routes: { dst: string; gw: string }[];
  isDefault: boolean;
  disabled: boolean;
  nodeName: string[];
  namespaceName: string[];
  multusName: string[];
  nodeAffinity?: LabelSelector;
  namespaceAffinity?: LabelSelector;
  podAffinity?: LabelSelector;
  /** File path, or "inline". */
  source: string;
  /** Changes whenever the subnet or the usable set changes. */
  fingerprint: string;
}

const familyName = (f: Family) => (f === 4 ? "IPv4" : "IPv6");

function rawName(doc: unknown): string | undefined {
  const metadata = (doc as { metadata?: unknown } | null)?.metadata;
  const name = (metadata as { name?: unknown } | null | undefined)?.name;
  return typeof name === "string" && name !== "" ? name : undefined;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  // zod says "Invalid input: expected string, received undefined"; a user reads "missing".
  if (issue.code === "invalid_type" && /received undefined$/.test(issue.message)) return "required field is missing";
  return issue.message.replace(/^Invalid (input|option): /, "");
}

/** Schema check; unknown fields are code 2, every other failure code 7. */
function parseDoc(doc: unknown, source: string): SpiderIPPoolDoc {
  const name = rawName(doc);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw poolInvalid(source, name, "<document>", `expected a ${POOL_KIND} object, got ${Array.isArray(doc) ? "an array" : typeof doc}`);
  }
  const { apiVersion, kind } = doc as { apiVersion?: unknown; kind?: unknown };
  if (apiVersion !== POOL_API_VERSION || kind !== POOL_KIND) {
    throw poolInvalid(
      source,
      name,
      apiVersion !== POOL_API_VERSION ? "apiVersion" : "kind",
      `document is kind ${JSON.stringify(kind)} apiVersion ${JSON.stringify(apiVersion)}; only kind ${POOL_KIND} apiVersion ${POOL_API_VERSION} is accepted`,
    );
  }
  const parsed = SpiderIPPoolSchema.safeParse(doc);
  if (parsed.success) return parsed.data;
  const unknown = parsed.error.issues.filter((i) => i.code === "unrecognized_keys");
  if (unknown.length > 0) {
    const fields = unknown.flatMap((i) => i.keys.map((k) => formatPath([...i.path, k])));
    throw poolUnsupported(source, name, fields.join(", "), `unknown field${fields.length > 1 ? "s" : ""}, refused rather than ignored`);
  }
  // The first issue leads the message; any others follow it with their own paths.
  const [first, ...rest] = parsed.error.issues;
  const what = [first ? describeIssue(first) : "invalid", ...rest.map((i) => `${formatPath(i.path)}: ${describeIssue(i)}`)].join("; ");
  throw poolInvalid(source, name, formatPath(first?.path ?? []), what);
}

interface Ctx {
  source: string;
  name: string;
  subnet: Cidr;
}

function parseRangeList(ctx: Ctx, field: "ips" | "excludeIPs", entries: string[]): IPRange[] {
  return entries.map((text, i) => {
    const path = `spec.${field}[${i}]`;
    const range = parseIPRange(text);
    if (!range) {
      throw poolInvalid(ctx.source, ctx.name, path, `${JSON.stringify(text)} is not an IP or an IP range "a-b" (same family, no spaces, start <= end)`);
    }
    if (range.family !== ctx.subnet.family) {
      throw poolInvalid(ctx.source, ctx.name, path, `${text} is ${familyName(range.family)} but subnet ${formatCidr(ctx.subnet)} is ${familyName(ctx.subnet.family)}`);
    }
    const inside = (v: bigint) => cidrContains(ctx.subnet, { family: range.family, value: v });
    if (!inside(range.start) || !inside(range.end)) {
      throw poolInvalid(ctx.source, ctx.name, path, `${text} is not inside subnet ${formatCidr(ctx.subnet)}`);
    }
    return range;
  });
}

function parseSubnet(source: string, name: string, spec: SpiderIPPoolDoc["spec"]): Cidr {
  const parsed = parseCidr(spec.subnet);
  if (!parsed) throw poolInvalid(source, name, "spec.subnet", `${JSON.stringify(spec.subnet)} is not a CIDR like 172.31.16.0/20`);
  const canonical = formatCidr(parsed.cidr);
  if (canonical !== spec.subnet) {
    throw poolInvalid(source, name, "spec.subnet", `unformatted subnet ${spec.subnet}, please change it to ${canonical}`);
  }
  if (spec.ipVersion !== undefined && spec.ipVersion !== parsed.cidr.family) {
    throw poolInvalid(source, name, "spec.ipVersion", `ipVersion ${spec.ipVersion} does not match subnet ${canonical} (${familyName(parsed.cidr.family)})`);
  }
  return parsed.cidr;
}

function parseGateway(ctx: Ctx, text: string | undefined, ips: IPRange[], usable: IPRange[]): IPAddr | undefined {
  if (text === undefined) return undefined;
  const gateway = parseIP(text);
  if (!gateway) throw poolInvalid(ctx.source, ctx.name, "spec.gateway", `${JSON.stringify(text)} is not an IP address`);
  if (!cidrContains(ctx.subnet, gateway)) {
    throw poolInvalid(ctx.source, ctx.name, "spec.gateway", `${text} is not inside subnet ${formatCidr(ctx.subnet)}`);
  }
  // Upstream refuses a gateway a pod could be given, unless excludeIPs takes it out.
  const inUsable = usable.some((r) => gateway.value >= r.start && gateway.value <= r.end);
  if (inUsable) {
    const index = ips.findIndex((r) => gateway.value >= r.start && gateway.value <= r.end);
    throw poolInvalid(
      ctx.source,
      ctx.name,
      "spec.gateway",
      `${text} is inside spec.ips[${index}], so a pod could be given it; add it to spec.excludeIPs or take it out of spec.ips`,
    );
  }
  return gateway;
}

function parseRoutes(ctx: Ctx, routes: { dst: string; gw: string }[]): { dst: string; gw: string }[] {
  const seen = new Map<string, number>();
  return routes.map((route, i) => {
    const path = `spec.routes[${i}]`;
    const dst = parseCidr(route.dst);
    if (!dst) throw poolInvalid(ctx.source, ctx.name, `${path}.dst`, `${JSON.stringify(route.dst)} is not a CIDR`);
    const dstText = formatCidr(dst.cidr);
    if (dstText !== route.dst) throw poolInvalid(ctx.source, ctx.name, `${path}.dst`, `unformatted route dst ${route.dst}, please change it to ${dstText}`);
    if (dst.cidr.family !== ctx.subnet.family) {
      throw poolInvalid(ctx.source, ctx.name, `${path}.dst`, `${route.dst} is ${familyName(dst.cidr.family)} but the pool is ${familyName(ctx.subnet.family)}`);
    }
    if (dst.cidr.prefix === 0) {
      throw poolInvalid(ctx.source, ctx.name, `${path}.dst`, `the default route ${route.dst} is not allowed in routes; set spec.gateway instead`);
    }
    const earlier = seen.get(dstText);
    if (earlier !== undefined) throw poolInvalid(ctx.source, ctx.name, `${path}.dst`, `duplicate dst ${route.dst} (also spec.routes[${earlier}])`);
    seen.set(dstText, i);
    const gw = parseIP(route.gw);
    if (!gw) throw poolInvalid(ctx.source, ctx.name, `${path}.gw`, `${JSON.stringify(route.gw)} is not an IP address`);
    if (!cidrContains(ctx.subnet, gw)) throw poolInvalid(ctx.source, ctx.name, `${path}.gw`, `${route.gw} is not inside subnet ${formatCidr(ctx.subnet)}`);
    return { dst: dstText, gw: formatIP(gw) };
  });
}

/** FNV-1a 64 over the canonical text: stable across runs, runtimes and platforms. */
export function poolFingerprint(subnet: Cidr, usable: IPRange[]): string {
  return fnv1a64(`${formatCidr(subnet)}|${usable.map(formatIPRange).join(",")}`);
}

/** Validates one document and returns the normalized pool; throws CniError (code 7, or 2 for refused fields). */
export function buildPool(doc: unknown, source: string): Pool {
  const parsed = parseDoc(doc, source);
  const name = parsed.metadata.name;
  const spec = parsed.spec;
  if (spec.vlan !== undefined) {
    throw poolUnsupported(source, name, "spec.vlan", "removed upstream in 2025 and not supported; put the VLAN on the ipvlan master (ens5.<vlan>) instead");
  }
  const subnet = parseSubnet(source, name, spec);
  const ctx: Ctx = { source, name, subnet };
  const ips = parseRangeList(ctx, "ips", spec.ips ?? []);
  const excluded = parseRangeList(ctx, "excludeIPs", spec.excludeIPs ?? []);
  // Overlapping ips entries count each address once, at its first position.
  const usable = subtractRanges(dedupeRanges(ips), excluded);
  const gateway = parseGateway(ctx, spec.gateway, ips, usable);
  const routes = parseRoutes(ctx, spec.routes ?? []);
  const pool: Pool = {
    name,
    family: subnet.family,
    subnet,
    usable,
    total: usable.reduce((sum, r) => sum + rangeSize(r), 0n),
    routes,
    isDefault: spec.default ?? false,
    disabled: spec.disable ?? false,
    nodeName: spec.nodeName ?? [],
    namespaceName: spec.namespaceName ?? [],
    multusName: spec.multusName ?? [],
    source,
    fingerprint: poolFingerprint(subnet, usable),
  };
  if (gateway) pool.gateway = gateway;
  if (spec.nodeAffinity) pool.nodeAffinity = spec.nodeAffinity;
  if (spec.namespaceAffinity) pool.namespaceAffinity = spec.namespaceAffinity;
  if (spec.podAffinity) pool.podAffinity = spec.podAffinity;
  return pool;
}

const describePool = (p: Pool) => `pool ${p.name} (${p.source})`;

/** Earlier and later in the order the pools were given, so a message blames the later one. */
function inGivenOrder(order: Map<Pool, number>, a: Pool, b: Pool): [Pool, Pool] {
  return order.get(a)! < order.get(b)! ? [a, b] : [b, a];
}

/**
 * Pools of one family may share a subnet only if it is identical. CIDRs nest
 * or are disjoint, so with the subnets sorted by base (wider first) a subnet
 * overlapping any earlier one overlaps the last one not overlapping its
 * predecessors.
 */
function checkSubnets(pools: Pool[], order: Map<Pool, number>): void {
  const sorted = [...pools].sort(
    (a, b) => a.family - b.family || (a.subnet.base < b.subnet.base ? -1 : a.subnet.base > b.subnet.base ? 1 : a.subnet.prefix - b.subnet.prefix),
  );
  let cover: Pool | undefined;
  for (const pool of sorted) {
    if (!cover || !cidrsOverlap(cover.subnet, pool.subnet)) {
      cover = pool;
      continue;
    }
    if (cidrEquals(cover.subnet, pool.subnet)) continue;
    const [a, b] = inGivenOrder(order, cover, pool);
    throw poolInvalid(b.source, b.name, "spec.subnet", `subnet ${formatCidr(b.subnet)} overlaps subnet ${formatCidr(a.subnet)} of ${describePool(a)}; pools of one family may only share a subnet if it is identical`);
  }
}

/** Pools on one identical subnet must not share a usable address. */
function checkSharedAddresses(pools: Pool[], order: Map<Pool, number>): void {
  const bySubnet = new Map<string, Pool[]>();
  for (const pool of pools) {
    const key = formatCidr(pool.subnet);
    const group = bySubnet.get(key);
    if (group) group.push(pool);
    else bySubnet.set(key, [pool]);
  }
  for (const group of bySubnet.values()) {
    if (group.length < 2) continue;
    const shared = firstSharedAddress(group.map((p) => p.usable));
    if (!shared) continue;
    const [a, b] = inGivenOrder(order, group[shared.lists[0]]!, group[shared.lists[1]]!);
    throw poolInvalid(b.source, b.name, "spec.ips", `${formatIP(shared.address)} is also a usable address of ${describePool(a)} with the same subnet ${formatCidr(a.subnet)}`);
  }
}

/** Validates every document, then the rules between pools (names, subnets, addresses). */
export function buildPools(docs: { source: string; doc: unknown }[]): Pool[] {
  const pools = docs.map(({ source, doc }) => buildPool(doc, source));
  const byName = new Map<string, Pool>();
  for (const pool of pools) {
    const earlier = byName.get(pool.name);
    if (earlier) throw poolInvalid(pool.source, pool.name, "metadata.name", `duplicate pool name, already defined in ${earlier.source}`);
    byName.set(pool.name, pool);
  }
  const order = new Map(pools.map((p, i) => [p, i]));
  checkSubnets(pools, order);
  checkSharedAddresses(pools, order);
  return pools;
}
