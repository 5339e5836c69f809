// Which pools an interface may take addresses from, following upstream's priority:
//   1. pod annotation ipam.spidernet.io/ippools, the entry for this interface
//   2. pod annotation ipam.spidernet.io/ippool
//   3. CNI config default_ipv4_ippool / default_ipv6_ippool
//   4. every pool with spec.default: true
// The first rule that names any pool decides both families; a family it names no pool
// for is not requested. Candidates are then filtered (disabled, family, node, namespace,
// pod, multus network); a requested family left with no candidate is an error that
// says, pool by pool, why each one was refused.

import { CniError, ErrorCode, unsupportedField } from "../cni/errors";
import type { Family } from "../ip/address";
import { describeSelector, matchesSelector } from "./labels";
import type { Pool } from "./pool";
import type { LabelSelector } from "./pool-schema";
import { isWildcard, wildcardMatch } from "./wildcard";

export interface PoolRequestEntry {
  interface?: string;
  ipv4?: string[];
  ipv6?: string[];
  cleangateway?: boolean;
}

export interface SelectionContext {
  nodeName: string;
  namespace?: string;
  podName?: string;
  ifname: string;
  /** Network identity: "ns/name" or "name". */
  network: string;
  /** ipam.spidernet.io/ippools (per interface). */
  podIPPools?: PoolRequestEntry[];
  /** ipam.spidernet.io/ippool. */
  podIPPool?: PoolRequestEntry;
  /** default_ipv4_ippool / default_ipv6_ippool. */
  defaultV4?: string[];
  defaultV6?: string[];
  nodeLabels?: Record<string, string>;
  namespaceLabels?: Record<string, string>;
  podLabels?: Record<string, string>;
  cleanGateway: boolean;
}

export interface Selection {
  rule: string;
  v4: Pool[];
  v6: Pool[];
  cleanGateway: boolean;
}

/** Rules 1-3 name pools (maybe by wildcard); rule 4 yields the pools themselves. */
type FamilyRequest = { names: string[] } | { pools: Pool[] };

interface RuleRequest {
  rule: string;
  v4: FamilyRequest;
  v6: FamilyRequest;
  cleanGateway?: boolean;
}

const names = (list: string[] | undefined) => list ?? [];
const namesAny = (v4: string[], v6: string[]) => v4.length > 0 || v6.length > 0;
const byName = (a: Pool, b: Pool) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Order of default:true pools: the more specific pool first. Specificity compares, in
 * this priority, whether the pool has podAffinity, nodeName, nodeAffinity, namespaceName,
 * namespaceAffinity, multusName (lexicographically, "has it" before "has not"); equal
 * specificity falls back to the pool name. Upstream uses the same priority with an
 * unstable sort; ours is total, so the same pools always give the same order.
 */
function specificityKey(p: Pool): boolean[] {
  return [!!p.podAffinity, p.nodeName.length > 0, !!p.nodeAffinity, p.namespaceName.length > 0, !!p.namespaceAffinity, p.multusName.length > 0];
}

export function compareSpecificity(a: Pool, b: Pool): number {
  const ka = specificityKey(a);
  const kb = specificityKey(b);
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i]) return ka[i] ? -1 : 1;
  }
  return byName(a, b);
}

