// What every spiderpool-ipam command starts from: the parsed ipam config, the
// pools this node sees and the store.
import { hostName, makeDirs } from "../../lib/sys/fs";
import { joinPath as join } from "../../lib/sys/path";
import type { CniRequest } from "../../lib/cni/skel";
import { parseIpamConfig, type IpamConfig } from "../../lib/ipam/config";
import { loadPools } from "../../lib/ipam/pool-source";
import type { Pool } from "../../lib/ipam/pool";
import type { SelectionContext } from "../../lib/ipam/select";
import type { IpamRequest } from "../../lib/ipam/request";
import type { IpamStore } from "../../lib/store/backend";
import { LocalStore } from "../../lib/store/local";

export function ipamConfig(req: CniRequest): IpamConfig {
  return parseIpamConfig(req.conf, process.env, hostName);
}

/**
 * The store the configuration names. The local one also keeps the pool
 * cache's directory (dataDir), so it is opened even for etcd; the etcd
 * client is loaded only when configured.
 */
export async function openStore(cfg: Pick<IpamConfig, "dataDir" | "lockTimeoutMs" | "nodeName" | "store">): Promise<IpamStore> {
  if (cfg.store.type === "etcd") {
    const { EtcdStore } = await import("../../lib/store/etcd/store");
    try {
      makeDirs(cfg.dataDir, 0o700); // for the pool cache only: without it pools are validated on every call
    } catch {
      /* the cache is skipped, allocations are unaffected */
    }
    return EtcdStore.open({ settings: cfg.store, nodeName: cfg.nodeName });
  }
  return LocalStore.open({ dataDir: cfg.dataDir, lockTimeoutMs: cfg.lockTimeoutMs, nodeName: cfg.nodeName, settings: cfg.store });
}

/** Pools this config sees; validated pools are cached under dataDir. */
export const poolsFor = (cfg: IpamConfig): Promise<Pool[]> =>
  loadPools(cfg.poolDir, cfg.inlinePools, join(cfg.dataDir, "cache"));

export function selectionContext(cfg: IpamConfig, ifname: string, request?: IpamRequest): SelectionContext {
  const ctx: SelectionContext = {
    nodeName: cfg.nodeName,
    ifname,
    network: cfg.network,
    cleanGateway: cfg.cleanGateway,
  };
  if (request?.pod.namespace) ctx.namespace = request.pod.namespace;
  if (request?.pod.name) ctx.podName = request.pod.name;
  if (request?.podIPPools) ctx.podIPPools = request.podIPPools;
  if (request?.podIPPool) ctx.podIPPool = request.podIPPool;
  if (cfg.defaultV4) ctx.defaultV4 = cfg.defaultV4;
  if (cfg.defaultV6) ctx.defaultV6 = cfg.defaultV6;
  if (cfg.nodeLabels) ctx.nodeLabels = cfg.nodeLabels;
  if (cfg.namespaceLabels) ctx.namespaceLabels = cfg.namespaceLabels;
  if (cfg.podLabels) ctx.podLabels = cfg.podLabels;
  return ctx;
}
