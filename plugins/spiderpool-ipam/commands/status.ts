// STATUS (CNI 1.1): could an ADD on this node succeed now? Code 50 names the
// reason: no pool for this node and network, or every candidate exhausted.
import { CniError, ErrorCode } from "../../../lib/cni/errors";
import type { CniRequest } from "../../../lib/cni/skel";
import { findFree } from "../../../lib/ipam/allocate";
import { selectPools } from "../../../lib/ipam/select";
import { ipamConfig, openStore, poolsFor, selectionContext } from "../context";

export async function ipamStatus(req: CniRequest): Promise<void> {
  const cfg = ipamConfig(req);
  const pools = await poolsFor(cfg);
  if (pools.length === 0) {
    throw new CniError(ErrorCode.PluginNotAvailable, `no IP pools: poolDir ${cfg.poolDir} holds none and ipam.ippools is empty`);
  }
  let selection;
  try {
    selection = selectPools(pools, selectionContext(cfg, req.env.ifname || "eth0"));
  } catch (e) {
    throw new CniError(ErrorCode.PluginNotAvailable, `no pool can serve node ${cfg.nodeName}: ${(e as Error).message}`);
  }
  openStore(cfg).withLock((tx) => {
    for (const [family, candidates] of [["IPv4", selection.v4], ["IPv6", selection.v6]] as const) {
      if (candidates.length === 0) continue;
      const free = candidates.some((p) => findFree(p, (ip) => tx.isUsed(ip), tx.hint(p.name, p.fingerprint)));
      if (!free) {
        throw new CniError(
          ErrorCode.PluginNotAvailable,
          `all ${family} pools for node ${cfg.nodeName} are exhausted: ${candidates.map((p) => p.name).join(", ")}`,
        );
      }
    }
  });
}
