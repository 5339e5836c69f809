// Where each record lives under dataDir. Every name that reaches a path is
// either validated by the CNI layer (container IDs, interface names), by the
// pool schema (pool names) or canonical (addresses), so none can leave dataDir;
// safeName checks it once more where the path is made.
import { joinPath as join } from "../sys/path";
import { CniError, ErrorCode } from "../cni/errors";
import { utf8Length } from "../utf8";

export interface StoreLayout {
  root: string;
  lock: string;
  attachments: string;
  claims: string;
  hints: string;
  /** Quarantined addresses (one file each), created by the first quarantine. */
  conflicts: string;
  cache: string;
  /** Where `store repair` moves damaged files (never read by the plugin). */
  damaged: string;
}

export function storeLayout(dataDir: string): StoreLayout {
  return {
    root: dataDir,
    lock: join(dataDir, "lock"),
    attachments: join(dataDir, "attachments"),
    claims: join(dataDir, "ips"),
    hints: join(dataDir, "hints"),
    conflicts: join(dataDir, "conflicts"),
    cache: join(dataDir, "cache"),
    damaged: join(dataDir, "damaged"),
  };
}

/** Prefix of the temp files of atomic writes; listings skip every dot-name. */
export const TEMP_PREFIX = ".tmp-";

/**
 * Names the store will put into a path: refuse anything that could escape or
 * that listings would skip (every name starting with "." is hidden from them,
 * so such an attachment could never be found by GC). Code 4: the name comes
 * from the runtime (CNI_CONTAINERID, CNI_IFNAME).
 */
export function safeName(name: string, what: string): string {
  if (name === "" || name.startsWith(".") || name.includes("/") || name.includes("\0") || utf8Length(name) > 255) {
    throw new CniError(ErrorCode.InvalidEnvironment, `${what} ${JSON.stringify(name.slice(0, 300))} cannot be used as a store file name (empty, starting with ".", holding "/" or NUL, or longer than 255 bytes)`);
  }
  return name;
}
