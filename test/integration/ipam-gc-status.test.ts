// spiderpool-ipam GC and STATUS (CNI 1.1.0) through the built binary.
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { cniError, cniOk } from "../helpers/cni";
import { makePrivateDir } from "../helpers/tmp";
import { IpamSandbox, addressesOf, poolYaml, useIpamSandbox } from "./ipam-harness";

let box: IpamSandbox;
const tmp = useIpamSandbox((b) => (box = b));

const att = (containerID: string, ifname = "eth0") => ({ containerID, ifname });

describe("GC", () => {
  beforeEach(async () => {
    cniOk(await box.add("a", { ifname: "eth0" })); // .16
    cniOk(await box.add("b", { ifname: "eth0" })); // .17
    cniOk(await box.add("c", { ifname: "eth0" })); // .18
    cniOk(await box.add("a", { ifname: "net1" })); // .19
  });

  it.each(["cni.dev/valid-attachments", "cni.dev/attachments"])("with %s releases every attachment not listed", async (key) => {
    const out = await box.gc([att("a"), att("c")], { key });
    expect(out.code, out.stdout).toBe(0);
    expect(out.stdout).toBe("");
    expect(await box.attachments()).toEqual(["a/eth0", "c/eth0"]);
    expect(await box.claims()).toEqual(
      ["172.31.28.16", "172.31.28.18", "2406:da1e:c4:ed01:c57d::", "2406:da1e:c4:ed01:c57d::2"].sort(),
    );
    // The freed addresses are handed out again, first free first.
    expect(addressesOf(cniOk(await box.add("d")))).toEqual(["172.31.28.17", "2406:da1e:c4:ed01:c57d::1"]);
    expect(addressesOf(cniOk(await box.add("e")))).toEqual(["172.31.28.19", "2406:da1e:c4:ed01:c57d::3"]);
  });

  it("with an empty list releases everything of the network, and a second GC is a no-op", async () => {
    cniOk(await box.gc([]));
    expect(await box.attachments()).toEqual([]);
    expect(await box.claims()).toEqual([]);
    cniOk(await box.gc([]));
  });

  it("keeps everything when every attachment is listed", async () => {
    const before = await box.claims();
    cniOk(await box.gc([att("a"), att("b"), att("c"), att("a", "net1")]));
    expect(await box.claims()).toEqual(before);
    expect(await box.attachments()).toHaveLength(4);
  });

  it("releases only what belongs to this network", async () => {
    // A second network sharing the dataDir, with a pool of its own.
    const otherPools = await makePrivateDir(join(box.root, "other-pools"));
    const pool = poolYaml("other-v4", { subnet: "10.50.0.0/24", ips: ["10.50.0.10-10.50.0.20"], gateway: "10.50.0.1", default: true });
    await writeFile(join(otherPools, "other.yaml"), pool, { mode: 0o600 });
    const other = { name: "macvlan-ens6", ipam: { poolDir: otherPools } };
    expect(addressesOf(cniOk(await box.add("x", other)))).toEqual(["10.50.0.10"]);

    cniOk(await box.gc([]));
    expect(await box.attachments()).toEqual(["x/eth0"]);
    expect(await box.claims()).toEqual(["10.50.0.10"]);

    cniOk(await box.add("y"));
    cniOk(await box.gc([], other));
    expect(await box.attachments()).toEqual(["y/eth0"]);
    expect(await box.claims()).toEqual(["172.31.28.16", "2406:da1e:c4:ed01:c57d::"]);
  });

  it("drops a claim whose attachment record is gone and that no listed attachment owns", async () => {
    await rm(join(box.dataDir, "attachments", "b"), { recursive: true });
    cniOk(await box.gc([att("a"), att("c"), att("a", "net1")]));
    expect(await box.claims()).not.toContain("172.31.28.17");
    expect(await box.claims()).toHaveLength(6);
  });

  it("does not free the address of a listed (live) attachment even when its record is gone", async () => {
    await rm(join(box.dataDir, "attachments", "b"), { recursive: true });
    cniOk(await box.gc([att("a"), att("b"), att("c"), att("a", "net1")]));
    expect(await box.claims()).toContain("172.31.28.17");
    expect(await box.claims()).toHaveLength(8);
  });

  it("without a valid-attachments list fails and releases nothing", async () => {
    const out = await box.run("GC", undefined, { cniVersion: "1.1.0" });
    expect(out.code).not.toBe(0);
    expect(cniError(out).msg).toContain("cni.dev/valid-attachments");
    expect(await box.attachments()).toHaveLength(4);
  });

  it("is refused below cniVersion 1.1.0 with code 1", async () => {
    const err = cniError(await box.gc([], { cniVersion: "1.0.0" }));
    expect(err.code).toBe(1);
    expect(await box.attachments()).toHaveLength(4);
  });
});

describe("STATUS", () => {
  it("succeeds, printing nothing, when the node has free addresses", async () => {
    const out = await box.status();
    expect(out.code, out.stdout).toBe(0);
    expect(out.stdout).toBe("");
  });

  it("is code 50 when no pool serves the node", async () => {
    const err = cniError(await box.status({ node: "nobody" }));
    expect(err.code).toBe(50);
    expect(err.msg).toContain("nobody");
    expect(err.msg).toContain("master-v4");
  });

  it("is code 50 naming the pools when all are exhausted, and fine again after a DEL", async () => {
    for (let i = 0; i < 16; i++) cniOk(await box.add(`pod-${i}`));
    const err = cniError(await box.status());
    expect(err.code).toBe(50);
    expect(err.msg).toContain("master-v4");
    expect(err.msg).toMatch(/exhausted/);
    // worker1 still has room.
    expect((await box.status({ node: "worker1" })).code).toBe(0);
    cniOk(await box.del("pod-3"));
    expect((await box.status()).code).toBe(0);
  });

  it("is code 50 when only the IPv6 pool is exhausted", async () => {
    for (let i = 0; i < 16; i++) cniOk(await box.add(`pod-${i}`, { top: { args: { cni: { ippool: { ipv6: ["master-v6"] } } } } }));
    const err = cniError(await box.status());
    expect(err.code).toBe(50);
    expect(err.msg).toContain("master-v6");
  });

  it("is code 50 when there are no pools at all", async () => {
    const empty = await IpamSandbox.create(tmp, { seed: false });
    const err = cniError(await empty.status());
    expect(err.code).toBe(50);
    expect(err.msg).toContain(empty.poolDir);
  });

  it("is code 50 when every pool of the node is disabled", async () => {
    const disabled = await IpamSandbox.create(tmp, { seed: false });
    await disabled.writePoolFile(
      "off.yaml",
      poolYaml("off-v4", { subnet: "10.60.0.0/24", ips: ["10.60.0.2-10.60.0.9"], default: true, disable: true, nodeName: ["master"] }),
    );
    const err = cniError(await disabled.status());
    expect(err.code).toBe(50);
    expect(err.msg).toContain("off-v4");
    expect(err.msg).toContain("disabled");
  });

  it("is refused below cniVersion 1.1.0 with code 1", async () => {
    expect(cniError(await box.status({ cniVersion: "1.0.0" })).code).toBe(1);
  });
});
