// STATUS (CNI 1.1): could an ADD on this node succeed now? Code 50 names the
// reason: no pool for this node and network, a pool the local store cannot
// serve, every candidate exhausted (a quarantine whose hold is over counts as
// free: ADD frees it first), or the etcd store out of reach.
import { CniError, ErrorCode } from "../../../lib/cni/errors";
import type { CniRequest } from "../../../lib/cni/skel";
import { selectPools } from "../../../lib/ipam/select";
import { refuseSharedPools } from "../../../lib/store/local";
import { ipamConfig, openStore, poolsFor, selectionContext } from "../context";

const unavailable = (msg: string) => new CniError(ErrorCode.PluginNotAvailable, msg);

export async function ipamStatus(req: CniRequest): Promise<void> {
  const cfg = ipamConfig(req);
  const pools = await poolsFor(cfg);
  if (pools.length === 0) throw unavailable(`no IP pools: poolDir ${cfg.poolDir} holds none and ipam.ippools is empty`);
  let selection;
  try {
    selection = selectPools(pools, selectionContext(cfg, req.env.ifname || "eth0"));
    if (cfg.store.type === "local" && cfg.store.sharedPools !== "allow") refuseSharedPools(selection, cfg.nodeName);
  } catch (e) {
    throw unavailable(`no pool can serve node ${cfg.nodeName}: ${(e as Error).message}`);
  }
  const store = await openStore(cfg);
  for (const [family, candidates] of [["IPv4", selection.v4], ["IPv6", selection.v6]] as const) {
    if (candidates.length === 0) continue;
    let free: boolean;
    try {
      free = await store.hasFree(candidates, { holdSeconds: cfg.conflictHoldSeconds, now: new Date() });
    } catch (e) {
      throw unavailable(`the IPAM store cannot be read: ${(e as Error).message}`);
    }
    if (!free) throw unavailable(`all ${family} pools for node ${cfg.nodeName} are exhausted: ${candidates.map((p) => p.name).join(", ")}`);
  }
}
