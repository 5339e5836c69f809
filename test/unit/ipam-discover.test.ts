// The pure half of `pools discover`: ENI metadata to pool documents and their
// YAML, the diff against the current pools, and which held addresses a new
// file would take out of every pool. No I/O (the integration test runs the
// built executable against a fake metadata service in a namespace).
import { describe, expect, it } from "vitest";
import type { EniMetadata } from "../../lib/cloud/aws-imds";
import { formatIPRange } from "../../lib/ip/range";
import { parseIP } from "../../lib/ip/address";
import { discoverPools, discoveryYaml, type Discovery } from "../../lib/ipam/discover";
import { diffPools, heldRemovals, holderText, refusalMessage, removedAddresses, type HeldAddress } from "../../lib/ipam/discover-diff";
import { buildPools, type Pool } from "../../lib/ipam/pool";
import { parsePoolText } from "../../lib/ipam/pool-load";
import { poolNamed, seedPools, yamlAll } from "../fixtures/pools/helpers";

const MAC0 = "0a:5e:ed:00:00:01";
const MAC1 = "0a:5e:ed:00:00:0b";

function masterEni(over: Partial<EniMetadata> = {}): EniMetadata {
  return {
    mac: MAC0,
    deviceNumber: 0,
    subnetIpv4: "172.31.16.0/20",
    subnetIpv6: ["2406:da1e:c4:ed01::/64"],
    ipv4Prefixes: ["172.31.28.16/28"],
    ipv6Prefixes: ["2406:da1e:c4:ed01:c57d::/80"],
    localIpv4s: ["172.31.22.228"],
    ...over,
  };
}

const worker1Eni = (): EniMetadata => ({
  mac: "0a:5e:ed:00:00:02",
  deviceNumber: 0,
  subnetIpv4: "172.31.32.0/24",
  subnetIpv6: ["2406:da1e:c4:ed02::/64"],
  ipv4Prefixes: ["172.31.32.176/28"],
  ipv6Prefixes: ["2406:da1e:c4:ed02:7a2e::/80"],
  localIpv4s: ["172.31.32.18"],
});

/** The pools a discovery writes, read back from its YAML as the plugin reads a pool file. */
const poolsOf = (d: Discovery, source = "discovered.yaml"): Pool[] =>
  buildPools(parsePoolText(discoveryYaml(d, "http://169.254.169.254"), source, yamlAll).map((doc) => ({ source, doc })));
const usableText = (p: Pool) => p.usable.map(formatIPRange);

