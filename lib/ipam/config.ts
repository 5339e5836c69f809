// The `ipam` object of a network configuration (see README "spiderpool-ipam
// configuration"). Pure: the environment and host name are passed in.
import { CniError, ErrorCode, invalidConfig, unsupportedField } from "../cni/errors";
import type { NetConf } from "../cni/skel";
import { LOG_LIMITS } from "../log/settings";
import { parseStoreSettings, type StoreSettings } from "./store-config";

export const DEFAULT_POOL_DIR = "/etc/cni/spiderpool/ippools";
export const DEFAULT_DATA_DIR = "/var/lib/cni/spiderpool";
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
/** The longest lock wait a configuration may ask for: a wait is always bounded. */
export const MAX_LOCK_TIMEOUT_MS = 600_000;
/** How long an address another host answered for stays quarantined (ipam.conflictHoldSeconds). */
export const DEFAULT_CONFLICT_HOLD_SECONDS = 600;
export const MAX_CONFLICT_HOLD_SECONDS = 604_800;

export interface LogSettings {
  level: "debug" | "info" | "warn" | "error";
  filePath?: string;
  maxSizeMB: number;
  maxCount: number;
  maxAgeDays?: number;
}

export interface IpamConfig {
  type: string;
  poolDir: string;
  dataDir: string;
  nodeName: string;
  inlinePools: unknown[];
  defaultV4?: string[];
  defaultV6?: string[];
  cleanGateway: boolean;
  /** The network identity pools' multusName is matched against. */
  network: string;
  nodeLabels?: Record<string, string>;
  namespaceLabels?: Record<string, string>;
  podLabels?: Record<string, string>;
  lockTimeoutMs: number;
  metricsFile?: string;
  /** Seconds a conflicted address stays quarantined after ipvlan-attach reported it; 0: released as usual. */
  conflictHoldSeconds: number;
  /** Where allocations live: local files (the default) or etcd. */
  store: StoreSettings;
  log: LogSettings;
}

const KNOWN_KEYS = new Set([
  "type", "poolDir", "dataDir", "nodeName", "ippools", "default_ipv4_ippool", "default_ipv6_ippool",
  "clean_gateway", "multusName", "nodeLabels", "namespaceLabels", "podLabels", "lockTimeoutMs",
  "metricsFile", "conflictHoldSeconds", "store", "log_level", "log_file_path", "log_file_max_size", "log_file_max_count", "log_file_max_age",
  // Keys a runtime or Multus may add to every ipam block; they carry nothing for us.
  "routes", "dns",
]);

type Obj = Record<string, unknown>;

function str(o: Obj, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw invalidConfig(`ipam.${key} must be a string, got ${JSON.stringify(v)}`);
  return v;
}

function absPath(o: Obj, key: string, fallback: string): string {
  const v = str(o, key) ?? fallback;
  if (!v.startsWith("/") || v.includes("\0")) throw invalidConfig(`ipam.${key} must be an absolute path, got ${JSON.stringify(v)}`);
  return v;
}

function strList(o: Obj, key: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return [v];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw invalidConfig(`ipam.${key} must be a list of pool names, got ${JSON.stringify(v)}`);
  }
  return v as string[];
}

function labels(o: Obj, key: string): Record<string, string> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v) || Object.values(v as Obj).some((x) => typeof x !== "string")) {
    throw invalidConfig(`ipam.${key} must be a map of label names to string values`);
  }
  return v as Record<string, string>;
}

function positiveInt(o: Obj, key: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0 || v > max) {
    const bound = max === Number.MAX_SAFE_INTEGER ? "" : ` of at most ${max}`;
    throw invalidConfig(`ipam.${key} must be a positive integer${bound}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function boundedInt(o: Obj, key: string, fallback: number, min: number, max: number): number {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw invalidConfig(`ipam.${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(o: Obj, key: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw invalidConfig(`ipam.${key} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** `hostName` is asked only when neither the config nor the environment names the node. */
export function parseIpamConfig(conf: NetConf, env: Record<string, string | undefined>, hostName: () => string): IpamConfig {
  const raw = conf.ipam;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw invalidConfig('network configuration has no "ipam" object');
  }
  const o = raw as Obj;
  for (const key of Object.keys(o)) {
    if (!KNOWN_KEYS.has(key)) throw unsupportedField(`ipam.${key}`, o[key], "not a spiderpool-ipam setting (see README)");
  }
  const type = str(o, "type") ?? "";
  if (type === "" || type.includes("/")) throw invalidConfig(`ipam.type must be a plugin name, got ${JSON.stringify(type)}`);

  const level = str(o, "log_level")?.toLowerCase() ?? "info";
  if (!["debug", "info", "warn", "warning", "error"].includes(level)) {
    throw invalidConfig(`ipam.log_level must be debug, info, warn or error, got ${JSON.stringify(level)}`);
  }
  const logFile = o.log_file_path === undefined ? undefined : absPath(o, "log_file_path", "");

  const ippools = o.ippools ?? [];
  if (!Array.isArray(ippools)) throw invalidConfig("ipam.ippools must be a list of SpiderIPPool objects");

  const nodeName = str(o, "nodeName") || env.NODE_NAME || env.KUBERNETES_NODE_NAME || hostName();
  if (!nodeName) throw new CniError(ErrorCode.InvalidConfig, "cannot tell this node's name: set ipam.nodeName or NODE_NAME");

  const multusName = str(o, "multusName");
  const cfg: IpamConfig = {
    type,
    poolDir: absPath(o, "poolDir", DEFAULT_POOL_DIR),
    dataDir: absPath(o, "dataDir", DEFAULT_DATA_DIR),
    nodeName,
    inlinePools: ippools,
    cleanGateway: bool(o, "clean_gateway"),
    network: multusName || conf.name,
    lockTimeoutMs: positiveInt(o, "lockTimeoutMs", DEFAULT_LOCK_TIMEOUT_MS, MAX_LOCK_TIMEOUT_MS),
    conflictHoldSeconds: boundedInt(o, "conflictHoldSeconds", DEFAULT_CONFLICT_HOLD_SECONDS, 0, MAX_CONFLICT_HOLD_SECONDS),
    store: parseStoreSettings(o.store),
    log: {
      level: (level === "warning" ? "warn" : level) as LogSettings["level"],
      maxSizeMB: positiveInt(o, "log_file_max_size", 100, LOG_LIMITS.maxSizeMB),
      maxCount: positiveInt(o, "log_file_max_count", 10, LOG_LIMITS.maxCount),
    },
  };
  if (logFile) cfg.log.filePath = logFile;
  if (o.log_file_max_age !== undefined) cfg.log.maxAgeDays = positiveInt(o, "log_file_max_age", 30, LOG_LIMITS.maxAgeDays);
  const v4 = strList(o, "default_ipv4_ippool");
  const v6 = strList(o, "default_ipv6_ippool");
  if (v4) cfg.defaultV4 = v4;
  if (v6) cfg.defaultV6 = v6;
  const nl = labels(o, "nodeLabels");
  const nsl = labels(o, "namespaceLabels");
  const pl = labels(o, "podLabels");
  if (nl) cfg.nodeLabels = nl;
  if (nsl) cfg.namespaceLabels = nsl;
  if (pl) cfg.podLabels = pl;
  if (o.metricsFile !== undefined) cfg.metricsFile = absPath(o, "metricsFile", "");
  return cfg;
}
