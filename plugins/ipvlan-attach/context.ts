// Shared steps of the ipvlan-attach commands: config, IPAM delegation, the
// namespaces and sockets involved.
import { runDelegate, type InProcessPlugin } from "../../lib/cni/delegate";
import type { CniRequest } from "../../lib/cni/skel";
import type { CniResult } from "../../lib/cni/types";
import { parseIpvlanConfig, unknownKeys, type IpvlanConfig } from "../../lib/ipvlan/config";
import { withConflicts, type AddressConflict } from "../../lib/ipvlan/conflict";
import { IPAM_NAMES } from "../spiderpool-cni/names";

export function ipvlanConfig(req: CniRequest): IpvlanConfig {
  const cfg = parseIpvlanConfig(req.conf);
  const unknown = unknownKeys(req.conf);
  if (unknown.length > 0) process.stderr.write(`ipvlan-attach: warning: ignoring unknown configuration keys: ${unknown.join(", ")}\n`);
  return cfg;
}

// spiderpool-ipam is part of this executable: when CNI_PATH's spiderpool-ipam
// is this very file, its call runs here, saving a second process start.
const loadIpam = async (): Promise<InProcessPlugin> => (await import("../spiderpool-ipam/main")).runInProcess;
const IN_PROCESS = Object.fromEntries(IPAM_NAMES.map((name) => [name, loadIpam]));

/**
 * Runs the configured IPAM plugin with our own invocation's env and stdin;
 * `conflicts` (a rollback DEL after a conflict) go into the stdin's "args".
 */
export async function ipam(
  req: CniRequest,
  cfg: IpvlanConfig,
  command: "ADD" | "DEL" | "CHECK" | "GC" | "STATUS",
  conflicts: AddressConflict[] = [],
): Promise<CniResult | undefined> {
  if (!cfg.ipamType) return undefined;
  const stdin = conflicts.length > 0 ? JSON.stringify(withConflicts(JSON.parse(req.stdin) as Record<string, unknown>, conflicts)) : req.stdin;
  return runDelegate({ command, type: cfg.ipamType, stdin, env: process.env, cniPath: req.env.path, inProcess: IN_PROCESS });
}
