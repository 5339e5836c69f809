// Where the CLI looks: the same defaults as the plugin, or the settings of a
// network configuration (--config FILE, a .conf or .conflist holding the
// spiderpool-ipam block), overridable by flags.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { CniError, ErrorCode } from "../../../lib/cni/errors";
import { DEFAULT_DATA_DIR, DEFAULT_LOCK_TIMEOUT_MS, DEFAULT_POOL_DIR, parseIpamConfig } from "../../../lib/ipam/config";
import type { StoreSettings } from "../../../lib/ipam/store-config";
import { nestingProblem } from "../../../lib/nesting";
import { flag, type ParsedArgs } from "./args";

export interface CliDirs {
  poolDir: string;
  dataDir: string;
  nodeName: string;
}

export interface CliStore extends CliDirs {
  lockTimeoutMs: number;
  store: StoreSettings;
}

const envNode = () => process.env.NODE_NAME ?? process.env.KUBERNETES_NODE_NAME ?? hostname();

export function cliDirs(args: ParsedArgs): CliDirs {
  const { poolDir, dataDir, nodeName } = cliStore(args);
  return { poolDir, dataDir, nodeName };
}

/** The directories and the store settings the CLI works on. */
export function cliStore(args: ParsedArgs): CliStore {
  const file = flag(args, "config");
  const base: CliStore = file
    ? fromNetworkConfig(file)
    : { poolDir: DEFAULT_POOL_DIR, dataDir: DEFAULT_DATA_DIR, nodeName: envNode(), lockTimeoutMs: DEFAULT_LOCK_TIMEOUT_MS, store: { type: "local", sharedPools: "refuse" } };
  return {
    ...base,
    poolDir: flag(args, "pool-dir") ?? base.poolDir,
    dataDir: flag(args, "data-dir") ?? base.dataDir,
    nodeName: flag(args, "node") ?? base.nodeName,
  };
}

function fromNetworkConfig(file: string): CliStore {
  let conf: Record<string, unknown>;
  try {
    conf = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new CniError(ErrorCode.InvalidConfig, `--config ${file}: not a readable JSON network configuration: ${(e as Error).message}`);
  }
  const tooDeep = nestingProblem(conf);
  if (tooDeep) throw new CniError(ErrorCode.InvalidConfig, `--config ${file}: ${tooDeep}`);
  // A conflist holds plugins; the one whose ipam block is ours is the one meant.
  const plugins = Array.isArray(conf.plugins) ? (conf.plugins as Record<string, unknown>[]) : [conf];
  const plugin = plugins.find((p) => (p?.ipam as { type?: unknown } | undefined)?.type === "spiderpool-ipam");
  if (!plugin) throw new CniError(ErrorCode.InvalidConfig, `--config ${file}: no plugin with an ipam block of type spiderpool-ipam`);
  const netconf = { ...plugin, type: String(plugin.type ?? ""), cniVersion: String(conf.cniVersion ?? "1.0.0"), name: String(conf.name ?? plugin.name ?? "") };
  const cfg = parseIpamConfig(netconf, process.env, envNode);
  return { poolDir: cfg.poolDir, dataDir: cfg.dataDir, nodeName: cfg.nodeName, lockTimeoutMs: cfg.lockTimeoutMs, store: cfg.store };
}
