// The log keys both plugins take (upstream's names): log_level, log_file_path,
// log_file_max_size (MB), log_file_max_count and, for spiderpool-ipam,
// log_file_max_age (days). Their bounds are shared by config validation (a
// value outside them is code 7) and by the lenient reader that logs even a
// refused configuration's call (it clamps to them), so a hostile value can
// never make rotation or its file count unbounded.
import { invalidConfig } from "../cni/errors";

export const LOG_DEFAULTS = { maxSizeMB: 100, maxCount: 10 } as const;
export const LOG_LIMITS = { maxSizeMB: 1024, maxCount: 100, maxAgeDays: 365 } as const;
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

type Obj = Record<string, unknown>;

function boundedInt(o: Obj, key: string, max: number, where: string): void {
  const v = o[key];
  if (v === undefined || v === null) return;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) {
    throw invalidConfig(`${where}${key} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
  }
}

/**
 * Validates the log keys of a configuration object; `where` prefixes the key
 * in messages ("ipam." or ""). Throws code 7.
 */
export function checkLogKeys(o: Obj, where = ""): void {
  const level = o.log_level;
  if (level !== undefined && level !== null) {
    const name = typeof level === "string" ? level.toLowerCase() : undefined;
    if (name === undefined || (name !== "warning" && !(LOG_LEVELS as readonly string[]).includes(name))) {
      throw invalidConfig(`${where}log_level must be debug, info, warn or error, got ${JSON.stringify(level)}`);
    }
  }
  const path = o.log_file_path;
  if (path !== undefined && path !== null && (typeof path !== "string" || !path.startsWith("/") || path.includes("\0"))) {
    throw invalidConfig(`${where}log_file_path must be an absolute path, got ${JSON.stringify(path)}`);
  }
  boundedInt(o, "log_file_max_size", LOG_LIMITS.maxSizeMB, where);
  boundedInt(o, "log_file_max_count", LOG_LIMITS.maxCount, where);
}
