// ADD: choose pools, take one free address per family from the store (which
// records it durably), and answer with addresses, gateway and routes. A
// repeated ADD for the same container and interface answers the same addresses.
import { CniError, ErrorCode } from "../../../lib/cni/errors";
import type { CniRequest } from "../../../lib/cni/skel";
import type { CniResult } from "../../../lib/cni/types";
import { parseIP, type IPAddr } from "../../../lib/ip/address";
import { readIpamRequest } from "../../../lib/ipam/request";
import { buildIpamResult } from "../../../lib/ipam/result";
import { selectPools } from "../../../lib/ipam/select";
import { poolDirStamp } from "../../../lib/ipam/pool-source";
import { PoolsChangedError } from "../../../lib/store/backend";
import { ipamConfig, openStore, poolsFor, selectionContext } from "../context";
import { mark } from "../../../lib/timing";

/** Pool files replaced this many times during one ADD's wait: code 11 rather than waiting on. */
const POOL_CHANGE_ATTEMPTS = 3;

function parseRequested(list: string[]): IPAddr[] {
  return list.map((text) => {
    const ip = parseIP(text);
    if (!ip) throw new CniError(ErrorCode.InvalidConfig, `requested IP ${JSON.stringify(text)} is not an IP address`);
    return ip;
  });
}

export async function ipamAdd(req: CniRequest): Promise<CniResult> {
  mark("command");
  const cfg = ipamConfig(req);
  const request = readIpamRequest(req);
  // The store first: opening it creates dataDir, where the pool cache lives,
  // so even a node's very first ADD leaves the validated pools cached.
  const store = await openStore(cfg);
  const requested = parseRequested(request.requestedIPs);
  const owner = { containerID: req.env.containerId, ifname: req.env.ifname, network: cfg.network, pod: request.pod, created: new Date().toISOString() };
  const quarantine = { holdSeconds: cfg.conflictHoldSeconds, now: new Date() };
  // Pools are read before the store's lock (reading them under it would hold
  // every other ADD up); the store asks under its lock whether they are still
  // current, and the choice is made again when they were replaced meanwhile.
  for (let attempt = 1; ; attempt++) {
    const stamp = poolDirStamp(cfg.poolDir);
    const pools = await poolsFor(cfg);
    mark("pools");
    const selection = selectPools(pools, selectionContext(cfg, req.env.ifname, request));
    mark("selected");
    const poolsUnchanged = () => poolDirStamp(cfg.poolDir) === stamp;
    try {
      const allocs = await store.allocate({ owner, selection, requested, pools, quarantine, poolsUnchanged });
      mark("allocated");
      if (cfg.metricsFile) (await import("../metrics-refresh")).refreshMetricsFile(cfg, pools);
      return buildIpamResult(allocs, selection.cleanGateway, req.conf.cniVersion);
    } catch (e) {
      if (!(e instanceof PoolsChangedError)) throw e;
      if (attempt === POOL_CHANGE_ATTEMPTS) {
        throw new CniError(ErrorCode.TryAgainLater, `the pool files in ${cfg.poolDir} changed ${attempt} times while this ADD waited for the store; nothing was allocated`);
      }
    }
  }
}
