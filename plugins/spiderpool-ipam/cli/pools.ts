// `pools`: what `kubectl get spiderippool` shows, for the pools this node sees.
// Allocations are counted from claim file names alone (no file reads), so the
// listing stays quick with tens of thousands of allocations.
import { readdirSync } from "node:fs";
import { rangeListContains } from "../../../lib/ip/range";
import { cidrContains, formatCidr, parseIP } from "../../../lib/ip/address";
import type { Pool } from "../../../lib/ipam/pool";
import { loadPools } from "../../../lib/ipam/pool-source";
import { storeLayout } from "../../../lib/store/layout";
import { flag, type ParsedArgs } from "./args";
import { cliDirs } from "./dirs";

export interface PoolRow {
  name: string;
  version: number;
  subnet: string;
  allocated: number;
  total: string;
  default: boolean;
  disabled: boolean;
  nodes: string[];
  source: string;
}

function claimedAddresses(dataDir: string): string[] {
  try {
    return readdirSync(storeLayout(dataDir).claims).filter((n) => !n.startsWith("."));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** Counts claims per pool; a claim outside every pool's usable set counts nowhere. */
export function countAllocations(pools: Pool[], claims: string[]): Map<string, number> {
  const counts = new Map(pools.map((p) => [p.name, 0]));
  for (const text of claims) {
    const ip = parseIP(text);
    if (!ip) continue;
    const owner = pools.find((p) => p.family === ip.family && cidrContains(p.subnet, ip) && rangeListContains(p.usable, ip));
    if (owner) counts.set(owner.name, (counts.get(owner.name) ?? 0) + 1);
  }
  return counts;
}

export async function poolsCommand(args: ParsedArgs): Promise<number> {
  const dirs = cliDirs(args);
  const all = await loadPools(dirs.poolDir, []);
  const seen = args.flags.has("all-nodes") ? all : all.filter((p) => p.nodeName.length === 0 || p.nodeName.includes(dirs.nodeName));
  const counts = countAllocations(all, claimedAddresses(dirs.dataDir));
  const rows: PoolRow[] = seen.map((p) => ({
    name: p.name,
    version: p.family,
    subnet: formatCidr(p.subnet),
    allocated: counts.get(p.name) ?? 0,
    total: p.total.toString(),
    default: p.isDefault,
    disabled: p.disabled,
    nodes: p.nodeName,
    source: p.source,
  }));
  const output = flag(args, "o", "output") ?? "table";
  if (output === "json") {
    process.stdout.write(JSON.stringify({ node: dirs.nodeName, pools: rows }, null, 2) + "\n");
    return 0;
  }
  if (output !== "table" && output !== "wide") throw new Error(`unknown output format ${JSON.stringify(output)} (table or json)`);
  const table = [
    ["NAME", "VERSION", "SUBNET", "ALLOCATED", "TOTAL", "DEFAULT", "NODES"],
    ...rows.map((r) => [
      r.name + (r.disabled ? " (disabled)" : ""),
      String(r.version),
      r.subnet,
      String(r.allocated),
      r.total,
      String(r.default),
      r.nodes.length ? r.nodes.join(",") : "<all>",
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) process.stdout.write(row.map((c, i) => c.padEnd(widths[i]!)).join("   ").trimEnd() + "\n");
  return 0;
}
