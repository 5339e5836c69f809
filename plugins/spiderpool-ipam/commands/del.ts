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
  const store = openStore(cfg);
  // A record notes where each address sits in its pool, which is all the
  // hint needs: the pools are loaded only for records from before that
  // (read here without the lock: under it DEL copes with whatever it finds)
  // and for the metrics file.
  const peek = store.peekAttachment(req.env.containerId, req.env.ifname);
  const needPools = cfg.metricsFile !== undefined || (peek?.ips.some((e) => e.ordinal === undefined || e.fingerprint === undefined) ?? false);
  let pools: Pool[] | undefined;
  if (needPools) {
    try {
      pools = await poolsFor(cfg);
    } catch {
      pools = undefined;
    }
  }
  mark("pools");
  store.withLock((tx) => {
    mark("locked");
    const record = tx.attachment(req.env.containerId, req.env.ifname);
    if (record) releaseAttachment(tx, record, pools);
    tx.tidyContainer(req.env.containerId); // what an ADD killed mid-write left there
  });
  mark("unlocked");
  if (cfg.metricsFile) (await import("../metrics-refresh")).refreshMetricsFile(cfg, pools);
}
