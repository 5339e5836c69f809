// One structured log line per plugin invocation (command, container, pod,
// interface, result or error, duration), written when the configuration
// names a log file. Settings are read leniently here: config validation is
// what reports a bad value, and logging must never fail a call.
import type { Outcome } from "../cni/skel";
import type { LogLevel } from "./logger";

type Obj = Record<string, unknown>;
const LEVELS = new Set(["debug", "info", "warn", "error"]);

/** Reads upstream's log keys (log_level, log_file_path, log_file_max_size MB, log_file_max_count). */
export function logSettings(source: unknown): { level: LogLevel; filePath: string; maxSizeMB?: number; maxCount?: number } | undefined {
  if (typeof source !== "object" || source === null) return undefined;
  const o = source as Obj;
  if (typeof o.log_file_path !== "string" || !o.log_file_path.startsWith("/")) return undefined;
  const raw = typeof o.log_level === "string" ? o.log_level.toLowerCase().replace(/^warning$/, "warn") : "info";
  const settings: { level: LogLevel; filePath: string; maxSizeMB?: number; maxCount?: number } = {
    level: (LEVELS.has(raw) ? raw : "info") as LogLevel,
    filePath: o.log_file_path,
  };
  if (typeof o.log_file_max_size === "number" && o.log_file_max_size > 0) settings.maxSizeMB = o.log_file_max_size;
  if (typeof o.log_file_max_count === "number" && o.log_file_max_count > 0) settings.maxCount = o.log_file_max_count;
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
 */
export async function logInvocation(component: string, source: unknown, outcome: Outcome, ms: number): Promise<void> {
  const settings = logSettings(source);
  if (!settings || outcome.command === "VERSION") return;
  const { createLogger } = await import("./logger");
  const logger = createLogger({ component, ...settings });
  const ok = outcome.exitCode === 0;
  logger.log(ok ? "info" : "error", ok ? `${outcome.command} succeeded` : `${outcome.command} failed`, invocationFields(outcome, ms));
}
