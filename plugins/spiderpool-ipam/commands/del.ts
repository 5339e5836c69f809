// DEL: release what this container's interface holds, and what an ADD killed
// mid-write left in the container's directory. Idempotent: an unknown
// container or interface is success. Pool files are only needed for the hint,
// so a broken pool file never blocks a release.
import type { CniRequest } from "../../../lib/cni/skel";
import type { Pool } from "../../../lib/ipam/pool";
import { ipamConfig, openStore, poolsFor } from "../context";
import { releaseAttachment } from "./release";

export async function ipamDel(req: CniRequest): Promise<void> {
  const cfg = ipamConfig(req);
  let pools: Pool[] | undefined;
  try {
    pools = await poolsFor(cfg);
  } catch {
    pools = undefined;
  }
  openStore(cfg).withLock((tx) => {
    const record = tx.attachment(req.env.containerId, req.env.ifname);
    if (record) releaseAttachment(tx, record, pools);
    tx.tidyContainer(req.env.containerId); // what an ADD killed mid-write left there
  });
  if (cfg.metricsFile) (await import("../metrics-refresh")).refreshMetricsFile(cfg, pools);
}
