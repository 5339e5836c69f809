// Refreshes ipam.metricsFile after a successful ADD or DEL. Loaded only when
// the config names a metrics file. Runs after the store lock is released and
// never fails the CNI call: a problem is one line on stderr.
import { join } from "node:path";
import type { IpamConfig } from "../../lib/ipam/config";
import type { Pool } from "../../lib/ipam/pool";
import { nodeMetricsText, writeMetricsFile } from "../../lib/metrics/collect";
import { lockFile } from "../../lib/sys/flock";

const REFRESH_LOCK_TIMEOUT_MS = 2000;

export function refreshMetricsFile(cfg: IpamConfig, pools: Pool[] | undefined): void {
  if (!cfg.metricsFile) return;
  try {
    if (!pools) throw new Error("the pools could not be loaded");
    // Refreshes take turns and each counts inside its turn: the file last
    // written then counts every change made before it, so two racing calls
    // cannot leave an older count behind the newer one.
    const lock = lockFile(join(cfg.dataDir, "metrics.lock"), { timeoutMs: REFRESH_LOCK_TIMEOUT_MS });
    try {
      writeMetricsFile(cfg.metricsFile, nodeMetricsText(pools, cfg.dataDir, cfg.nodeName));
    } finally {
      lock.release();
    }
  } catch (e) {
    process.stderr.write(`spiderpool-ipam: warning: metricsFile ${cfg.metricsFile} not refreshed: ${(e as Error).message}\n`);
  }
}
