// spiderpool-ipam pool choice and requests, run through the built binary:
// per-pod pools (Multus cni-args), default_ipv4/6_ippool, filters and their
// error messages, static addresses, broken pool files, unsafe directories.
import { chmod, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { cniError, cniOk } from "../helpers/cni";
import { IpamSandbox, addressesOf, poolYaml, useIpamSandbox } from "./ipam-harness";

interface Result {
  ips: { address: string; gateway?: string }[];
  routes?: { dst: string; gw?: string }[];
}

/** Non-default pools on master, same subnets as the seed's, for per-pod choice. */
const EXTRA_POOLS = [
  poolYaml("master-extra-v4", {
    subnet: "172.31.16.0/20",
    ips: ["172.31.29.0-172.31.29.9"],
    gateway: "172.31.16.1",
    routes: [{ dst: "10.10.0.0/16", gw: "172.31.16.254" }],
    nodeName: ["master"],
    multusName: ["kube-system/ipvlan-ens5"],
  }),
  poolYaml("master-extra-v6", {
    subnet: "2406:da1e:c4:ed01::/64",
    ips: ["2406:da1e:c4:ed01:c57e::0-2406:da1e:c4:ed01:c57e::9"],
    gateway: "2406:da1e:c4:ed01::1",
    nodeName: ["master"],
    multusName: ["kube-system/ipvlan-ens5"],
  }),
].join("---\n");

const cniArgs = (cni: Record<string, unknown>) => ({ top: { args: { cni } } });

let box: IpamSandbox;
const tmp = useIpamSandbox((b) => (box = b));

describe("no pool matches", () => {
  it("fails on node nobody with code 100, naming each IPv4 pool and why", async () => {
    const err = cniError(await box.add("pod-a", { node: "nobody" }));
    expect(err.code).toBe(100);
    expect(err.msg).toContain("nobody");
    expect(err.msg).toMatch(/master-v4: unmatched node name \(pool allows \[master\], node is nobody\)/);
    expect(err.msg).toMatch(/worker1-v4: unmatched node name \(pool allows \[worker1\], node is nobody\)/);
    expect(await box.claims()).toEqual([]);
  });

  // The issue asks that the error "lists every candidate pool and why it was
  // filtered out"; a dual-stack request has the IPv6 pools as candidates too.
  it("names the IPv6 candidates as well", async () => {
    const err = cniError(await box.add("pod-a", { node: "nobody" }));
    for (const pool of ["master-v4", "master-v6", "worker1-v4", "worker1-v6"]) expect(err.msg).toContain(pool);
  });

  it("fails for another network name with the multusName reason", async () => {
    const err = cniError(await box.add("pod-a", { name: "macvlan-ens6" }));
    expect(err.code).toBe(100);
    expect(err.msg).toMatch(/master-v4: unmatched multus name/);
    expect(err.msg).toContain("macvlan-ens6");
  });

  it("matches ipam.multusName instead of the network name when set", async () => {
    const result = await box.add("pod-a", { name: "renamed", ipam: { multusName: "kube-system/ipvlan-ens5" } });
    expect(addressesOf(cniOk(result))).toEqual(["172.31.28.16", "2406:da1e:c4:ed01:c57d::"]);
  });

  it("fails with code 100 when the pool directory holds no pool", async () => {
    const empty = await IpamSandbox.create(tmp, { seed: false });
    const err = cniError(await empty.add("pod-a"));
    expect(err.code).toBe(100);
  });
});

describe("per-pod pools from Multus cni-args", () => {
  beforeEach(async () => {
    await box.writePoolFile("extra.yaml", EXTRA_POOLS);
  });

  it("args.cni.ippools: the entry for this interface decides both families, with the pool's routes", async () => {
    const ippools = [{ interface: "eth0", ipv4: ["master-extra-v4"], ipv6: ["master-extra-v6"] }];
    const result = cniOk<Result>(await box.add("pod-a", cniArgs({ ippools })));
    expect(result.ips).toEqual([
      { address: "172.31.29.0/20", gateway: "172.31.16.1" },
      { address: "2406:da1e:c4:ed01:c57e::/64", gateway: "2406:da1e:c4:ed01::1" },
    ]);
    expect(result.routes).toEqual(
      expect.arrayContaining([
        { dst: "10.10.0.0/16", gw: "172.31.16.254" },
        { dst: "0.0.0.0/0", gw: "172.31.16.1" },
        { dst: "::/0", gw: "2406:da1e:c4:ed01::1" },
      ]),
    );
    expect(result.routes).toHaveLength(3);
  });

  it("args.cni.ippools as the annotation's JSON text", async () => {
    const ippools = JSON.stringify([{ interface: "eth0", ipv4: ["master-extra-v4"], ipv6: ["master-extra-v6"] }]);
    expect(addressesOf(cniOk(await box.add("pod-a", cniArgs({ ippools }))))).toEqual(["172.31.29.0", "2406:da1e:c4:ed01:c57e::"]);
  });

  it("args.cni.ippools: another interface without an entry falls back to the default pools", async () => {
    const ippools = [{ interface: "net1", ipv4: ["master-extra-v4"], ipv6: ["master-extra-v6"] }];
    expect(addressesOf(cniOk(await box.add("pod-a", { ifname: "eth0", ...cniArgs({ ippools }) })))).toEqual([
      "172.31.28.16",
      "2406:da1e:c4:ed01:c57d::",
    ]);
    expect(addressesOf(cniOk(await box.add("pod-a", { ifname: "net1", ...cniArgs({ ippools }) })))).toEqual([
      "172.31.29.0",
      "2406:da1e:c4:ed01:c57e::",
    ]);
  });

  it("args.cni.ippools: cleangateway drops the default routes but keeps the gateway and pool routes", async () => {
    const ippools = [{ interface: "eth0", ipv4: ["master-extra-v4"], ipv6: ["master-extra-v6"], cleangateway: true }];
    const result = cniOk<Result>(await box.add("pod-a", cniArgs({ ippools })));
    expect(result.ips.map((ip) => ip.gateway)).toEqual(["172.31.16.1", "2406:da1e:c4:ed01::1"]);
    expect(result.routes).toEqual([{ dst: "10.10.0.0/16", gw: "172.31.16.254" }]);
  });

  it("args.cni.ippool with only ipv4 gives only an IPv4 address", async () => {
    const result = cniOk<Result>(await box.add("pod-a", cniArgs({ ippool: { ipv4: ["master-extra-v4"] } })));
    expect(addressesOf(result)).toEqual(["172.31.29.0"]);
    expect(await box.claims()).toEqual(["172.31.29.0"]);
  });

  it("args.cni.ippool as JSON text, with wildcards", async () => {
    const ippool = JSON.stringify({ ipv4: ["master-extra-*"], ipv6: ["master-extra-v?"] });
    expect(addressesOf(cniOk(await box.add("pod-a", cniArgs({ ippool }))))).toEqual(["172.31.29.0", "2406:da1e:c4:ed01:c57e::"]);
  });

  it("ippools wins over ippool, which wins over default_ipv4_ippool", async () => {
    const both = cniArgs({
      ippools: [{ interface: "eth0", ipv4: ["master-extra-v4"] }],
      ippool: { ipv4: ["master-v4"] },
    });
    expect(addressesOf(cniOk(await box.add("pod-a", both)))).toEqual(["172.31.29.0"]);
    const overDefault = { ipam: { default_ipv4_ippool: ["master-v4"] }, ...cniArgs({ ippool: { ipv4: ["master-extra-v4"] } }) };
    expect(addressesOf(cniOk(await box.add("pod-b", overDefault)))).toEqual(["172.31.29.1"]);
  });

  it("a per-pod pool of another node is refused with code 100 and the reason", async () => {
    const err = cniError(await box.add("pod-a", cniArgs({ ippool: { ipv4: ["worker1-v4"] } })));
    expect(err.code).toBe(100);
    expect(err.msg).toMatch(/worker1-v4: unmatched node name/);
  });

  it("a per-pod pool that does not exist is refused with code 100 naming it", async () => {
    const err = cniError(await box.add("pod-a", cniArgs({ ippool: { ipv4: ["no-such-pool"] } })));
    expect(err.code).toBe(100);
    expect(err.msg).toContain("no-such-pool");
  });

  it("a malformed annotation is code 7", async () => {
    const err = cniError(await box.add("pod-a", cniArgs({ ippools: "[{not json" })));
    expect(err.code).toBe(7);
    expect(err.msg).toContain("args.cni.ippools");
  });
});

describe("default_ipv4_ippool / default_ipv6_ippool / clean_gateway", () => {
  it("default_ipv4_ippool only gives only an IPv4 address and route", async () => {
    const result = cniOk<Result>(await box.add("pod-a", { ipam: { default_ipv4_ippool: ["master-v4"] } }));
    expect(result.ips).toEqual([{ address: "172.31.28.16/20", gateway: "172.31.16.1" }]);
    expect(result.routes).toEqual([{ dst: "0.0.0.0/0", gw: "172.31.16.1" }]);
    expect(await box.claims()).toEqual(["172.31.28.16"]);
  });

  it("default_ipv6_ippool only gives only an IPv6 address", async () => {
    const result = cniOk<Result>(await box.add("pod-a", { ipam: { default_ipv6_ippool: ["master-v6"] } }));
    expect(addressesOf(result)).toEqual(["2406:da1e:c4:ed01:c57d::"]);
  });

  it("clean_gateway leaves out the default routes", async () => {
    const result = cniOk<Result>(await box.add("pod-a", { ipam: { clean_gateway: true } }));
    expect(addressesOf(result)).toEqual(["172.31.28.16", "2406:da1e:c4:ed01:c57d::"]);
    expect(result.routes ?? []).toEqual([]);
  });

  it("an unknown ipam key is refused with code 2 naming it", async () => {
    const err = cniError(await box.add("pod-a", { ipam: { ipv4_pool: "x" } }));
    expect(err.code).toBe(2);
    expect(err.msg).toContain("ipam.ipv4_pool");
  });

  it("accepts the upstream ipam type name spiderpool", async () => {
    expect(addressesOf(cniOk(await box.add("pod-a", { ipam: { type: "spiderpool" } })))).toHaveLength(2);
  });
});

describe("static addresses", () => {
  it("CNI_ARGS IP= grants a free address; later dynamic ADDs skip it and still start at the first free", async () => {
    const result = cniOk<Result>(await box.add("pod-s", { args: "IgnoreUnknown=1;K8S_POD_NAME=s;IP=172.31.28.20" }));
    expect(result.ips[0]).toEqual({ address: "172.31.28.20/20", gateway: "172.31.16.1" });
    expect(addressesOf(result)[1]).toBe("2406:da1e:c4:ed01:c57d::");
    const dynamic: string[] = [];
    for (let i = 0; i < 5; i++) dynamic.push(addressesOf(cniOk(await box.add(`pod-${i}`)))[0]!);
    expect(dynamic).toEqual(["172.31.28.16", "172.31.28.17", "172.31.28.18", "172.31.28.19", "172.31.28.21"]);
  });

  it("runtimeConfig.ips grants one address per family", async () => {
    const top = { runtimeConfig: { ips: ["172.31.28.30/20", "2406:da1e:c4:ed01:c57d::e/64"] } };
    expect(addressesOf(cniOk(await box.add("pod-a", { top })))).toEqual(["172.31.28.30", "2406:da1e:c4:ed01:c57d::e"]);
  });

  it("args.cni.ips grants the address", async () => {
    expect(addressesOf(cniOk(await box.add("pod-a", cniArgs({ ips: ["172.31.28.22"] }))))[0]).toBe("172.31.28.22");
  });

  it("a used address is code 102, and the other family is not taken either", async () => {
    cniOk(await box.add("pod-a"));
    const top = { runtimeConfig: { ips: ["2406:da1e:c4:ed01:c57d::5", "172.31.28.16"] } };
    const err = cniError(await box.add("pod-b", { top }));
    expect(err.code).toBe(102);
    expect(err.msg).toContain("172.31.28.16");
    expect(await box.claims()).toEqual(["172.31.28.16", "2406:da1e:c4:ed01:c57d::"]);
  });

  it.each([
    ["inside the subnet but outside spec.ips", "172.31.20.5"],
    ["the gateway", "172.31.16.1"],
    ["outside every pool", "10.1.2.3"],
  ])("an address %s is code 102", async (_what, ip) => {
    const err = cniError(await box.add("pod-a", { args: `IP=${ip}` }));
    expect(err.code).toBe(102);
    expect(err.msg).toContain(ip);
    expect(await box.claims()).toEqual([]);
  });

  it("an address of another node's pool is code 102", async () => {
    const err = cniError(await box.add("pod-a", { args: "IP=172.31.32.180" }));
    expect(err.code).toBe(102);
  });
});

describe("broken pool files", () => {
  it("a YAML syntax error is code 7 naming the file, and nothing is allocated", async () => {
    const file = await box.writePoolFile("broken.yaml", "apiVersion: spiderpool.spidernet.io/v2beta1\nkind: SpiderIPPool\nspec: [unterminated\n");
    const err = cniError(await box.add("pod-a"));
    expect(err.code).toBe(7);
    expect(err.msg).toContain(file);
    expect(await box.claims()).toEqual([]);
  });

  it("a rule violation is code 7 naming the file, the pool and the field", async () => {
    const file = await box.writePoolFile(
      "bad-gw.yaml",
      poolYaml("bad-gateway", { subnet: "10.20.0.0/24", ips: ["10.20.0.10-10.20.0.20"], gateway: "10.30.0.1" }),
    );
    const err = cniError(await box.add("pod-a"));
    expect(err.code).toBe(7);
    expect(err.msg).toContain(file);
    expect(err.msg).toContain("bad-gateway");
    expect(err.msg).toContain("spec.gateway");
  });

  it("a non-canonical subnet is code 7 naming the field", async () => {
    await box.writePoolFile("bad-subnet.yaml", poolYaml("bad-subnet", { subnet: "10.20.0.5/24", ips: ["10.20.0.10"] }));
    const err = cniError(await box.add("pod-a"));
    expect(err.code).toBe(7);
    expect(err.msg).toContain("spec.subnet");
  });

  it("a JSON pool file is read like YAML", async () => {
    const doc = {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "json-v4" },
      spec: { subnet: "10.40.0.0/24", ips: ["10.40.0.5-10.40.0.6"], gateway: "10.40.0.1", nodeName: ["master"] },
    };
    await box.writePoolFile("json-pool.json", JSON.stringify(doc));
    expect(addressesOf(cniOk(await box.add("pod-a", { ipam: { default_ipv4_ippool: ["json-v4"] } })))).toEqual(["10.40.0.5"]);
  });
});

