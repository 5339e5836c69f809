// Applying `store repair`'s actions (planned by repair.ts), one at a time
// under the store lock; records and claims are written through StoreTx.
import { chmodPath, copyFile, isMissing, makeDirs, removeDir, renamePath } from "../sys/fs";
import { dirName, joinPath as join } from "../sys/path";
import { removeIfAbandoned } from "../sys/atomic";
import type { StoreLayout } from "./layout";
import { relativeTo } from "./problems";
import type { RepairAction } from "./repair";
import type { StoreTx } from "./store";

/** Where `file` goes when set aside: damaged/<stamp>/<its path under dataDir>. */
export function asidePath(l: StoreLayout, stamp: string, file: string): string {
  return join(l.damaged, stamp, relativeTo(l.root, file));
}

/** Applies one action (under the store lock), writing through `tx`. */
export function applyRepairAction(action: RepairAction, tx: StoreTx, stamp: string): void {
  const l = tx.layout;
  const aside = (file: string) => {
    const to = asidePath(l, stamp, file);
    makeDirs(dirName(to), 0o700);
    return to;
  };
  const moveAside = (file: string) => renamePath(file, aside(file));
  const copyAside = (file: string) => copyFile(file, aside(file));
  switch (action.kind) {
    case "chmod":
      chmodPath(action.file, action.mode);
      return;
    case "set-aside": {
      moveAside(action.file);
      // A container directory left empty goes too (as DEL would remove it).
      const parent = dirName(action.file);
      if (dirName(parent) === l.attachments) {
        try {
          removeDir(parent);
        } catch {
          /* other interfaces remain */
        }
      }
      return;
    }
    case "rewrite-record":
      copyAside(action.file);
      tx.writeRecord(action.record);
      return;
    case "restore-record":
      tx.writeRecord(action.record);
      return;
    case "rewrite-claim":
      if (action.copyAside) copyAside(tx.claimFile(action.address));
      tx.writeClaim(action.address, action.owner, action.pool, moveAside);
      return;
    case "hold":
      // The record first, then the claims: as ADD writes them.
      tx.writeRecord(action.record);
      for (const e of action.record.ips) {
        if (action.copyAside.includes(e.address)) copyAside(tx.claimFile(e.address));
        tx.writeClaim(e.address, action.record, e.pool, moveAside);
      }
      return;
    case "rewrite-conflict":
      // Its claim keeps the address all the while.
      moveAside(action.file);
      tx.quarantine([action.conflict]);
      return;
    case "remove-temp":
      removeIfAbandoned(action.file);
      return;
    case "remove-empty-dir":
      try {
        removeDir(action.dir);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (!isMissing(e) && code !== "ENOTEMPTY") throw e;
      }
      return;
  }
}