function pickRule(pools: Pool[], ctx: SelectionContext): RuleRequest | undefined {
  const entry = ctx.podIPPools?.find((e) => e.interface === ctx.ifname);
  if (entry && namesAny(names(entry.ipv4), names(entry.ipv6))) {
    return { rule: `pod annotation ipam.spidernet.io/ippools (interface ${ctx.ifname})`, v4: { names: names(entry.ipv4) }, v6: { names: names(entry.ipv6) }, cleanGateway: entry.cleangateway };
  }
  const single = ctx.podIPPool;
  if (single && namesAny(names(single.ipv4), names(single.ipv6))) {
    return { rule: "pod annotation ipam.spidernet.io/ippool", v4: { names: names(single.ipv4) }, v6: { names: names(single.ipv6) }, cleanGateway: single.cleangateway };
  }
  if (namesAny(names(ctx.defaultV4), names(ctx.defaultV6))) {
    return { rule: "CNI config default_ipv4_ippool/default_ipv6_ippool", v4: { names: names(ctx.defaultV4) }, v6: { names: names(ctx.defaultV6) } };
  }
  const defaults = pools.filter((p) => p.isDefault).sort(compareSpecificity);
  if (defaults.length > 0) {
    // multusName binds a pool to networks: a family whose default pools all belong to other
    // networks is not requested on this one (a second NIC with only IPv4 pools stays IPv4).
    // When no family is left, both lists stay so that the error names every pool.
    const v4 = defaults.filter((p) => p.family === 4);
    const v6 = defaults.filter((p) => p.family === 6);
    const serves = (list: Pool[]) => list.some((p) => p.multusName.length === 0 || p.multusName.some((m) => multusNameMatches(m, ctx.network)));
    const [want4, want6] = [serves(v4), serves(v6)];
    const none = !want4 && !want6;
    return { rule: "pools with spec.default: true", v4: { pools: want4 || none ? v4 : [] }, v6: { pools: want6 || none ? v6 : [] } };
  }
  return undefined;
}

/** Listed order; a wildcard expands to its matches in name order. Duplicates kept once. */
function resolveNames(pools: Pool[], requested: string[]): { candidates: Pool[]; missing: string[] } {
  const candidates: Pool[] = [];
  const missing: string[] = [];
  const add = (p: Pool) => {
    if (!candidates.includes(p)) candidates.push(p);
  };
  for (const name of requested) {
    if (isWildcard(name)) {
      const matches = pools.filter((p) => wildcardMatch(name, p.name)).sort(byName);
      if (matches.length === 0) missing.push(`no pool matches pattern ${JSON.stringify(name)}`);
      matches.forEach(add);
    } else {
      const pool = pools.find((p) => p.name === name);
      if (pool) add(pool);
      else missing.push(`pool ${name} does not exist`);
    }
  }
  return { candidates, missing };
}

function splitNetwork(text: string): { ns?: string; name: string } {
  const slash = text.indexOf("/");
  return slash < 0 ? { name: text } : { ns: text.slice(0, slash), name: text.slice(slash + 1) };
}

/** Full "ns/name" compare when both sides have a namespace, otherwise the name alone. */
export function multusNameMatches(entry: string, network: string): boolean {
  const a = splitNetwork(entry);
  const b = splitNetwork(network);
  if (a.ns !== undefined && b.ns !== undefined) return a.ns === b.ns && a.name === b.name;
  return a.name === b.name;
}

const list = (items: string[]) => `[${items.join(", ")}]`;

function needLabels(pool: Pool, field: string, selector: LabelSelector, labels: Record<string, string> | undefined, what: string) {
  if (labels === undefined) {
    throw unsupportedField(
      field,
      selector,
      `pool ${pool.name} (${pool.source}) selects by ${what} labels, but no ${what} labels were provided to the plugin`,
    );
  }
  return labels;
}

