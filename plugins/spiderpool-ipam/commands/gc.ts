// GC (CNI 1.1): release every allocation of this network whose attachment the
// runtime no longer lists, and claims left without a record (unless a listed
// attachment owns them); remove the temp files and empty directories of
// writers that were killed. Keeps going after an error and reports the first
// one at the end, as the spec asks.
import { CniError, ErrorCode, toCniError } from "../../../lib/cni/errors";
import type { CniRequest } from "../../../lib/cni/skel";
import type { Pool } from "../../../lib/ipam/pool";
import { ipamConfig, openStore, poolsFor } from "../context";
import { releaseAttachment } from "./release";

export function validAttachments(conf: Record<string, unknown>): Set<string> {
  const list = conf["cni.dev/valid-attachments"] ?? conf["cni.dev/attachments"];
  if (list === undefined || list === null) {
    throw new CniError(ErrorCode.InvalidConfig, 'GC needs "cni.dev/valid-attachments" in the configuration');
  }
  if (!Array.isArray(list)) throw new CniError(ErrorCode.InvalidConfig, '"cni.dev/valid-attachments" must be a list');
  const keys = new Set<string>();
  for (const [i, v] of list.entries()) {
    const a = v as { containerID?: unknown; ifname?: unknown } | null;
    if (!a || typeof a.containerID !== "string" || typeof a.ifname !== "string") {
      throw new CniError(ErrorCode.InvalidConfig, `"cni.dev/valid-attachments"[${i}] needs string containerID and ifname`);
    }
    keys.add(`${a.containerID}\0${a.ifname}`);
  }
  return keys;
}

export async function ipamGc(req: CniRequest): Promise<void> {
  const cfg = ipamConfig(req);
  const valid = validAttachments(req.conf);
  let pools: Pool[] | undefined;
  try {
    pools = await poolsFor(cfg);
  } catch {
    pools = undefined;
  }
  const errors: CniError[] = [];
  openStore(cfg).withLock((tx) => {
    const recorded = new Set<string>();
    for (const record of tx.listAttachments()) {
      const key = `${record.containerID}\0${record.ifname}`;
      if (record.network !== cfg.network || valid.has(key)) {
        recorded.add(key);
        continue;
      }
      try {
        releaseAttachment(tx, record, pools);
      } catch (e) {
        errors.push(toCniError(e));
      }
    }
    for (const { address, claim } of tx.listClaims()) {
      if (claim.network !== cfg.network) continue;
      const key = `${claim.containerID}\0${claim.ifname}`;
      // A listed attachment is alive: its address stays claimed even when its
      // record is missing, or GC would hand a live pod's address out again.
      if (!recorded.has(key) && !valid.has(key)) {
        try {
          tx.dropClaim(address);
        } catch (e) {
          errors.push(toCniError(e));
        }
      }
    }
    tx.sweepStrays(); // temp files of writers that were killed
  });
  if (errors.length > 0) throw errors[0]!;
}
