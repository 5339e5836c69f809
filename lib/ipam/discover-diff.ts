// What writing discovered pools over a pool file would change, and which of
// the addresses it would take out of every pool are still allocated. Pure:
// validated pools and the store's claims in, changes and conflicts out.
import { type IPAddr, cidrEquals, formatCidr, formatIP, parseIP } from "../ip/address";
import { type IPRange, formatIPRange, rangeListContains, rangeSize, subtractRanges } from "../ip/range";
import type { Pool } from "./pool";
import type { PodRef } from "./request";

export interface PoolChange {
  name: string;
  kind: "added" | "removed" | "changed" | "unchanged";
  /** For "changed": one line per field that differs. */
  details: string[];
}

const rangesText = (ranges: IPRange[]) => ranges.map(formatIPRange).join(", ");
const count = (ranges: IPRange[]) => ranges.reduce((n, r) => n + rangeSize(r), 0n);
const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const gatewayText = (p: Pool) => (p.gateway ? formatIP(p.gateway) : "none");

function changesOf(before: Pool, after: Pool): string[] {
  const details: string[] = [];
  if (!cidrEquals(before.subnet, after.subnet)) details.push(`subnet ${formatCidr(before.subnet)} -> ${formatCidr(after.subnet)}`);
  const added = subtractRanges(after.usable, before.usable);
  const removed = subtractRanges(before.usable, after.usable);
  if (added.length > 0) details.push(`ips + ${rangesText(added)} (${count(added)} address(es))`);
  if (removed.length > 0) details.push(`ips - ${rangesText(removed)} (${count(removed)} address(es))`);
  if (gatewayText(before) !== gatewayText(after)) details.push(`gateway ${gatewayText(before)} -> ${gatewayText(after)}`);
  if (before.isDefault !== after.isDefault) details.push(`default ${before.isDefault} -> ${after.isDefault}`);
  if (!sameList(before.nodeName, after.nodeName)) details.push(`nodeName [${before.nodeName.join(", ")}] -> [${after.nodeName.join(", ")}]`);
  if (!sameList(before.multusName, after.multusName)) details.push(`multusName [${before.multusName.join(", ")}] -> [${after.multusName.join(", ")}]`);
  return details;
}

/** Pool by pool (by name): what is new, gone, changed, or the same. */
export function diffPools(before: Pool[], after: Pool[]): PoolChange[] {
  const old = new Map(before.map((p) => [p.name, p]));
  const changes: PoolChange[] = after.map((p) => {
    const earlier = old.get(p.name);
    if (!earlier) return { name: p.name, kind: "added", details: [`${formatCidr(p.subnet)}, ips ${rangesText(p.usable)} (${p.total} address(es))`] };
    const details = changesOf(earlier, p);
    return { name: p.name, kind: details.length === 0 ? "unchanged" : "changed", details };
  });
  const kept = new Set(after.map((p) => p.name));
  for (const p of before) if (!kept.has(p.name)) changes.push({ name: p.name, kind: "removed", details: [`${formatCidr(p.subnet)}, ips ${rangesText(p.usable)}`] });
  return changes;
}

/** Addresses of one old pool that no new pool would hand out. */
export interface Removal {
  pool: string;
  ranges: IPRange[];
}

/** Every address usable in a pool before and in no pool after, by old pool. */
export function removedAddresses(before: Pool[], after: Pool[]): Removal[] {
  const remaining = after.flatMap((p) => p.usable);
  return before.map((p) => ({ pool: p.name, ranges: subtractRanges(p.usable, remaining) })).filter((r) => r.ranges.length > 0);
}

/** An address in use, with who holds it, as the store says. */
export interface HeldAddress {
  address: string;
  /** "container c1 interface eth0 (pod default/nginx)", or why the owner is unknown. */
  holder: string;
}

/** "container ID interface IF (pod NS/NAME)", as an operator looks it up. */
export function holderText(c: { containerID: string; ifname: string; pod: PodRef; node?: string }): string {
  const pod = c.pod.name ? ` (pod ${c.pod.namespace ? `${c.pod.namespace}/` : ""}${c.pod.name})` : "";
  const node = c.node ? ` on node ${c.node}` : "";
  return `container ${c.containerID} interface ${c.ifname}${pod}${node}`;
}

export interface HeldRemoval extends HeldAddress {
  pool: string;
}

/** The held addresses among those removals would take out of every pool. */
export function heldRemovals(removals: Removal[], held: HeldAddress[]): HeldRemoval[] {
  const out: HeldRemoval[] = [];
  for (const h of held) {
    const ip: IPAddr | undefined = parseIP(h.address);
    if (!ip) continue;
    const removal = removals.find((r) => rangeListContains(r.ranges, ip));
    if (removal) out.push({ ...h, pool: removal.pool });
  }
  return out;
}

/** At most this many conflicts are listed one by one. */
const LISTED = 10;

/** The refusal: every held address named with its pool and holder (the first ten, then a count). */
export function refusalMessage(file: string, conflicts: HeldRemoval[]): string {
  const listed = conflicts.slice(0, LISTED).map((c) => `${c.address} of pool ${c.pool} is allocated to ${c.holder}`);
  const more = conflicts.length > LISTED ? `; and ${conflicts.length - LISTED} more` : "";
  return (
    `refusing to write ${file}: it would take out of every pool ${conflicts.length} address(es) still allocated: ${listed.join("; ")}${more}. ` +
    "Release them first (delete their pods, or `spiderpool-ipam release --container-id ID`), then run discover again; the file is unchanged"
  );
}
