// The pool usage metrics of one node, as metric families. Pure: pools and
// counts in, families out (collect.ts reads the store).
import type { Pool } from "../ipam/pool";
import type { MetricFamily } from "./exposition";

export interface NodeUsage {
  node: string;
  /** The pools this node sees, in the order to print them. */
  pools: Pool[];
  /** Allocated addresses per pool name. */
  allocated: Map<string, number>;
  /** Quarantined addresses per pool name (counted in `allocated` too). */
  conflicts: Map<string, number>;
  /** Recorded (container ID, interface) attachments. */
  attachments: number;
}

export function ippoolFamilies(usage: NodeUsage): MetricFamily[] {
  const { node, pools } = usage;
  const labels = (p: Pool) => ({ pool: p.name, ipversion: String(p.family), node });
  const perPool = (name: string, help: string, value: (p: Pool) => number | bigint): MetricFamily => ({
    name,
    help,
    type: "gauge",
    samples: pools.map((p) => ({ labels: labels(p), value: value(p) })),
  });
  return [
    perPool("spiderpool_ippool_total_ips", "Usable addresses of the pool: ips minus excludeIPs and the gateway.", (p) => p.total),
    perPool("spiderpool_ippool_allocated_ips", "Addresses of the pool allocated on this node.", (p) => usage.allocated.get(p.name) ?? 0),
    perPool(
      "spiderpool_ippool_conflict_ips",
      "Addresses of the pool quarantined on this node after another host answered for them (counted in allocated_ips too).",
      (p) => usage.conflicts.get(p.name) ?? 0,
    ),
    perPool("spiderpool_ippool_default", "1 when the pool is a default pool (spec.default), else 0.", (p) => (p.isDefault ? 1 : 0)),
    perPool("spiderpool_ippool_disabled", "1 when the pool is disabled (spec.disable), else 0.", (p) => (p.disabled ? 1 : 0)),
    {
      name: "spiderpool_attachments_total",
      help: "Pod interfaces (container ID, interface name) holding addresses on this node.",
      type: "gauge",
      samples: [{ labels: { node }, value: usage.attachments }],
    },
  ];
}
