// DEL: release what this container's interface holds, and what an ADD killed
// mid-write left. Idempotent: an unknown container or interface is success.
// Pool files are not needed to release, so a broken pool file never blocks
// a release; they are read only for the metrics file.
// ipvlan-attach's rollback names the addresses another host answered for
// (args.spiderpool.conflicts): those stay held by a conflict record for
// ipam.conflictHoldSeconds, so the runtime's retried ADD gets another one.
import type { CniRequest } from "../../../lib/cni/skel";
import { readReportedConflicts } from "../../../lib/ipam/conflicts";
import type { Pool } from "../../../lib/ipam/pool";
import type { ConflictReport } from "../../../lib/store/backend";
import { ipamConfig, openStore, poolsFor } from "../context";
import { mark } from "../../../lib/timing";

export async function ipamDel(req: CniRequest): Promise<void> {
  mark("command");
  const cfg = ipamConfig(req);
  // Malformed conflicts are code 7 before the store is touched.
  const conflicts = readReportedConflicts(req.conf);
  const report: ConflictReport | undefined = conflicts.length > 0 && cfg.conflictHoldSeconds > 0 ? { conflicts, detected: new Date() } : undefined;
  const store = await openStore(cfg);
  let pools: Pool[] | undefined;
  if (cfg.metricsFile) {
    try {
      pools = await poolsFor(cfg);
    } catch {
      pools = undefined;
    }
  }
  const quarantined = await store.release(req.env.containerId, req.env.ifname, pools, report);
  mark("released");
  const ignored = report?.conflicts.filter((c) => !quarantined.includes(c.address)).map((c) => c.address) ?? [];
  if (ignored.length > 0) {
    process.stderr.write(
      `spiderpool-ipam: warning: conflicts reported on ${ignored.slice(0, 8).join(", ")}${ignored.length > 8 ? ` and ${ignored.length - 8} more` : ""}, which container ${req.env.containerId} interface ${req.env.ifname} does not hold: not quarantined\n`,
    );
  }
  if (cfg.metricsFile) (await import("../metrics-refresh")).refreshMetricsFile(cfg, pools);
}