describe("discoverPools", () => {
  it("makes the seed's pools for master and worker1: subnet, gateway, nodeName, default; v4 ips equal, v6 ips the whole /80", () => {
    const seed = seedPools();
    for (const [node, eni] of [
      ["master", masterEni()],
      ["worker1", worker1Eni()],
    ] as const) {
      const pools = poolsOf(discoverPools([eni], { node }));
      expect(pools.map((p) => p.name)).toEqual([`${node}-v4`, `${node}-v6`]);
      for (const p of pools) {
        const s = poolNamed(seed, p.name);
        expect({ subnet: p.subnet, gateway: p.gateway, nodeName: p.nodeName, isDefault: p.isDefault }).toEqual({
          subnet: s.subnet,
          gateway: s.gateway,
          nodeName: s.nodeName,
          isDefault: s.isDefault,
        });
        if (p.family === 4) expect(usableText(p)).toEqual(usableText(s));
        // The seed lists the first 16 addresses of the /80; the ENI holds all of it.
        else for (const r of s.usable) expect(p.usable.some((q) => q.start <= r.start && r.end <= q.end)).toBe(true);
      }
    }
    const v6 = poolsOf(discoverPools([masterEni()], { node: "master" }))[1]!;
    expect(usableText(v6)).toEqual(["2406:da1e:c4:ed01:c57d::-2406:da1e:c4:ed01:c57d:ffff:ffff:ffff"]);
    expect(v6.total).toBe(1n << 48n);
  });

  it("leaves out the primary address (the first of local-ipv4s) and keeps the secondary ones, in address order", () => {
    const eni = masterEni({ localIpv4s: ["172.31.22.228", "172.31.30.7", "172.31.17.5"] });
    const [v4] = discoverPools([eni], { node: "master" }).pools;
    expect(v4!.ips.map((e) => e.text)).toEqual(["172.31.17.5", "172.31.28.16-172.31.28.31", "172.31.30.7"]);
    expect(v4!.ips.some((e) => e.text === "172.31.22.228")).toBe(false);
  });

  it("names other ENIs by device number and makes only the primary ENI's pools default", () => {
    const second: EniMetadata = {
      mac: MAC1,
      deviceNumber: 1,
      subnetIpv4: "172.31.64.0/20",
      subnetIpv6: [],
      ipv4Prefixes: ["172.31.70.16/28", "172.31.70.0/28"],
      ipv6Prefixes: [],
      localIpv4s: ["172.31.64.10"],
    };
    // Listed out of order on purpose: the result follows device numbers.
    const d = discoverPools([second, masterEni()], { node: "master", multusName: ["kube-system/ipvlan-ens5"] });
    expect(d.pools.map((p) => [p.name, p.isDefault])).toEqual([
      ["master-v4", true],
      ["master-v6", true],
      ["master-eni1-v4", false],
    ]);
    expect(d.notes).toEqual([`no IPv6 pool for ENI ${MAC1} (device-number 1): no ipv6-prefix`]);
    const eni1 = poolNamed(poolsOf(d), "master-eni1-v4");
    expect(usableText(eni1)).toEqual(["172.31.70.0-172.31.70.15", "172.31.70.16-172.31.70.31"]);
    expect(eni1.gateway).toEqual(parseIP("172.31.64.1"));
    expect(eni1.multusName).toEqual(["kube-system/ipvlan-ens5"]);
  });

  it("makes no pool of a family without addresses, and says so", () => {
    const d = discoverPools([masterEni({ ipv4Prefixes: [], localIpv4s: ["172.31.22.228"] })], { node: "master" });
    expect(d.pools.map((p) => p.name)).toEqual(["master-v6"]);
    expect(d.notes[0]).toContain("no IPv4 pool");
  });

  it("refuses metadata that does not add up, naming the path", () => {
    const cases: [Partial<EniMetadata>, RegExp][] = [
      [{ ipv4Prefixes: ["172.31.99.16/28"], subnetIpv4: "172.31.16.0/24" }, /ipv4-prefix: prefix 172.31.99.16\/28 is outside the ENI's subnet 172.31.16.0\/24/],
      [{ ipv4Prefixes: ["banana"] }, /macs\/0a:5e:ed:00:00:01\/ipv4-prefix: "banana" is not an IPv4 CIDR/],
      [{ ipv4Prefixes: ["172.31.28.17/28"] }, /host bits set/],
      [{ localIpv4s: ["172.31.22.228", "180.17.16.17"] }, /local-ipv4s: address 180.17.16.17 is outside the ENI's subnet/],
      [{ subnetIpv4: undefined } as Partial<EniMetadata>, /subnet-ipv4-cidr-block: missing/],
      [{ subnetIpv6: ["2406:da1e:c4:ed09::/64"] }, /prefix 2406:da1e:c4:ed01:c57d::\/80 is in none of the ENI's IPv6 subnets/],
    ];
    for (const [over, message] of cases) {
      const eni = masterEni(over);
      if ("subnetIpv4" in over && over.subnetIpv4 === undefined) delete eni.subnetIpv4;
      expect(() => discoverPools([eni], { node: "master" })).toThrow(message);
    }
    expect(() => discoverPools([masterEni(), masterEni({ mac: MAC1 })], { node: "master" })).toThrow(/both have device-number 0/);
    expect(() => discoverPools([masterEni()], { node: "Master_1" })).toThrow(/cannot name a pool.*--node/);
  });
});

describe("discoveryYaml", () => {
  it("reads back as exactly the pool documents, every value commented with its metadata path", () => {
    const d = discoverPools([masterEni({ localIpv4s: ["172.31.22.228", "172.31.30.7"] })], { node: "master", multusName: ["kube-system/ipvlan-ens5"] });
    const text = discoveryYaml(d, "http://169.254.169.254");
    const pool = (name: string, spec: Record<string, unknown>) => ({ apiVersion: "spiderpool.spidernet.io/v2beta1", kind: "SpiderIPPool", metadata: { name }, spec });
    const common = { default: true, nodeName: ["master"], multusName: ["kube-system/ipvlan-ens5"] };
    expect(parsePoolText(text, "x.yaml", yamlAll)).toEqual([
      pool("master-v4", { subnet: "172.31.16.0/20", ips: ["172.31.28.16-172.31.28.31", "172.31.30.7"], gateway: "172.31.16.1", ...common }),
      pool("master-v6", { subnet: "2406:da1e:c4:ed01::/64", ips: ["2406:da1e:c4:ed01:c57d::-2406:da1e:c4:ed01:c57d:ffff:ffff:ffff"], gateway: "2406:da1e:c4:ed01::1", ...common }),
    ]);
    expect(text).toContain(`subnet: 172.31.16.0/20  # network/interfaces/macs/${MAC0}/subnet-ipv4-cidr-block`);
    expect(text).toContain(`- 172.31.28.16-172.31.28.31  # network/interfaces/macs/${MAC0}/ipv4-prefix 172.31.28.16/28`);
    expect(text).toContain(`- 172.31.30.7  # network/interfaces/macs/${MAC0}/local-ipv4s (secondary; the first, 172.31.22.228, is the ENI's primary address)`);
    expect(text).toMatch(/gateway: 2406:da1e:c4:ed01::1 {2}# the VPC router/);
    expect(text).toContain("default: true  # device-number 0");
  });

  it("quotes a value a plain YAML scalar would misread (an IPv6 address ending in '::')", () => {
    const d = discoverPools([masterEni({ ipv6Prefixes: ["2406:da1e:c4:ed01:c57d::/128"] })], { node: "master" });
    const text = discoveryYaml(d, "http://169.254.169.254");
    expect(text).toContain('- "2406:da1e:c4:ed01:c57d::"  #');
    const [, v6] = parsePoolText(text, "x.yaml", yamlAll) as { spec: { ips: string[] } }[];
    expect(v6!.spec.ips).toEqual(["2406:da1e:c4:ed01:c57d::"]);
  });

  it("is the same text for the same ENIs in any order (a re-run with nothing changed writes nothing)", () => {
    const a = masterEni({ ipv4Prefixes: ["172.31.28.16/28", "172.31.29.0/28"] });
    const b = masterEni({ ipv4Prefixes: ["172.31.29.0/28", "172.31.28.16/28"] });
    expect(discoveryYaml(discoverPools([a], { node: "master" }), "u")).toBe(discoveryYaml(discoverPools([b], { node: "master" }), "u"));
  });
});

describe("diffPools and held removals", () => {
  const before = () => poolsOf(discoverPools([masterEni({ ipv4Prefixes: ["172.31.28.16/28", "172.31.29.0/28"] })], { node: "master" }));
  const after = () => poolsOf(discoverPools([masterEni()], { node: "master" }));

  it("says per pool what is new, gone, changed or the same", () => {
    const extra = poolsOf(discoverPools([masterEni(), { ...worker1Eni(), mac: MAC1, deviceNumber: 1, ipv6Prefixes: [] }], { node: "master" }));
    const changes = diffPools(before(), extra);
    expect(changes.map((c) => [c.name, c.kind])).toEqual([
      ["master-v4", "changed"],
      ["master-v6", "unchanged"],
      ["master-eni1-v4", "added"],
    ]);
    expect(changes[0]!.details).toEqual(["ips - 172.31.29.0-172.31.29.15 (16 address(es))"]);
    expect(diffPools(after(), before())[0]!.details).toEqual(["ips + 172.31.29.0-172.31.29.15 (16 address(es))"]);
    expect(diffPools(extra, after()).map((c) => [c.name, c.kind])).toContainEqual(["master-eni1-v4", "removed"]);
  });

  it("finds the held addresses a removed prefix would take out of every pool, and only those", () => {
    const removals = removedAddresses(before(), after());
    expect(removals.map((r) => [r.pool, r.ranges.map(formatIPRange)])).toEqual([["master-v4", ["172.31.29.0-172.31.29.15"]]]);
    const held: HeldAddress[] = [
      { address: "172.31.29.3", holder: "container c1 interface eth0" },
      { address: "172.31.28.20", holder: "container c2 interface eth0" }, // stays in master-v4
      { address: "2406:da1e:c4:ed01:c57d::5", holder: "container c2 interface eth0" },
    ];
    expect(heldRemovals(removals, held)).toEqual([{ address: "172.31.29.3", holder: "container c1 interface eth0", pool: "master-v4" }]);
  });

  it("does not count an address that moves to another pool as removed", () => {
    const moved = poolsOf(
      discoverPools(
        [masterEni(), { mac: MAC1, deviceNumber: 1, subnetIpv4: "172.31.16.0/20", subnetIpv6: [], ipv4Prefixes: ["172.31.29.0/28"], ipv6Prefixes: [], localIpv4s: ["172.31.20.1"] }],
        { node: "master" },
      ),
    );
    expect(removedAddresses(before(), moved)).toEqual([]);
  });

  it("names every held address with its pool and holder, the first ten then a count", () => {
    const one = refusalMessage("/etc/x.yaml", [{ address: "172.31.29.3", pool: "master-v4", holder: holderText({ containerID: "c1", ifname: "eth0", pod: { namespace: "default", name: "nginx" } }) }]);
    expect(one).toContain("refusing to write /etc/x.yaml");
    expect(one).toContain("172.31.29.3 of pool master-v4 is allocated to container c1 interface eth0 (pod default/nginx)");
    const many = refusalMessage("f", Array.from({ length: 12 }, (_, i) => ({ address: `172.31.29.${i}`, pool: "master-v4", holder: `container c${i} interface eth0` })));
    expect(many).toContain("172.31.29.9 of pool");
    expect(many).not.toContain("172.31.29.10 of pool");
    expect(many).toContain("and 2 more");
  });
});
