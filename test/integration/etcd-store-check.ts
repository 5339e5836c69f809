// Support for the etcd store's tests. checkEtcdStore reads everything the
// etcd store wrote under a prefix and checks that it is consistent: every claimed address is held by exactly one attachment that
// lists it, and every attachment's addresses are claimed by it. Returns the
// attachments as "node/containerID/ifname", sorted.
import { afterAll, beforeAll, expect } from "vitest";
import { etcdAvailable, startEtcdCluster, type EtcdCluster } from "../helpers/etcd";
import { TempDirs } from "../helpers/tmp";
import { requireBuiltIpam } from "./ipam-harness";

/**
 * The hooks of an etcd store test file: the built binary required, one
 * 3-member cluster for the file (when etcd is installed; under CI=true its
 * absence fails), its temp dirs, all removed after the file.
 */
export function useEtcdCluster(): { available: boolean; tmp: TempDirs; readonly cluster: EtcdCluster } {
  const available = etcdAvailable();
  const tmp = new TempDirs();
  let cluster: EtcdCluster | undefined;
  beforeAll(async () => {
    requireBuiltIpam();
    if (available) cluster = await startEtcdCluster({ members: 3 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
    await tmp.cleanup();
  });
  return {
    available,
    tmp,
    get cluster() {
      if (!cluster) throw new Error("the etcd cluster is not running (etcd missing, or used outside a test)");
      return cluster;
    },
  };
}

interface Claim {
  node: string;
  containerID: string;
  ifname: string;
  address: string;
}

interface Attachment {
  node: string;
  containerID: string;
  ifname: string;
  ips: { address: string }[];
}

export async function checkEtcdStore(cluster: EtcdCluster, prefix: string, expected: { attachments?: number; claims?: number } = {}): Promise<string[]> {
  const all = await cluster.listPrefix(`${prefix}/`);
  const claims = new Map<string, Claim>();
  // Quarantined addresses: their claims are kept by a conflict record naming the claim's exact text.
  const keptClaims = new Set<string>();
  const attachments = new Map<string, Attachment>();
  for (const [key, value] of Object.entries(all)) {
    const rest = key.slice(prefix.length + 1);
    if (rest.startsWith("ips/")) claims.set(key, JSON.parse(value) as Claim);
    else if (rest.startsWith("conflicts/")) keptClaims.add(`${prefix}/ips/${rest.slice("conflicts/".length)}\0${(JSON.parse(value) as { claim: string }).claim}`);
    else if (rest.startsWith("attachments/")) attachments.set(rest.slice("attachments/".length), JSON.parse(value) as Attachment);
    else expect(rest, `unexpected key ${key}`).toMatch(/^pools\/[a-z0-9.-]+$/);
  }
  const holders = new Map<string, string>();
  for (const [name, a] of attachments) {
    expect(name).toBe(`${a.node}/${a.containerID}/${a.ifname}`);
    for (const { address } of a.ips) {
      expect(holders.get(address), `${address} listed by ${holders.get(address)} and ${name}`).toBeUndefined();
      holders.set(address, name);
    }
  }
  const claimed = new Set<string>();
  for (const [key, c] of claims) {
    if (keptClaims.has(`${key}\0${all[key]}`)) continue;
    const holder = `${c.node}/${c.containerID}/${c.ifname}`;
    expect(holders.get(c.address), `claim ${key} (${c.address}) held by ${holder}, listed by no such attachment`).toBe(holder);
    claimed.add(c.address);
  }
  for (const [address, holder] of holders) expect(claimed.has(address), `${holder} lists ${address}, which is not claimed`).toBe(true);
  if (expected.attachments !== undefined) expect(attachments.size).toBe(expected.attachments);
  if (expected.claims !== undefined) expect(claims.size).toBe(expected.claims);
  return [...attachments.keys()].sort();
}
