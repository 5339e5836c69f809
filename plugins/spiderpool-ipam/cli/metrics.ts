// `metrics [-o FILE]`: this node's pool usage in Prometheus text format, for
// node_exporter's textfile collector (run from cron or a timer, or let the
// plugin refresh ipam.metricsFile on every ADD/DEL).
import { loadPools } from "../../../lib/ipam/pool-source";
import { nodeMetricsText, writeMetricsFile } from "../../../lib/metrics/collect";
import { flag, type ParsedArgs } from "./args";
import { cliDirs } from "./dirs";

export async function metricsCommand(args: ParsedArgs): Promise<number> {
  const dirs = cliDirs(args);
  const text = nodeMetricsText(await loadPools(dirs.poolDir, []), dirs.dataDir, dirs.nodeName);
  const file = flag(args, "o", "output");
  if (file) writeMetricsFile(file, text);
  else process.stdout.write(text);
  return 0;
}
