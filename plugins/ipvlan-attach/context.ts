// Shared steps of the ipvlan-attach commands: config, IPAM delegation, the
// namespaces and sockets involved.
import { execDelegate } from "../../lib/cni/delegate";
import type { CniRequest } from "../../lib/cni/skel";
import type { CniResult } from "../../lib/cni/types";
import { parseIpvlanConfig, unknownKeys, type IpvlanConfig } from "../../lib/ipvlan/config";

export function ipvlanConfig(req: CniRequest): IpvlanConfig {
  const cfg = parseIpvlanConfig(req.conf);
  const unknown = unknownKeys(req.conf);
  if (unknown.length > 0) process.stderr.write(`ipvlan-attach: warning: ignoring unknown configuration keys: ${unknown.join(", ")}\n`);
  return cfg;
}

/** Runs the configured IPAM plugin with our own invocation's env and stdin. */
export function ipam(req: CniRequest, cfg: IpvlanConfig, command: "ADD" | "DEL" | "CHECK" | "GC" | "STATUS"): CniResult | undefined {
  if (!cfg.ipamType) return undefined;
  return execDelegate({ command, type: cfg.ipamType, stdin: req.stdin, env: process.env, cniPath: req.env.path });
}
