// `pools`: what `kubectl get spiderippool` shows, for the pools this node sees.
import { formatCidr } from "../../../lib/ip/address";
import { loadPools } from "../../../lib/ipam/pool-source";
import { claimedAddresses, countAllocations, poolsOnNode } from "../../../lib/ipam/usage";
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

export async function poolsCommand(args: ParsedArgs): Promise<number> {
  const dirs = cliDirs(args);
  // The plugin's pool cache when it is valid (read only): validating the
  // files again would load the schema validator for nothing.
  const all = await loadPools(dirs.poolDir, [], storeLayout(dirs.dataDir).cache, { readOnly: true });
  const seen = args.flags.has("all-nodes") ? all : poolsOnNode(all, dirs.nodeName);
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
