// ADD: choose pools, take one free address per family under the store lock,
// record it durably, and answer with addresses, gateway and routes. A repeated
// ADD for the same container and interface answers the same addresses.
import { CniError, ErrorCode } from "../../../lib/cni/errors";
import type { CniRequest } from "../../../lib/cni/skel";
import type { CniResult } from "../../../lib/cni/types";
import { parseIP, formatIP, type IPAddr } from "../../../lib/ip/address";
import { ordinalOf, planAllocation, type Allocation } from "../../../lib/ipam/allocate";
import type { Pool } from "../../../lib/ipam/pool";
import { readIpamRequest } from "../../../lib/ipam/request";
import { buildIpamResult } from "../../../lib/ipam/result";
import { selectPools, type Selection } from "../../../lib/ipam/select";
import type { AttachmentRecord, RecordedIP } from "../../../lib/store/records";
import { discardPrestaged, type StoreTx } from "../../../lib/store/store";
import { ipamConfig, openStore, poolsFor, selectionContext } from "../context";
import { releaseAttachment } from "./release";
import { mark } from "../../../lib/timing";

/** The allocations an existing record still holds, if all of them are intact. */
function intactAllocations(tx: StoreTx, record: AttachmentRecord, pools: Pool[]): Allocation[] | undefined {
  const allocs: Allocation[] = [];
  for (const entry of record.ips) {
    const owner = tx.claim(entry.address);
    if (!owner || owner.containerID !== record.containerID || owner.ifname !== record.ifname) return undefined;
    const pool = pools.find((p) => p.name === entry.pool);
    const ip = parseIP(entry.address);
    if (!pool || !ip) return undefined;
    allocs.push({ pool, ip });
  }
  return allocs.length > 0 ? allocs : undefined;
}

function parseRequested(list: string[]): IPAddr[] {
  return list.map((text) => {
    const ip = parseIP(text);
    if (!ip) throw new CniError(ErrorCode.InvalidConfig, `requested IP ${JSON.stringify(text)} is not an IP address`);
    return ip;
  });
}

export async function ipamAdd(req: CniRequest): Promise<CniResult> {
  mark("command");
  const cfg = ipamConfig(req);
  const request = readIpamRequest(req);
  // The store first: opening it creates dataDir, where the pool cache lives,
  // so even a node's very first ADD leaves the validated pools cached.
  const store = openStore(cfg);
  const pools = await poolsFor(cfg);
  mark("pools");
  const selection = selectPools(pools, selectionContext(cfg, req.env.ifname, request));
  const requested = parseRequested(request.requestedIPs);
  const { containerId, ifname } = req.env;
  mark("selected");

  const owner = { containerID: containerId, ifname, network: cfg.network, pod: request.pod, created: new Date().toISOString() };
  // A repeated ADD (the record exists) needs no new files: nothing to stage.
  const fresh = !store.recorded(containerId, ifname);
  const prestaged = fresh ? store.prestageClaims(owner, likelyPools(selection)) : new Map();
  mark("prestaged");
  let committed = false;
  try {
    const allocs = store.withLock((tx) => {
      mark("locked");
      const existing = tx.attachment(containerId, ifname);
      if (existing) {
        const kept = intactAllocations(tx, existing, pools);
        if (kept) return kept;
        releaseAttachment(tx, existing, pools); // half-written by a killed ADD: start over
      }
      const planned = planAllocation(selection, (_pool, ip) => tx.isUsed(ip), {
        requested,
        hint: (pool) => tx.hint(pool.name, pool.fingerprint),
      });
      mark("planned");
      const ips = planned.map(recordedIP);
      tx.commit({ ...owner, ips }, prestaged);
      committed = true;
      mark("committed");
      planned.forEach((a, i) => {
        // The scan started at the hint, so everything below this ordinal is
        // used; a static request says nothing about the addresses before it.
        const { ordinal, fingerprint } = ips[i]!;
        const wasRequested = requested.some((r) => r.family === a.ip.family && r.value === a.ip.value);
        if (ordinal !== undefined && fingerprint !== undefined && !wasRequested) {
          tx.setHint(a.pool.name, fingerprint, BigInt(ordinal) + 1n);
        }
      });
      return planned;
    });
    mark("unlocked");
    if (cfg.metricsFile) (await import("../metrics-refresh")).refreshMetricsFile(cfg, pools);
    return buildIpamResult(allocs, selection.cleanGateway, req.conf.cniVersion);
  } finally {
    discardPrestaged(prestaged);
    // A failed ADD leaves no directory of its own behind (a pool ran out, say).
    if (fresh && !committed) store.removeEmptyContainerDir(containerId);
  }
}

/** An allocation as the record keeps it, with where it sits in its pool (for DEL's hint). */
function recordedIP(a: Allocation): RecordedIP {
  const entry: RecordedIP = { pool: a.pool.name, address: formatIP(a.ip), family: a.ip.family };
  const ordinal = ordinalOf(a.pool, a.ip);
  if (ordinal !== undefined) {
    entry.ordinal = ordinal.toString();
    entry.fingerprint = a.pool.fingerprint;
  }
  return entry;
}

/** The pool each family most likely takes its address from: the first candidate. */
function likelyPools(selection: Selection): string[] {
  const names: string[] = [];
  if (selection.v4[0]) names.push(selection.v4[0].name);
  if (selection.v6[0]) names.push(selection.v6[0].name);
  return names;
}
