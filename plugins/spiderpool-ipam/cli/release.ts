// `release --container-id ID [--ifname IF]`: frees by hand what a lost DEL
// left (on this node, or on --node NAME). `release --node NAME` alone (etcd
// store): frees everything a node that is gone for good held.
// `release --conflicts [--pool NAME] [IP...]`: ends quarantines now (the
// addresses another host answered for, held for ipam.conflictHoldSeconds).
import { CniError, ErrorCode } from "../../../lib/cni/errors";
import { formatIP, parseIP } from "../../../lib/ip/address";
import type { ConflictFilter } from "../../../lib/store/backend";
import { isValidContainerId } from "../../../lib/cni/env";
import type { Pool } from "../../../lib/ipam/pool";
import { loadPools } from "../../../lib/ipam/pool-source";
import type { AttachmentRecord } from "../../../lib/store/records";
import { openStore } from "../context";
import { cliStore } from "./dirs";
import { flag, type ParsedArgs } from "./args";

export async function releaseCommand(args: ParsedArgs): Promise<number> {
  if (args.flags.has("conflicts")) return releaseConflicts(args);
  const id = flag(args, "container-id");
  const node = id === undefined ? flag(args, "node") : undefined;
  if (id === undefined && node === undefined) throw new CniError(ErrorCode.InvalidConfig, "release needs --container-id ID, or --node NAME (etcd store: everything that node held)");
  if (id !== undefined && !isValidContainerId(id)) throw new CniError(ErrorCode.InvalidConfig, `invalid container ID ${JSON.stringify(id)}`);
  const ifname = flag(args, "ifname");
  const target = cliStore(args);
  let released: AttachmentRecord[];
  if (node !== undefined) {
    if (target.store.type !== "etcd") {
      throw new CniError(ErrorCode.InvalidConfig, "release --node without --container-id needs the etcd store (--config FILE naming a network configuration with ipam.store): a local store holds only its own node's allocations");
    }
    const { EtcdStore } = await import("../../../lib/store/etcd/store");
    released = await EtcdStore.open({ settings: target.store, nodeName: target.nodeName }).releaseNode(node);
  } else {
    let pools: Pool[] | undefined;
    try {
      pools = await loadPools(target.poolDir, []);
    } catch {
      pools = undefined;
    }
    released = await (await openStore(target)).releaseContainer(id!, ifname, pools);
  }
  if (released.length === 0) {
    process.stdout.write(`nothing recorded for ${node !== undefined ? `node ${node}` : `container ${id}${ifname ? ` interface ${ifname}` : ""}`}\n`);
  }
  for (const r of released) {
    process.stdout.write(`released ${r.containerID}/${r.ifname}: ${r.ips.map((e) => `${e.address} (${e.pool})`).join(", ")}\n`);
  }
  return 0;
}

async function releaseConflicts(args: ParsedArgs): Promise<number> {
  if (flag(args, "container-id") !== undefined) throw new CniError(ErrorCode.InvalidConfig, "release --conflicts takes addresses or --pool NAME, not --container-id");
  const filter: ConflictFilter = {};
  const pool = flag(args, "pool");
  if (pool !== undefined) filter.pool = pool;
  const listed = args.positional.slice(1);
  if (listed.length > 0) {
    filter.addresses = listed.map((text) => {
      const ip = parseIP(text);
      if (!ip) throw new CniError(ErrorCode.InvalidConfig, `release --conflicts: ${JSON.stringify(text)} is not an IP address`);
      return formatIP(ip);
    });
  }
  const target = cliStore(args);
  let pools: Pool[] | undefined;
  try {
    pools = await loadPools(target.poolDir, []);
  } catch {
    pools = undefined; // only lowers the pools' hints
  }
  const released = await (await openStore(target)).releaseConflicts(filter, pools);
  for (const q of released) {
    const who = `${q.node ? `${q.node}/` : ""}${q.containerID}/${q.ifname}`;
    process.stdout.write(`released quarantined ${q.address} (${q.pool}): ${q.mac || "another host"} answered for it when ${who} probed it at ${q.detected}\n`);
  }
  const freed = new Set(released.map((q) => q.address));
  for (const a of filter.addresses ?? []) if (!freed.has(a)) process.stdout.write(`${a} is not quarantined${pool !== undefined ? ` in pool ${pool}` : ""}\n`);
  if (released.length === 0 && filter.addresses === undefined) process.stdout.write(`no quarantined addresses${pool !== undefined ? ` in pool ${pool}` : ""}\n`);
  return 0;
}
