// Crash safety of the etcd store: 2,000 ADDs and DELs from 3 simulated nodes
// on one shared pool smaller than the containers that want it, a quarter of
// the plugin processes SIGKILLed at a random instant. Throughout, no address
// may be handed to a container while another container is known to hold it;
// afterwards the store must be consistent, and once every container had its
// DEL (as a runtime sends after a failed or killed ADD), nothing may be left.
import { describe, expect, it } from "vitest";
import { type CniOutput } from "../helpers/cni";
import { below, rng } from "../unit/helpers/rng";
import { checkEtcdStore, useEtcdCluster } from "./etcd-store-check";
import { addressesOf, IpamSandbox, poolYaml } from "./ipam-harness";

const etcd = useEtcdCluster();
const { available, tmp } = etcd;

const OPERATIONS = 2000;
const WORKERS = 6;
const CONTAINERS_PER_NODE = 16;
const POOL = { subnet: "10.253.0.0/24", ips: ["10.253.0.10-10.253.0.41"], default: true }; // 32 addresses for 48 containers

describe.skipIf(!available)("etcd store under plugin SIGKILLs", () => {
  it(`${OPERATIONS} operations, a quarter killed at random: no address doubled, none leaked`, async () => {
    const prefix = `/crash-${process.pid}`;
    const store = { type: "etcd", endpoints: etcd.cluster.endpoints, prefix, timeoutMs: 10_000 };
    const nodes = await Promise.all(
      ["k1", "k2", "k3"].map(async (name) => {
        const box = await IpamSandbox.create(tmp, { seed: false });
        await box.writePoolFile("pool.yaml", poolYaml("crash-v4", POOL));
        return { name, box };
      }),
    );
    const containers = nodes.flatMap((node) => Array.from({ length: CONTAINERS_PER_NODE }, (_, i) => ({ node, id: `${node.name}-c${i}` })));
    const next = rng(0x5eed);
    /** Containers known to hold an address: their last operation was an ADD that answered. */
    const holding = new Map<string, string>();
    const busy = new Set<string>();
    const violations: string[] = [];
    const tally = { ok: 0, exhausted: 0, killed: 0, other: [] as string[] };
    let started = 0;

    const worker = async () => {
      while (started < OPERATIONS) {
        started++;
        const free = containers.filter((c) => !busy.has(c.id));
        const c = free[below(next, free.length)]!;
        const add = below(next, 10) < 6;
        const kill = below(next, 4) === 0;
        const opts = { node: c.node.name, ipam: { store }, ...(kill ? { timeoutMs: 1 + below(next, 40) } : {}) };
        busy.add(c.id);
        // Once its DEL is on its way, a container may lose its address at any instant.
        if (!add) holding.delete(c.id);
        let out: CniOutput;
        try {
          out = add ? await c.node.box.add(c.id, opts) : await c.node.box.del(c.id, opts);
        } finally {
          busy.delete(c.id);
        }
        if (out.signal) {
          tally.killed++;
          continue;
        }
        if (out.code === 0) {
          tally.ok++;
          if (!add) continue;
          const [address] = addressesOf(JSON.parse(out.stdout));
          for (const [other, held] of holding) {
            if (other !== c.id && held === address) violations.push(`${address} given to ${c.id} while ${other} holds it`);
          }
          const before = holding.get(c.id);
          if (before !== undefined && before !== address) violations.push(`${c.id} held ${before}, a repeated ADD answered ${address}`);
          holding.set(c.id, address!);
        } else if (add && JSON.parse(out.stdout).code === 101) {
          tally.exhausted++;
        } else {
          tally.other.push(`${add ? "ADD" : "DEL"} ${c.id}: ${out.stdout.trim()} ${out.stderr.trim()}`.slice(0, 400));
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));

    expect(violations).toEqual([]);
    expect(tally.other).toEqual([]);
    expect(tally.killed).toBeGreaterThan(OPERATIONS / 8);
    expect(tally.exhausted).toBeGreaterThan(0); // the pool really ran out at times
    await checkEtcdStore(etcd.cluster, prefix);
    for (const c of containers) expect((await c.node.box.del(c.id, { node: c.node.name, ipam: { store } })).code).toBe(0);
    await checkEtcdStore(etcd.cluster, prefix, { attachments: 0, claims: 0 });
  }, 600_000);
});