/** Why `pool` may not serve `family` here, or undefined when it may. */
function filterReason(pool: Pool, family: Family, ctx: SelectionContext): string | undefined {
  if (pool.disabled) return "disabled (spec.disable: true)";
  if (pool.family !== family) return `is an IPv${pool.family} pool, requested under ipv${family}`;
  // nodeName overrides nodeAffinity, namespaceName overrides namespaceAffinity (upstream).
  if (pool.nodeName.length > 0) {
    if (!pool.nodeName.includes(ctx.nodeName)) return `unmatched node name (pool allows ${list(pool.nodeName)}, node is ${ctx.nodeName})`;
  } else if (pool.nodeAffinity) {
    const labels = needLabels(pool, "spec.nodeAffinity", pool.nodeAffinity, ctx.nodeLabels, "node");
    if (!matchesSelector(pool.nodeAffinity, labels)) return `unmatched node affinity (${describeSelector(pool.nodeAffinity)}) for node ${ctx.nodeName}`;
  }
  if (pool.namespaceName.length > 0) {
    if (ctx.namespace === undefined) return `restricted to namespaces ${list(pool.namespaceName)}, but the pod's namespace is unknown`;
    if (!pool.namespaceName.includes(ctx.namespace)) {
      return `unmatched namespace name (pool allows ${list(pool.namespaceName)}, namespace is ${ctx.namespace})`;
    }
  } else if (pool.namespaceAffinity) {
    const labels = needLabels(pool, "spec.namespaceAffinity", pool.namespaceAffinity, ctx.namespaceLabels, "namespace");
    if (!matchesSelector(pool.namespaceAffinity, labels)) return `unmatched namespace affinity (${describeSelector(pool.namespaceAffinity)})`;
  }
  if (pool.podAffinity) {
    const labels = needLabels(pool, "spec.podAffinity", pool.podAffinity, ctx.podLabels, "pod");
    if (!matchesSelector(pool.podAffinity, labels)) return `unmatched pod affinity (${describeSelector(pool.podAffinity)})`;
  }
  if (pool.multusName.length > 0 && !pool.multusName.some((m) => multusNameMatches(m, ctx.network))) {
    return `unmatched multus name (pool allows ${list(pool.multusName)}, network is ${ctx.network})`;
  }
  return undefined;
}

function podText(ctx: SelectionContext): string {
  if (ctx.podName === undefined) return "";
  return ` of pod ${ctx.namespace !== undefined ? `${ctx.namespace}/` : ""}${ctx.podName}`;
}

interface FamilyChoice {
  chosen: Pool[];
  /** Set when the family was requested and nothing is left: every refusal, pool by pool. */
  refusal?: string;
}

function chooseFamily(pools: Pool[], request: RuleRequest, family: Family): (ctx: SelectionContext) => FamilyChoice {
  return (ctx) => {
    const wanted = family === 4 ? request.v4 : request.v6;
    const { candidates, missing } = "names" in wanted ? resolveNames(pools, wanted.names) : { candidates: wanted.pools, missing: [] };
    // A family the rule names no pool for is simply not requested.
    if (candidates.length === 0 && missing.length === 0) return { chosen: [] };
    const chosen: Pool[] = [];
    const refused: string[] = [];
    for (const pool of candidates) {
      const reason = filterReason(pool, family, ctx);
      if (reason === undefined) chosen.push(pool);
      else refused.push(`pool ${pool.name}: ${reason}`);
    }
    if (chosen.length > 0) return { chosen };
    return { chosen, refusal: `no IPv${family} pool matches: ${[...refused, ...missing].join("; ")}` };
  };
}

/** Candidate pools per family, in the order allocation should try them. */
export function selectPools(pools: Pool[], ctx: SelectionContext): Selection {
  const request = pickRule(pools, ctx);
  if (!request) {
    throw new CniError(
      ErrorCode.NoPoolMatches,
      `no IP pool requested for interface ${ctx.ifname}${podText(ctx)}: no ipam.spidernet.io/ippools entry for it, no ipam.spidernet.io/ippool, no default_ipv4_ippool/default_ipv6_ippool, and no pool has spec.default: true`,
    );
  }
  // Both families are judged before failing, so the error covers every pool.
  const v4 = chooseFamily(pools, request, 4)(ctx);
  const v6 = chooseFamily(pools, request, 6)(ctx);
  const refusals = [v4.refusal, v6.refusal].filter((r): r is string => r !== undefined);
  if (refusals.length > 0) {
    throw new CniError(
      ErrorCode.NoPoolMatches,
      `no pool can serve interface ${ctx.ifname}${podText(ctx)} on node ${ctx.nodeName} (pools from ${request.rule}): ${refusals.join(" | ")}`,
    );
  }
  return { rule: request.rule, v4: v4.chosen, v6: v6.chosen, cleanGateway: request.cleanGateway ?? ctx.cleanGateway };
}
