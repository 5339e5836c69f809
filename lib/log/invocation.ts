// One structured log line per plugin invocation (command, container, pod,
// interface, result or error, duration), written when the configuration
// names a log file. Settings are read leniently here, before validation, so
// that a refused call is logged too: config validation is what reports a bad
// value; here a size or count beyond its bound is clamped to it and any other
// bad value ignored. Logging never fails or prolongs a call.
import type { Outcome } from "../cni/skel";
import type { LogLevel } from "./logger";
import { LOG_LEVELS, LOG_LIMITS } from "./settings";

type Obj = Record<string, unknown>;

export interface LogSettings {
  level: LogLevel;
  filePath: string;
  maxSizeMB?: number;
  maxCount?: number;
  maxAgeDays?: number;
}

/** A positive number, at most `max`; undefined for anything else. */
function clamped(v: unknown, max: number): number | undefined {
  return typeof v === "number" && v > 0 ? Math.min(v, max) : undefined;
}

/** Reads upstream's log keys (log_level, log_file_path, log_file_max_size MB, log_file_max_count, log_file_max_age days). */
export function logSettings(source: unknown): LogSettings | undefined {
  if (typeof source !== "object" || source === null) return undefined;
  const o = source as Obj;
  if (typeof o.log_file_path !== "string" || !o.log_file_path.startsWith("/")) return undefined;
  const raw = typeof o.log_level === "string" ? o.log_level.toLowerCase().replace(/^warning$/, "warn") : "info";
  const settings: LogSettings = {
    level: ((LOG_LEVELS as readonly string[]).includes(raw) ? raw : "info") as LogLevel,
    filePath: o.log_file_path,
  };
  const size = clamped(o.log_file_max_size, LOG_LIMITS.maxSizeMB);
  const count = clamped(o.log_file_max_count, LOG_LIMITS.maxCount);
  if (size !== undefined) settings.maxSizeMB = size;
  if (count !== undefined && count >= 1) settings.maxCount = Math.floor(count);
  const age = clamped(o.log_file_max_age, LOG_LIMITS.maxAgeDays);
  if (age !== undefined) settings.maxAgeDays = age;
  return settings;
}

export function invocationFields(outcome: Outcome, ms: number): Record<string, unknown> {
  const env = outcome.env;
  const fields: Record<string, unknown> = { command: outcome.command ?? "?", durationMs: Math.round(ms * 100) / 100 };
  if (env?.containerId) fields.containerID = env.containerId;
  if (env?.ifname) fields.ifname = env.ifname;
  if (env?.netns) fields.netns = env.netns;
  const ns = env?.args.get("K8S_POD_NAMESPACE");
  const pod = env?.args.get("K8S_POD_NAME");
  if (pod) fields.pod = ns ? `${ns}/${pod}` : pod;
  if (typeof outcome.conf?.name === "string" && outcome.conf.name) fields.network = outcome.conf.name;
  if (outcome.result?.ips) fields.ips = outcome.result.ips.map((ip) => ip.address);
  if (outcome.error) fields.error = { code: outcome.error.code, msg: outcome.error.message };
  return fields;
}

/**
 * Logs one invocation to the file `source` configures (nothing when none).
 * The logger (and node:fs with it) is loaded only when a log file is set.
 * Runs after the answer was written: whatever goes wrong here is dropped.
 */
export async function logInvocation(component: string, source: unknown, outcome: Outcome, ms: number): Promise<void> {
  try {
    const settings = logSettings(source);
    if (!settings || outcome.command === "VERSION") return;
    const { createLogger } = await import("./logger");
    const logger = createLogger({ component, ...settings });
    const ok = outcome.exitCode === 0;
    logger.log(ok ? "info" : "error", ok ? `${outcome.command} succeeded` : `${outcome.command} failed`, invocationFields(outcome, ms));
  } catch {
    /* the call's answer stands; a log line is not worth failing it */
  }
}
