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
import { ipamConfig, openStore, poolsFor, selectionContext } from "../context";
import { mark } from "../../../lib/timing";

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
  const pools = await poolsFor(cfg);
  mark("pools");
  const selection = selectPools(pools, selectionContext(cfg, req.env.ifname, request));
  const requested = parseRequested(request.requestedIPs);
  mark("selected");
  const owner = { containerID: req.env.containerId, ifname: req.env.ifname, network: cfg.network, pod: request.pod, created: new Date().toISOString() };
  const quarantine = { holdSeconds: cfg.conflictHoldSeconds, now: new Date() };
  const allocs = await store.allocate({ owner, selection, requested, pools, quarantine });
  mark("allocated");
  if (cfg.metricsFile) (await import("../metrics-refresh")).refreshMetricsFile(cfg, pools);
  return buildIpamResult(allocs, selection.cleanGateway, req.conf.cniVersion);
}
