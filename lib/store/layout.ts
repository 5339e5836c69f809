// Where each record lives under dataDir. Every name that reaches a path is
// either validated by the CNI layer (container IDs, interface names), by the
// pool schema (pool names) or canonical (addresses), so none can leave dataDir.
import { join } from "node:path";

export interface StoreLayout {
  root: string;
  lock: string;
  attachments: string;
  claims: string;
  hints: string;
}

export function storeLayout(dataDir: string): StoreLayout {
  return {
    root: dataDir,
    lock: join(dataDir, "lock"),
    attachments: join(dataDir, "attachments"),
    claims: join(dataDir, "ips"),
    hints: join(dataDir, "hints"),
  };
}

/** Names the store will put into a path: refuse anything that could escape. */
export function safeName(name: string, what: string): string {
  if (name === "" || name === "." || name === ".." || /[/\0]/.test(name) || name.length > 255 || name.startsWith(".tmp-")) {
    throw new Error(`unsafe ${what} for the store: ${JSON.stringify(name)}`);
  }
  return name;
}
