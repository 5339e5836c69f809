// Many spiderpool-ipam processes at once, as kubelet starts pods in parallel:
// every ADD gets its own addresses, and the store stays consistent.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cniOk, describeRun, type CniOutput } from "../helpers/cni";
import { TempDirs } from "../helpers/tmp";
import { IpamSandbox, addressesOf, poolYaml, requireBuiltIpam } from "./ipam-harness";

const N = 100;
/**
 * 100 processes on a 2-core machine that may be busy with other work: the
 * default 10 s lock timeout (code 11, "try again later") is a correct answer
 * under such load but not what these tests are about, so allow a minute.
 */
const PATIENT = { ipam: { lockTimeoutMs: 60_000 }, timeoutMs: 120_000 };
const TEST_TIMEOUT = 180_000;

/** 250 addresses per family on node master. */
const BIG_POOLS = [
  poolYaml("big-v4", {
    subnet: "172.31.64.0/24",
    ips: ["172.31.64.2-172.31.64.251"],
    gateway: "172.31.64.1",
    default: true,
    nodeName: ["master"],
    multusName: ["kube-system/ipvlan-ens5"],
  }),
  poolYaml("big-v6", {
    subnet: "2406:da1e:c4:ed64::/64",
    ips: ["2406:da1e:c4:ed64::100-2406:da1e:c4:ed64::1f9"],
    gateway: "2406:da1e:c4:ed64::1",
    default: true,
    nodeName: ["master"],
    multusName: ["kube-system/ipvlan-ens5"],
  }),
].join("---\n");

const tmp = new TempDirs();
let box: IpamSandbox;

beforeAll(requireBuiltIpam);
beforeEach(async () => {
  box = await IpamSandbox.create(tmp, { seed: false });
  await box.writePoolFile("big.yaml", BIG_POOLS);
});
afterEach(() => tmp.cleanup());

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, "0")}`);

function expectAllOk(outs: CniOutput[]): void {
  const failed = outs.filter((o) => o.code !== 0);
  expect(failed.map(describeRun)).toEqual([]);
}

/**
 * Every attachment record's addresses are claimed by that attachment, every
 * claim belongs to a record that lists it, and no temp file was left behind.
 */
async function expectConsistentStore(): Promise<{ attachments: string[]; claims: string[] }> {
  const attachments = await box.attachments();
  const claims = await box.claims();
  const listed = new Map<string, string>();
  for (const a of attachments) {
    const record = JSON.parse(await readFile(join(box.dataDir, "attachments", a), "utf8")) as {
      containerID: string;
      ifname: string;
      ips: { address: string }[];
    };
    expect(`${record.containerID}/${record.ifname}`).toBe(a);
    for (const ip of record.ips) {
      expect(listed.has(ip.address), `${ip.address} listed twice`).toBe(false);
      listed.set(ip.address, a);
    }
  }
  for (const address of claims) {
    const claim = JSON.parse(await readFile(join(box.dataDir, "ips", address), "utf8")) as { containerID: string; ifname: string };
    expect(listed.get(address), `claim ${address}`).toBe(`${claim.containerID}/${claim.ifname}`);
  }
  expect([...listed.keys()].sort()).toEqual(claims);
  for (const dir of ["ips", "attachments"]) {
    expect((await readdir(join(box.dataDir, dir))).filter((n) => n.startsWith("."))).toEqual([]);
  }
  return { attachments, claims };
}

describe(`${N} concurrent invocations`, () => {
  it(`${N} ADDs get ${N} distinct addresses per family, then ${N} DELs empty the store`, async () => {
    const pods = ids("pod", N);
    const adds = await Promise.all(pods.map((id) => box.add(id, PATIENT)));
    expectAllOk(adds);
    const v4 = adds.map((o) => addressesOf(cniOk(o))[0]!);
    const v6 = adds.map((o) => addressesOf(cniOk(o))[1]!);
    expect(new Set(v4).size).toBe(N);
    expect(new Set(v6).size).toBe(N);
    // Under the lock each ADD takes the first free address: together exactly the first N.
    expect([...v4].sort()).toEqual(Array.from({ length: N }, (_, i) => `172.31.64.${2 + i}`).sort());
    expect([...v6].sort()).toEqual(Array.from({ length: N }, (_, i) => `2406:da1e:c4:ed64::${(0x100 + i).toString(16)}`).sort());

    const store = await expectConsistentStore();
    expect(store.attachments).toHaveLength(N);
    expect(store.claims).toHaveLength(2 * N);

    const dels = await Promise.all(pods.map((id) => box.del(id, PATIENT)));
    expectAllOk(dels);
    expect(await box.claims()).toEqual([]);
    expect(await box.attachments()).toEqual([]);
  }, TEST_TIMEOUT);

  it("ADDs racing DELs never hand one address to two pods", async () => {
    const first = ids("old", N);
    expectAllOk(await Promise.all(first.map((id) => box.add(id, PATIENT))));
    const leaving = first.filter((_, i) => i % 2 === 0);
    const staying = first.filter((_, i) => i % 2 === 1);
    const arriving = ids("new", N / 2);
    const outs = await Promise.all([...leaving.map((id) => box.del(id, PATIENT)), ...arriving.map((id) => box.add(id, PATIENT))]);
    expectAllOk(outs);
    const store = await expectConsistentStore();
    expect(store.attachments).toEqual([...staying, ...arriving].map((id) => `${id}/eth0`).sort());
    expect(store.claims).toHaveLength(2 * N);
  }, TEST_TIMEOUT);

  it("repeated concurrent ADDs of the same attachment all answer the same addresses", async () => {
    const outs = await Promise.all(Array.from({ length: 20 }, () => box.add("same-pod", PATIENT)));
    expectAllOk(outs);
    const answers = new Set(outs.map((o) => addressesOf(cniOk(o)).join(",")));
    expect(answers.size).toBe(1);
    expect(await box.claims()).toHaveLength(2);
  }, TEST_TIMEOUT);
});
