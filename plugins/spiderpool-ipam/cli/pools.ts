// `pools`: what `kubectl get spiderippool` shows, for the pools this node
// sees. With the etcd store (--config FILE) the counts are cluster-wide, and
// per node.
import { formatCidr } from "../../../lib/ip/address";
import { loadPools } from "../../../lib/ipam/pool-source";
import { sharingReason } from "../../../lib/ipam/shared";
import type { StoreSettings } from "../../../lib/ipam/store-config";
import { countAllocations, poolsOnNode } from "../../../lib/ipam/usage";
import { claimedAddresses, quarantinedAddresses } from "../../../lib/store/usage";
import { storeLayout } from "../../../lib/store/layout";
import { flag, type ParsedArgs } from "./args";
import { cliStore } from "./dirs";

export interface PoolRow {
  name: string;
  version: number;
  subnet: string;
  allocated: number;
  /** Quarantined addresses (counted in `allocated` too). */
  conflicts: number;
  total: string;
  default: boolean;
  disabled: boolean;
  nodes: string[];
  /** Why several nodes may use the pool (the local store refuses it), or null. */
  shared: string | null;
  /** With the etcd store: allocated addresses per node. */
  allocatedByNode?: Record<string, number>;
  source: string;
}

export async function poolsCommand(args: ParsedArgs): Promise<number> {
  const dirs = cliStore(args);
  // The plugin's pool cache when it is valid (read only): validating the
  // files again would load the schema validator for nothing.
  const all = await loadPools(dirs.poolDir, [], storeLayout(dirs.dataDir).cache, { readOnly: true });
  const seen = args.flags.has("all-nodes") ? all : poolsOnNode(all, dirs.nodeName);
  let counts: Map<string, number>;
  let conflicts: Map<string, number>;
  let byNode: Map<string, Map<string, number>> | undefined;
  if (dirs.store.type === "etcd") {
    const { EtcdStore } = await import("../../../lib/store/etcd/store");
    const usage = await EtcdStore.open({ settings: dirs.store, nodeName: dirs.nodeName }).usage(seen);
    counts = new Map([...usage].map(([name, u]) => [name, u.allocated]));
    conflicts = new Map([...usage].map(([name, u]) => [name, u.conflicts]));
    byNode = new Map([...usage].map(([name, u]) => [name, u.byNode]));
  } else {
    counts = countAllocations(all, claimedAddresses(dirs.dataDir));
    conflicts = countAllocations(all, quarantinedAddresses(dirs.dataDir));
  }
  const rows: PoolRow[] = seen.map((p) => ({
    name: p.name,
    version: p.family,
    subnet: formatCidr(p.subnet),
    allocated: counts.get(p.name) ?? 0,
    conflicts: conflicts.get(p.name) ?? 0,
    total: p.total.toString(),
    default: p.isDefault,
    disabled: p.disabled,
    nodes: p.nodeName,
    shared: sharingReason(p) ?? null,
    ...(byNode ? { allocatedByNode: Object.fromEntries(byNode.get(p.name) ?? []) } : {}),
    source: p.source,
  }));
  const output = flag(args, "o", "output") ?? "table";
  if (output === "json") {
    process.stdout.write(JSON.stringify({ node: dirs.nodeName, store: dirs.store.type, pools: rows }, null, 2) + "\n");
    return 0;
  }
  if (output !== "table" && output !== "wide") throw new Error(`unknown output format ${JSON.stringify(output)} (table or json)`);
  const table = [
    ["NAME", "VERSION", "SUBNET", "ALLOCATED", "CONFLICTS", "TOTAL", "DEFAULT", "NODES", "SHARED"],
    ...rows.map((r) => [
      r.name + (r.disabled ? " (disabled)" : ""),
      String(r.version),
      r.subnet,
      String(r.allocated),
      String(r.conflicts),
      r.total,
      String(r.default),
      r.nodes.length ? r.nodes.join(",") : "<all>",
      sharedCell(r, dirs.store),
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) process.stdout.write(row.map((c, i) => c.padEnd(widths[i]!)).join("   ").trimEnd() + "\n");
  return 0;
}

/** "no"; "yes" with the etcd store (and its per-node counts); "REFUSED" where the local store cannot serve it. */
function sharedCell(r: PoolRow, store: StoreSettings): string {
  if (!r.shared) return "no";
  if (store.type === "local") return store.sharedPools === "allow" ? "yes (sharedPools allow: one node only)" : "REFUSED (local store)";
  const perNode = Object.entries(r.allocatedByNode ?? {}).map(([node, n]) => `${node}=${n}`);
  return perNode.length ? `yes (${perNode.join(",")})` : "yes";
}
