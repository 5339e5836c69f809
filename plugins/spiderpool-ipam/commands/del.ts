// DEL: release what this container's interface holds, and what an ADD killed
// mid-write left. Idempotent: an unknown container or interface is success.
// Pool files are not needed to release, so a broken pool file never blocks
// a release; they are read only for the metrics file.
import type { CniRequest } from "../../../lib/cni/skel";
import type { Pool } from "../../../lib/ipam/pool";
import { ipamConfig, openStore, poolsFor } from "../context";
import { mark } from "../../../lib/timing";

export async function ipamDel(req: CniRequest): Promise<void> {
  mark("command");
  const cfg = ipamConfig(req);
  const store = await openStore(cfg);
  let pools: Pool[] | undefined;
  if (cfg.metricsFile) {
    try {
      pools = await poolsFor(cfg);
    } catch {
      pools = undefined;
    }
  }
  await store.release(req.env.containerId, req.env.ifname, pools);
  mark("released");
  if (cfg.metricsFile) (await import("../metrics-refresh")).refreshMetricsFile(cfg, pools);
}
