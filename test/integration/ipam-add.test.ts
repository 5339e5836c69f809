// spiderpool-ipam ADD/DEL/CHECK run as a runtime runs them, on the seed pools:
// addresses per node and family, result shape per cniVersion, exhaustion,
// release and reuse, idempotency.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cniError, cniOk } from "../helpers/cni";
import { IpamSandbox, NETWORK, addressesOf, useIpamSandbox } from "./ipam-harness";

const masterV4 = (i: number) => `172.31.28.${16 + i}`;
const masterV6 = (i: number) => `2406:da1e:c4:ed01:c57d::${i === 0 ? "" : i.toString(16)}`;

interface Result {
  cniVersion: string;
  interfaces?: unknown;
  ips: { version?: string; address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: unknown;
}

let box: IpamSandbox;
useIpamSandbox((b) => (box = b));

describe("addresses per node", () => {
  it("gives the first pod on master 172.31.28.16/20 and 2406:da1e:c4:ed01:c57d::/64 with gateways and default routes", async () => {
    const result = cniOk<Result>(await box.add("pod-a", { node: "master" }));
    expect(result).toEqual({
      cniVersion: "1.0.0",
      ips: [
        { address: "172.31.28.16/20", gateway: "172.31.16.1" },
        { address: "2406:da1e:c4:ed01:c57d::/64", gateway: "2406:da1e:c4:ed01::1" },
      ],
      routes: [
        { dst: "0.0.0.0/0", gw: "172.31.16.1" },
        { dst: "::/0", gw: "2406:da1e:c4:ed01::1" },
      ],
    });
  });

  it("gives the first pod on worker1 172.31.32.176/24 and 2406:da1e:c4:ed02:7a2e::/64", async () => {
    const result = cniOk<Result>(await box.add("pod-w", { node: "worker1" }));
    expect(result.ips).toEqual([
      { address: "172.31.32.176/24", gateway: "172.31.32.1" },
      { address: "2406:da1e:c4:ed02:7a2e::/64", gateway: "2406:da1e:c4:ed02::1" },
    ]);
    expect(result.routes).toEqual([
      { dst: "0.0.0.0/0", gw: "172.31.32.1" },
      { dst: "::/0", gw: "2406:da1e:c4:ed02::1" },
    ]);
  });

  it("hands out addresses in ips order, one per family per pod", async () => {
    for (let i = 0; i < 4; i++) {
      expect(addressesOf(cniOk(await box.add(`pod-${i}`)))).toEqual([masterV4(i), masterV6(i)]);
    }
    expect(await box.claims()).toHaveLength(8);
    expect(await box.attachments()).toEqual(["pod-0/eth0", "pod-1/eth0", "pod-2/eth0", "pod-3/eth0"]);
  });

  it("takes the node name from NODE_NAME when ipam.nodeName is not set", async () => {
    const result = cniOk<Result>(await box.add("pod-env", { node: null, env: { NODE_NAME: "worker1" } }));
    expect(addressesOf(result)).toEqual(["172.31.32.176", "2406:da1e:c4:ed02:7a2e::"]);
  });

  it("keeps the two nodes' pools apart in one store", async () => {
    cniOk(await box.add("m1", { node: "master" }));
    cniOk(await box.add("w1", { node: "worker1" }));
    expect(addressesOf(cniOk(await box.add("m2", { node: "master" })))).toEqual([masterV4(1), masterV6(1)]);
    expect(addressesOf(cniOk(await box.add("w2", { node: "worker1" })))).toEqual(["172.31.32.177", "2406:da1e:c4:ed02:7a2e::1"]);
  });
});

describe("result shape per cniVersion", () => {
  it.each(["0.3.1", "0.4.0", "1.0.0", "1.1.0"])("%s", async (cniVersion) => {
    const out = await box.add("pod-v", { cniVersion });
    const result = cniOk<Result>(out);
    expect(result.cniVersion).toBe(cniVersion);
    expect(result).not.toHaveProperty("interfaces");
    expect(result.ips.map((ip) => ip.address)).toEqual(["172.31.28.16/20", "2406:da1e:c4:ed01:c57d::/64"]);
    expect(result.ips.map((ip) => ip.gateway)).toEqual(["172.31.16.1", "2406:da1e:c4:ed01::1"]);
    for (const ip of result.ips) expect(ip).not.toHaveProperty("interface");
    if (cniVersion.startsWith("0.")) {
      expect(result.ips.map((ip) => ip.version)).toEqual(["4", "6"]);
    } else {
      for (const ip of result.ips) expect(ip).not.toHaveProperty("version");
    }
    expect(result.routes).toEqual([
      { dst: "0.0.0.0/0", gw: "172.31.16.1" },
      { dst: "::/0", gw: "2406:da1e:c4:ed01::1" },
    ]);
    // Exactly one JSON document on stdout, nothing else.
    expect(out.stdout.trim().split("\n")).toHaveLength(1);
  });

  it("refuses an unsupported cniVersion with code 1", async () => {
    const err = cniError(await box.add("pod-x", { cniVersion: "9.9.9" }));
    expect(err.code).toBe(1);
    expect(await box.claims()).toEqual([]);
  });
});

describe("idempotency and interfaces", () => {
  it("answers a repeated ADD for the same container and interface with the same addresses", async () => {
    const first = cniOk<Result>(await box.add("pod-a"));
    cniOk(await box.add("pod-b"));
    const again = cniOk<Result>(await box.add("pod-a"));
    expect(again).toEqual(first);
    expect(await box.claims()).toHaveLength(4);
    expect(await box.attachments()).toEqual(["pod-a/eth0", "pod-b/eth0"]);
  });

  it("gives another interface of the same container other addresses", async () => {
    const eth0 = addressesOf(cniOk(await box.add("pod-a", { ifname: "eth0" })));
    const net1 = addressesOf(cniOk(await box.add("pod-a", { ifname: "net1" })));
    expect(eth0).toEqual([masterV4(0), masterV6(0)]);
    expect(net1).toEqual([masterV4(1), masterV6(1)]);
    expect(await box.attachments()).toEqual(["pod-a/eth0", "pod-a/net1"]);
    // DEL of one interface leaves the other.
    cniOk(await box.del("pod-a", { ifname: "eth0" }));
    expect(await box.attachments()).toEqual(["pod-a/net1"]);
    expect(await box.claims()).toEqual([masterV4(1), masterV6(1)].sort());
  });
});

describe("exhaustion", () => {
  it("fails the 17th ADD with code 101 naming the pool, and allocates nothing for it", async () => {
    for (let i = 0; i < 16; i++) {
      expect(addressesOf(cniOk(await box.add(`pod-${i}`)))).toEqual([masterV4(i), masterV6(i)]);
    }
    const err = cniError(await box.add("pod-16"));
    expect(err.code).toBe(101);
    expect(err.msg).toContain("master-v4");
    expect(err.msg).toMatch(/used out|exhausted/);
    expect(await box.claims()).toHaveLength(32);
    expect(await box.attachments()).not.toContain("pod-16/eth0");
    // Nor any file of its own: the claim files it staged before taking the lock, and their directory, are gone.
    expect(await readdir(join(box.dataDir, "attachments"))).not.toContain("pod-16");
    expect((await readdir(join(box.dataDir, "ips"))).filter((n) => n.startsWith("."))).toEqual([]);
    // worker1's pools are untouched by master's exhaustion.
    expect(addressesOf(cniOk(await box.add("pod-w", { node: "worker1" })))).toEqual(["172.31.32.176", "2406:da1e:c4:ed02:7a2e::"]);
  });

  // Fill one family with single-family ADDs (per-pod ippool), so the dual-stack
  // ADD that finds it exhausted would find the other family still free.
  it.each([
    { full: "ipv4", fullPool: "master-v4", other: "ipv6", otherPool: "master-v6" },
    { full: "ipv6", fullPool: "master-v6", other: "ipv4", otherPool: "master-v4" },
  ])("dual-stack takes nothing when only $full is exhausted", async ({ full, fullPool, otherPool }) => {
    const onlyFull = { top: { args: { cni: { ippool: { [full]: [fullPool] } } } } };
    cniOk(await box.add("single", onlyFull));
    for (let i = 0; i < 15; i++) cniOk(await box.add(`pod-${i}`));
    const before = await box.claims();
    expect(before).toHaveLength(16 + 15);

    const err = cniError(await box.add("pod-15"));
    expect(err.code).toBe(101);
    expect(err.msg).toContain(fullPool);
    expect(await box.claims()).toEqual(before);
    expect(await box.attachments()).not.toContain("pod-15/eth0");

    // The other family's last address is still free for whoever asks next.
    const other = full === "ipv4" ? "ipv6" : "ipv4";
    const last = other === "ipv4" ? masterV4(15) : masterV6(15);
    const result = cniOk(await box.add("other", { top: { args: { cni: { ippool: { [other]: [otherPool] } } } } }));
    expect(addressesOf(result)).toEqual([last]);
  });
});

describe("release and reuse", () => {
  it("DEL frees the addresses and the next ADD takes the first free one again", async () => {
    for (let i = 0; i < 3; i++) cniOk(await box.add(`pod-${i}`));
    expect(cniOk(await box.del("pod-1"))).toBeUndefined();
    expect(await box.attachments()).toEqual(["pod-0/eth0", "pod-2/eth0"]);
    expect(await box.claims()).toEqual([masterV4(0), masterV4(2), masterV6(0), masterV6(2)].sort());
    expect(addressesOf(cniOk(await box.add("pod-new")))).toEqual([masterV4(1), masterV6(1)]);
    expect(addressesOf(cniOk(await box.add("pod-newer")))).toEqual([masterV4(3), masterV6(3)]);
  });

  it("DEL lowers the pool's hint from what the record notes", async () => {
    for (let i = 0; i < 4; i++) cniOk(await box.add(`pod-${i}`));
    const recordOf = (id: string) => join(box.dataDir, "attachments", id, "eth0");
    const noted = JSON.parse(await readFile(recordOf("pod-1"), "utf8"));
    expect(noted.ips.map((e: { ordinal: string }) => e.ordinal)).toEqual(["1", "1"]);
    expect(noted.ips.every((e: { fingerprint: string }) => /^[0-9a-f]{16}$/.test(e.fingerprint))).toBe(true);
    const hint = async () => (await readFile(join(box.dataDir, "hints", "master-v4"), "utf8")).trim();
    const fingerprint = noted.ips[0].fingerprint;
    expect(await hint()).toBe(`${fingerprint} 4`);
    cniOk(await box.del("pod-1"));
    expect(await hint()).toBe(`${fingerprint} 1`); // lowered, not reset
    expect(addressesOf(cniOk(await box.add("pod-new")))).toEqual([masterV4(1), masterV6(1)]);

  });

  it("an exhausted pool serves again after a DEL, with the freed address", async () => {
    for (let i = 0; i < 16; i++) cniOk(await box.add(`pod-${i}`));
    expect(cniError(await box.add("late")).code).toBe(101);
    cniOk(await box.del("pod-9"));
    expect(addressesOf(cniOk(await box.add("late")))).toEqual([masterV4(9), masterV6(9)]);
  });

  it("a released address goes to a new container, not back to the old record", async () => {
    cniOk(await box.add("pod-a"));
    cniOk(await box.del("pod-a"));
    cniOk(await box.add("pod-b"));
    // pod-a comes back: it is a new ADD and gets the next free address.
    expect(addressesOf(cniOk(await box.add("pod-a")))).toEqual([masterV4(1), masterV6(1)]);
  });
});

describe("DEL", () => {
  it("is idempotent: a second DEL succeeds and changes nothing", async () => {
    cniOk(await box.add("pod-a"));
    cniOk(await box.add("pod-b"));
    for (let i = 0; i < 2; i++) {
      const out = await box.del("pod-a");
      expect(out.code).toBe(0);
      expect(out.stdout).toBe("");
    }
    expect(await box.attachments()).toEqual(["pod-b/eth0"]);
    expect(await box.claims()).toHaveLength(2);
  });

  it("succeeds for a container ID never seen, before and after any allocation", async () => {
    expect((await box.del("never-seen")).code).toBe(0);
    cniOk(await box.add("pod-a"));
    expect((await box.del("never-seen")).code).toBe(0);
    expect((await box.del("pod-a", { ifname: "net9" })).code).toBe(0);
    expect(await box.attachments()).toEqual(["pod-a/eth0"]);
  });

  it("works without CNI_NETNS (the netns may already be gone)", async () => {
    cniOk(await box.add("pod-a"));
    const out = await box.del("pod-a", { env: { CNI_NETNS: undefined } });
    expect(out.code).toBe(0);
    expect(await box.claims()).toEqual([]);
  });

  it("releases even when the pool files became unreadable", async () => {
    cniOk(await box.add("pod-a"));
    await box.writePoolFile("zz-broken.yaml", "spec: [unterminated\n");
    expect(cniError(await box.add("pod-b")).code).toBe(7);
    expect((await box.del("pod-a")).code).toBe(0);
    expect(await box.claims()).toEqual([]);
    expect(await box.attachments()).toEqual([]);
  });
});

describe("CHECK", () => {
  it("succeeds after ADD with the ADD result as prevResult", async () => {
    const result = cniOk(await box.add("pod-a"));
    const out = await box.check("pod-a", result);
    expect(out.code, out.stdout).toBe(0);
    expect(out.stdout).toBe("");
  });

  it("fails after DEL", async () => {
    const result = cniOk(await box.add("pod-a"));
    cniOk(await box.del("pod-a"));
    const err = cniError(await box.check("pod-a", result));
    expect(err.code).toBe(110);
    expect(err.msg).toContain("pod-a");
  });

  it("fails when prevResult names an address the interface does not hold", async () => {
    cniOk(await box.add("pod-a"));
    const forged = { cniVersion: "1.0.0", ips: [{ address: "172.31.28.30/20", gateway: "172.31.16.1" }] };
    const err = cniError(await box.check("pod-a", forged));
    expect(err.msg).toContain("172.31.28.30");
  });

  it("is refused below cniVersion 0.4.0 with code 1", async () => {
    const result = cniOk(await box.add("pod-a", { cniVersion: "0.3.1" }));
    expect(cniError(await box.check("pod-a", result, { cniVersion: "0.3.1" })).code).toBe(1);
  });
});

describe("CNI protocol", () => {
  it("answers VERSION", async () => {
    const out = await box.run("VERSION", undefined, {});
    const v = cniOk<{ supportedVersions: string[] }>(out);
    expect(v.supportedVersions).toEqual(expect.arrayContaining(["0.3.1", "0.4.0", "1.0.0", "1.1.0"]));
  });

  it("names a missing CNI variable with code 4", async () => {
    const err = cniError(await box.add("pod-a", { env: { CNI_IFNAME: "" } }));
    expect(err.code).toBe(4);
    expect(err.msg).toContain("CNI_IFNAME");
  });

  it("records the pod identity from CNI_ARGS and the network name", async () => {
    cniOk(
      await box.add("pod-a", {
        args: { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "default", K8S_POD_NAME: "web-0", K8S_POD_UID: "uid-1" },
      }),
    );
    const record = JSON.parse(await readFile(join(box.dataDir, "attachments", "pod-a", "eth0"), "utf8")) as Record<string, unknown>;
    expect(record).toMatchObject({
      containerID: "pod-a",
      ifname: "eth0",
      network: NETWORK,
      pod: { namespace: "default", name: "web-0", uid: "uid-1" },
    });
  });
});

describe("pool cache", () => {
  it("is written by the very first ADD, before dataDir exists", async () => {
    const dataDir = join(box.root, "new", "data");
    const first = cniOk(await box.add("pod-a", { ipam: { dataDir } }));
    expect(addressesOf(first)).toEqual([masterV4(0), masterV6(0)]);
    const cached = await readdir(join(dataDir, "cache"));
    expect(cached).toHaveLength(1);
    expect(cached[0]).toMatch(/^pools-[0-9a-f]{16}\.json$/);
  });

  it("follows an edited pool file at the next ADD", async () => {
    expect(addressesOf(cniOk(await box.add("pod-a")))).toEqual([masterV4(0), masterV6(0)]);
    const file = join(box.poolDir, "seed-pools.yaml");
    const seed = await readFile(file, "utf8");
    await writeFile(file, seed.replace("  gateway: 172.31.16.1\n", "  gateway: 172.31.16.1\n  excludeIPs: [172.31.28.17]\n"));
    expect(addressesOf(cniOk(await box.add("pod-b")))).toEqual([masterV4(2), masterV6(1)]);
  });
});
