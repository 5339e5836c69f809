// What the local store holds, from its file names alone (no file reads, no
// lock): cheap enough for `pools`, `metrics` and a metrics refresh after every
// ADD/DEL, with tens of thousands of allocations.
import { isLossyName, listDirIfExists } from "../sys/fs";
import { joinPath as join } from "../sys/path";
import { storeLayout } from "./layout";

/** Visible entries of a store directory (not those the plugin never writes); a store never written holds none. */
function listNames(dir: string): string[] {
  return (listDirIfExists(dir) ?? []).filter((n) => !n.startsWith(".") && !isLossyName(n));
}

/** The claimed addresses (one claim file per address in use). */
export const claimedAddresses = (dataDir: string): string[] => listNames(storeLayout(dataDir).claims);

/** The quarantined addresses (one conflict record per address; their claims are among the claimed ones). */
export const quarantinedAddresses = (dataDir: string): string[] => listNames(storeLayout(dataDir).conflicts);

/** Recorded attachments: one file per (container ID, interface). */
export function countAttachments(dataDir: string): number {
  const base = storeLayout(dataDir).attachments;
  let n = 0;
  for (const id of listNames(base)) n += listNames(join(base, id)).length;
  return n;
}
