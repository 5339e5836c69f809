// GC (CNI 1.1): release every allocation of this network on this node whose
// attachment the runtime no longer lists (and, in the local store, claims
// left without a record and the temp files of killed writers), and end the
// quarantines of this network whose hold is over. Keeps going
// after an error and reports the first one at the end, as the spec asks.
import { CniError, ErrorCode } from "../../../lib/cni/errors";
import type { CniRequest } from "../../../lib/cni/skel";
import type { Pool } from "../../../lib/ipam/pool";
import { attachmentKey, type AttachmentKey } from "../../../lib/store/backend";
import { ipamConfig, openStore, poolsFor } from "../context";

export function validAttachments(conf: Record<string, unknown>): Set<AttachmentKey> {
  const list = conf["cni.dev/valid-attachments"] ?? conf["cni.dev/attachments"];
  if (list === undefined || list === null) {
    throw new CniError(ErrorCode.InvalidConfig, 'GC needs "cni.dev/valid-attachments" in the configuration');
  }
  if (!Array.isArray(list)) throw new CniError(ErrorCode.InvalidConfig, '"cni.dev/valid-attachments" must be a list');
  const keys = new Set<AttachmentKey>();
  for (const [i, v] of list.entries()) {
    const a = v as { containerID?: unknown; ifname?: unknown } | null;
    if (!a || typeof a.containerID !== "string" || typeof a.ifname !== "string") {
      throw new CniError(ErrorCode.InvalidConfig, `"cni.dev/valid-attachments"[${i}] needs string containerID and ifname`);
    }
    keys.add(attachmentKey({ containerID: a.containerID, ifname: a.ifname }));
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
  await (await openStore(cfg)).collect(cfg.network, valid, { holdSeconds: cfg.conflictHoldSeconds, now: new Date() }, pools);
}