describe("directories the plugin refuses", () => {
  it("a world-writable dataDir is refused with a clear error and left untouched", async () => {
    await chmod(box.dataDir, 0o777);
    const err = cniError(await box.add("pod-a"));
    expect(err.code).toBe(7);
    expect(err.msg).toContain(box.dataDir);
    expect(err.msg).toMatch(/writable by group or others/);
    expect(await box.claims()).toEqual([]);
    // DEL refuses it too rather than trusting what is in it.
    expect(cniError(await box.del("pod-a")).msg).toContain(box.dataDir);
  });

  it("a world-writable poolDir is refused", async () => {
    await chmod(box.poolDir, 0o777);
    const err = cniError(await box.add("pod-a"));
    expect(err.msg).toContain(box.poolDir);
    expect(err.msg).toMatch(/writable by group or others/);
  });

  it("a missing dataDir is created private (0700)", async () => {
    const dataDir = join(box.root, "fresh", "data");
    await mkdir(join(box.root, "fresh"), { mode: 0o700 });
    cniOk(await box.add("pod-a", { ipam: { dataDir } }));
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
  });

  it("a relative dataDir is code 7", async () => {
    const err = cniError(await box.add("pod-a", { ipam: { dataDir: "relative/data" } }));
    expect(err.code).toBe(7);
    expect(err.msg).toContain("ipam.dataDir");
  });
});
