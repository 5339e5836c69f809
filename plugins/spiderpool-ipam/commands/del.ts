// DEL: release what this container's interface holds, and what an ADD killed
// mid-write left in the container's directory. Idempotent: an unknown
// container or interface is success. Pool files are only needed for the hint,
// so a broken pool file never blocks a release.
import type { CniRequest } from "../../../lib/cni/skel";
import type { Pool } from "../../../lib/ipam/pool";
import { ipamConfig, openStore, poolsFor } from "../context";
import { releaseAttachment } from "./release";
import { mark } from "../../../lib/timing";

export async function ipamDel(req: CniRequest): Promise<void> {
  mark("command");
  const cfg = ipamConfig(req);
  let pools: Pool[] | undefined;
  try {
    pools = await poolsFor(cfg);
  } catch {
    pools = undefined;
  }
  mark("pools");
  openStore(cfg).withLock((tx) => {
    mark("locked");
    const record = tx.attachment(req.env.containerId, req.env.ifname);
    if (record) releaseAttachment(tx, record, pools);
    tx.tidyContainer(req.env.containerId); // what an ADD killed mid-write left there
  });
  mark("unlocked");
  if (cfg.metricsFile) (await import("../metrics-refresh")).refreshMetricsFile(cfg, pools);
}
