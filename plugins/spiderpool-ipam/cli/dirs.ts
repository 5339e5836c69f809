// Where the CLI looks: the same defaults as the plugin, overridable by flags.
import { hostname } from "node:os";
import { DEFAULT_DATA_DIR, DEFAULT_POOL_DIR } from "../../../lib/ipam/config";
import { flag, type ParsedArgs } from "./args";

export interface CliDirs {
  poolDir: string;
  dataDir: string;
  nodeName: string;
}

export function cliDirs(args: ParsedArgs): CliDirs {
  return {
    poolDir: flag(args, "pool-dir") ?? DEFAULT_POOL_DIR,
    dataDir: flag(args, "data-dir") ?? DEFAULT_DATA_DIR,
    nodeName: flag(args, "node") ?? process.env.NODE_NAME ?? process.env.KUBERNETES_NODE_NAME ?? hostname(),
  };
}

