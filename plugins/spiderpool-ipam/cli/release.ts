// `release --container-id ID [--ifname IF]`: frees by hand what a lost DEL left.
import { CniError, ErrorCode } from "../../../lib/cni/errors";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../../../lib/ipam/config";
import type { Pool } from "../../../lib/ipam/pool";
import { loadPools } from "../../../lib/ipam/pool-source";
import { openStore } from "../context";
import { releaseAttachment } from "../commands/release";
import { cliDirs } from "./dirs";
import { flag, type ParsedArgs } from "./args";

export async function releaseCommand(args: ParsedArgs): Promise<number> {
  const id = flag(args, "container-id");
  if (!id) throw new CniError(ErrorCode.InvalidConfig, "release needs --container-id");
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id)) throw new CniError(ErrorCode.InvalidConfig, `invalid container ID ${JSON.stringify(id)}`);
  const ifname = flag(args, "ifname");
  const dirs = cliDirs(args);
  let pools: Pool[] | undefined;
  try {
    pools = await loadPools(dirs.poolDir, []);
  } catch {
    pools = undefined;
  }
  const released = openStore({ dataDir: dirs.dataDir, lockTimeoutMs: DEFAULT_LOCK_TIMEOUT_MS }).withLock((tx) => {
    const records = tx.attachmentsOf(id).filter((r) => !ifname || r.ifname === ifname);
    for (const r of records) releaseAttachment(tx, r, pools);
    return records;
  });
  if (released.length === 0) {
    process.stdout.write(`nothing recorded for container ${id}${ifname ? ` interface ${ifname}` : ""}\n`);
  }
  for (const r of released) {
    process.stdout.write(`released ${r.containerID}/${r.ifname}: ${r.ips.map((e) => `${e.address} (${e.pool})`).join(", ")}\n`);
  }
  return 0;
}
