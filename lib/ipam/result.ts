// The IPAM result for a set of allocations: addresses with the subnet's prefix, the
// pools' routes, and the default route via the gateway unless cleangateway asks not to.

import type { CniIPConfig, CniResult, CniRoute } from "../cni/types";
import { formatIP } from "../ip/address";
import type { Allocation } from "./allocate";

export function buildIpamResult(allocs: Allocation[], cleanGateway: boolean, cniVersion: string): CniResult {
  // v4 first: runtimes and tools tend to read ips[0] as "the" address.
  const ordered = [...allocs].sort((a, b) => a.ip.family - b.ip.family);
  const ips: CniIPConfig[] = [];
  const routes: CniRoute[] = [];
  const seen = new Set<string>();
  const addRoute = (route: CniRoute) => {
    const key = `${route.dst} ${route.gw ?? ""}`;
    if (!seen.has(key)) {
      seen.add(key);
      routes.push(route);
    }
  };
  for (const { pool, ip } of ordered) {
    const config: CniIPConfig = { address: `${formatIP(ip)}/${pool.subnet.prefix}` };
    if (pool.gateway) config.gateway = formatIP(pool.gateway);
    ips.push(config);
    for (const r of pool.routes) addRoute({ dst: r.dst, gw: r.gw });
    if (pool.gateway && !cleanGateway) addRoute({ dst: pool.family === 4 ? "0.0.0.0/0" : "::/0", gw: formatIP(pool.gateway) });
  }
  const result: CniResult = { cniVersion, ips };
  if (routes.length > 0) result.routes = routes;
  return result;
}
