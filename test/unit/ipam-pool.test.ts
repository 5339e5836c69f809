import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../lib/cni/errors";
import { formatCidr, formatIP } from "../../lib/ip/address";
import { formatIPRange } from "../../lib/ip/range";
import { buildPool, buildPools } from "../../lib/ipam/pool";
import { SEED_PATH, catchCni, poolDoc, poolNamed, seedPools } from "../fixtures/pools/helpers";

const SRC = "/etc/cni/pools/test.yaml";
const v4 = (spec: Record<string, unknown> = {}) => ({ subnet: "10.0.0.0/24", ips: ["10.0.0.10-10.0.0.20"], gateway: "10.0.0.1", ...spec });

describe("the seed pools", () => {
  it("load unchanged from test/fixtures/pools/seed-pools.yaml", () => {
    const pools = seedPools();
    expect(pools.map((p) => p.name)).toEqual(["master-v4", "master-v6", "worker1-v4", "worker1-v6"]);
    const summary = pools.map((p) => ({
      name: p.name,
      family: p.family,
      subnet: formatCidr(p.subnet),
      usable: p.usable.map(formatIPRange),
      total: p.total,
      gateway: p.gateway && formatIP(p.gateway),
      isDefault: p.isDefault,
      disabled: p.disabled,
      nodeName: p.nodeName,
      multusName: p.multusName,
      source: p.source,
    }));
    const common = { isDefault: true, disabled: false, multusName: ["kube-system/ipvlan-ens5"], source: SEED_PATH, total: 16n };
    expect(summary).toEqual([
      { ...common, name: "master-v4", family: 4, subnet: "172.31.16.0/20", usable: ["172.31.28.16-172.31.28.31"], gateway: "172.31.16.1", nodeName: ["master"] },
      {
        ...common,
        name: "master-v6",
        family: 6,
        subnet: "2406:da1e:c4:ed01::/64",
        usable: ["2406:da1e:c4:ed01:c57d::-2406:da1e:c4:ed01:c57d::f"],
        gateway: "2406:da1e:c4:ed01::1",
        nodeName: ["master"],
      },
      { ...common, name: "worker1-v4", family: 4, subnet: "172.31.32.0/24", usable: ["172.31.32.176-172.31.32.191"], gateway: "172.31.32.1", nodeName: ["worker1"] },
      {
        ...common,
        name: "worker1-v6",
        family: 6,
        subnet: "2406:da1e:c4:ed02::/64",
        usable: ["2406:da1e:c4:ed02:7a2e::-2406:da1e:c4:ed02:7a2e::f"],
        gateway: "2406:da1e:c4:ed02::1",
        nodeName: ["worker1"],
      },
    ]);
    for (const p of pools) {
      expect(p.routes).toEqual([]);
      expect(p.namespaceName).toEqual([]);
      expect(p.nodeAffinity).toBeUndefined();
      expect(p.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    }
    expect(new Set(pools.map((p) => p.fingerprint)).size).toBe(4);
    // FNV-1a 64 of "172.31.16.0/20|172.31.28.16-172.31.28.31", computed independently.
    expect(poolNamed(pools, "master-v4").fingerprint).toBe("d94a21e988a8e509");
  });
});

describe("buildPool: a valid pool", () => {
  it("normalizes every field", () => {
    const pool = buildPool(
      poolDoc("full", {
        ipVersion: 4,
        subnet: "10.0.0.0/24",
        ips: ["10.0.0.50-10.0.0.60", "10.0.0.2-10.0.0.5", "10.0.0.55-10.0.0.70"],
        excludeIPs: ["10.0.0.52", "10.0.0.1-10.0.0.3"],
        gateway: "10.0.0.1",
        routes: [{ dst: "10.10.0.0/16", gw: "10.0.0.254" }],
        default: false,
        disable: true,
        nodeName: ["a"],
        nodeAffinity: { matchLabels: { zone: "x" } },
        namespaceName: ["ns1"],
        namespaceAffinity: { matchExpressions: [{ key: "team", operator: "Exists" }] },
        podAffinity: { matchExpressions: [{ key: "app", operator: "In", values: ["web"] }] },
        multusName: ["kube-system/ipvlan-ens5"],
      }, { status: { allocatedIPCount: 3, anything: true } }),
      SRC,
    );
    // ips order kept, duplicates counted once, excludes removed.
    expect(pool.usable.map(formatIPRange)).toEqual(["10.0.0.50-10.0.0.51", "10.0.0.53-10.0.0.60", "10.0.0.4-10.0.0.5", "10.0.0.61-10.0.0.70"]);
    expect(pool.total).toBe(2n + 8n + 2n + 10n);
    expect(pool.disabled).toBe(true);
    expect(pool.isDefault).toBe(false);
    expect(pool.routes).toEqual([{ dst: "10.10.0.0/16", gw: "10.0.0.254" }]);
    expect(pool.namespaceAffinity).toEqual({ matchExpressions: [{ key: "team", operator: "Exists" }] });
    expect(pool.source).toBe(SRC);
  });

  it("allows an empty or missing ips list (total 0)", () => {
    expect(buildPool(poolDoc("empty", { subnet: "10.0.0.0/24", ips: [] }), SRC).total).toBe(0n);
    expect(buildPool(poolDoc("none", { subnet: "10.0.0.0/24" }), SRC).usable).toEqual([]);
  });

  it("accepts a gateway inside ips when excludeIPs also lists it", () => {
    const pool = buildPool(poolDoc("gw", v4({ ips: ["10.0.0.1-10.0.0.5"], excludeIPs: ["10.0.0.1"] })), SRC);
    expect(pool.usable.map(formatIPRange)).toEqual(["10.0.0.2-10.0.0.5"]);
  });

  it("fingerprint changes with the usable set and nothing else", () => {
    const a = buildPool(poolDoc("a", v4()), SRC);
    const b = buildPool(poolDoc("b", v4({ default: true, nodeName: ["x"] })), "other.yaml");
    const c = buildPool(poolDoc("c", v4({ excludeIPs: ["10.0.0.20"] })), SRC);
    const d = buildPool(poolDoc("d", v4({ ips: ["10.0.0.10-10.0.0.19"] })), SRC);
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(c.fingerprint).not.toBe(a.fingerprint);
    expect(c.fingerprint).toBe(d.fingerprint); // same usable set, written differently
  });
});

interface BadCase {
  name: string;
  doc: unknown;
  code?: number;
  /** Every fragment must appear in the message. */
  says: string[];
}

const bad: BadCase[] = [
  { name: "not an object", doc: "hello", says: ["expected a SpiderIPPool object, got string"] },
  {
    name: "other kind",
    doc: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm" } },
    says: ["pool cm", "apiVersion", '"ConfigMap"', '"v1"', "only kind SpiderIPPool"],
  },
  {
    name: "older apiVersion",
    doc: { ...poolDoc("old", v4()), apiVersion: "spiderpool.spidernet.io/v1" },
    says: ["pool old", "apiVersion", "spiderpool.spidernet.io/v1"],
  },
  { name: "missing metadata.name", doc: { ...poolDoc("x", v4()), metadata: {} }, says: ["pool <unnamed>", "metadata.name", "missing"] },
  { name: "name not DNS-1123", doc: poolDoc("Master_V4", v4()), says: ["pool Master_V4", "metadata.name", "DNS-1123"] },
  { name: "missing spec", doc: { apiVersion: "spiderpool.spidernet.io/v2beta1", kind: "SpiderIPPool", metadata: { name: "p" } }, says: ["pool p", "spec:", "missing"] },
  { name: "missing subnet", doc: poolDoc("p", { ips: [] }), says: ["pool p", "spec.subnet", "missing"] },
  { name: "ips wrong type", doc: poolDoc("p", v4({ ips: ["10.0.0.10", 5] })), says: ["spec.ips[1]", "expected string"] },
  { name: "ipVersion 5", doc: poolDoc("p", v4({ ipVersion: 5 })), says: ["spec.ipVersion", "4|6"] },
  { name: "bad selector operator", doc: poolDoc("p", v4({ nodeAffinity: { matchExpressions: [{ key: "k", operator: "Gt", values: ["1"] }] } })), says: ["spec.nodeAffinity.matchExpressions[0].operator"] },
  { name: "In without values", doc: poolDoc("p", v4({ podAffinity: { matchExpressions: [{ key: "k", operator: "In" }] } })), says: ["spec.podAffinity.matchExpressions[0].values", "at least one value"] },
  { name: "Exists with values", doc: poolDoc("p", v4({ podAffinity: { matchExpressions: [{ key: "k", operator: "Exists", values: ["v"] }] } })), says: ["spec.podAffinity.matchExpressions[0].values", "takes no values"] },
  { name: "unknown spec field", doc: poolDoc("p", v4({ ipsv4: ["10.0.0.1"] })), code: ErrorCode.UnsupportedField, says: ["pool p", "spec.ipsv4", "unknown field"] },
  { name: "unknown top-level field", doc: { ...poolDoc("p", v4()), sepc: {} }, code: ErrorCode.UnsupportedField, says: ["sepc", "unknown field"] },
  { name: "unknown route field", doc: poolDoc("p", v4({ routes: [{ dst: "10.9.0.0/16", gw: "10.0.0.1", via: "x" }] })), code: ErrorCode.UnsupportedField, says: ["spec.routes[0].via"] },
  { name: "vlan refused", doc: poolDoc("p", v4({ vlan: 100 })), code: ErrorCode.UnsupportedField, says: ["pool p", "spec.vlan", "removed upstream"] },
  { name: "subnet not a CIDR", doc: poolDoc("p", v4({ subnet: "10.0.0.0" })), says: ["spec.subnet", "not a CIDR"] },
  { name: "unformatted subnet", doc: poolDoc("p", v4({ subnet: "10.0.0.5/24" })), says: ["spec.subnet", "unformatted subnet 10.0.0.5/24, please change it to 10.0.0.0/24"] },
  {
    name: "unformatted IPv6 subnet",
    doc: poolDoc("p", { subnet: "2406:DA1E:c4:ed01:0::/64" }),
    says: ["unformatted subnet 2406:DA1E:c4:ed01:0::/64, please change it to 2406:da1e:c4:ed01::/64"],
  },
  { name: "ipVersion mismatch", doc: poolDoc("p", v4({ ipVersion: 6 })), says: ["spec.ipVersion", "ipVersion 6 does not match subnet 10.0.0.0/24 (IPv4)"] },
  { name: "ips entry unparsable", doc: poolDoc("p", v4({ ips: ["10.0.0.10", "10.0.0.11", "10.0.0.30 - 10.0.0.40"] })), says: ["spec.ips[2]", '"10.0.0.30 - 10.0.0.40" is not an IP'] },
  { name: "ips range reversed", doc: poolDoc("p", v4({ ips: ["10.0.0.40-10.0.0.30"] })), says: ["spec.ips[0]", "start <= end"] },
  { name: "ips outside subnet", doc: poolDoc("p", v4({ ips: ["10.0.0.250-10.0.1.5"] })), says: ["spec.ips[0]", "10.0.0.250-10.0.1.5 is not inside subnet 10.0.0.0/24"] },
  { name: "ips wrong family", doc: poolDoc("p", v4({ ips: ["::1"] })), says: ["spec.ips[0]", "::1 is IPv6 but subnet 10.0.0.0/24 is IPv4"] },
  { name: "excludeIPs outside subnet", doc: poolDoc("p", v4({ excludeIPs: ["10.0.0.15", "192.168.0.1"] })), says: ["spec.excludeIPs[1]", "not inside subnet"] },
  { name: "excludeIPs unparsable", doc: poolDoc("p", v4({ excludeIPs: ["10.0.0.x"] })), says: ["spec.excludeIPs[0]", "not an IP"] },
  { name: "gateway unparsable", doc: poolDoc("p", v4({ gateway: "10.0.0" })), says: ["spec.gateway", "not an IP address"] },
  { name: "gateway outside subnet", doc: poolDoc("p", v4({ gateway: "10.0.1.1" })), says: ["spec.gateway", "10.0.1.1 is not inside subnet 10.0.0.0/24"] },
  { name: "gateway among usable ips", doc: poolDoc("p", v4({ ips: ["10.0.0.30", "10.0.0.1-10.0.0.20"] })), says: ["spec.gateway", "inside spec.ips[1]", "excludeIPs"] },
  { name: "route dst default v4", doc: poolDoc("p", v4({ routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }] })), says: ["spec.routes[0].dst", "default route", "spec.gateway"] },
  {
    name: "route dst default v6",
    doc: poolDoc("p6", { subnet: "fd00::/64", routes: [{ dst: "fd01::/64", gw: "fd00::1" }, { dst: "::/0", gw: "fd00::1" }] }),
    says: ["pool p6", "spec.routes[1].dst", "default route"],
  },
  {
    name: "route dst duplicate",
    doc: poolDoc("p", v4({ routes: [{ dst: "10.9.0.0/16", gw: "10.0.0.1" }, { dst: "10.9.0.0/16", gw: "10.0.0.2" }] })),
    says: ["spec.routes[1].dst", "duplicate dst 10.9.0.0/16", "spec.routes[0]"],
  },
  { name: "route dst other family", doc: poolDoc("p", v4({ routes: [{ dst: "fd00::/64", gw: "10.0.0.1" }] })), says: ["spec.routes[0].dst", "IPv6", "pool is IPv4"] },
  { name: "route dst unformatted", doc: poolDoc("p", v4({ routes: [{ dst: "10.9.1.0/16", gw: "10.0.0.1" }] })), says: ["spec.routes[0].dst", "please change it to 10.9.0.0/16"] },
  { name: "route dst not a CIDR", doc: poolDoc("p", v4({ routes: [{ dst: "10.9.1.0", gw: "10.0.0.1" }] })), says: ["spec.routes[0].dst", "not a CIDR"] },
  { name: "route gw outside subnet", doc: poolDoc("p", v4({ routes: [{ dst: "10.9.0.0/16", gw: "10.0.5.1" }] })), says: ["spec.routes[0].gw", "not inside subnet"] },
  { name: "route gw unparsable", doc: poolDoc("p", v4({ routes: [{ dst: "10.9.0.0/16", gw: "gw" }] })), says: ["spec.routes[0].gw", "not an IP"] },
];

describe("buildPool: every rule refuses with a message naming file, pool and field", () => {
  it.each(bad)("$name", ({ doc, code, says }) => {
    const err = catchCni(() => buildPool(doc, SRC));
    expect(err.code).toBe(code ?? ErrorCode.InvalidConfig);
    expect(err.message.startsWith(`${SRC}: pool `)).toBe(true);
    for (const fragment of says) expect(err.message).toContain(fragment);
  });
});

describe("buildPools: rules between pools", () => {
  const entry = (source: string, name: string, spec: Record<string, unknown>) => ({ source, doc: poolDoc(name, spec) });

  it("accepts the seed pools plus a second pool on an identical subnet with other addresses", () => {
    const pools = buildPools([
      ...seedPools().map((p) => entry(p.source, p.name, { subnet: formatCidr(p.subnet), ips: p.usable.map(formatIPRange) })),
      entry("extra.yaml", "master-v4-b", { subnet: "172.31.16.0/20", ips: ["172.31.28.32-172.31.28.47"] }),
      entry("extra.yaml", "other-v6", { subnet: "fd00::/64" }),
    ]);
    expect(pools).toHaveLength(6);
  });

  it("allows the same subnet text in different families to coexist (no cross-family overlap)", () => {
    expect(buildPools([entry("a", "a", { subnet: "0.0.0.0/0" }), entry("b", "b", { subnet: "::/0" })])).toHaveLength(2);
  });

  it.each([
    {
      name: "duplicate names",
      docs: [entry("a.yaml", "dup", v4()), entry("b.yaml", "dup", { subnet: "10.1.0.0/24" })],
      says: ["b.yaml: pool dup: metadata.name", "duplicate pool name", "a.yaml"],
    },
    {
      name: "overlapping, non-identical subnets",
      docs: [entry("a.yaml", "wide", { subnet: "10.0.0.0/16" }), entry("b.yaml", "narrow", v4())],
      says: ["b.yaml: pool narrow: spec.subnet", "10.0.0.0/24 overlaps subnet 10.0.0.0/16 of pool wide (a.yaml)"],
    },
    {
      name: "identical subnets sharing an address",
      docs: [entry("a.yaml", "one", v4()), entry("b.yaml", "two", v4({ ips: ["10.0.0.30-10.0.0.40", "10.0.0.20-10.0.0.22"] }))],
      says: ["b.yaml: pool two: spec.ips", "10.0.0.20 is also a usable address of pool one (a.yaml)"],
    },
    {
      name: "a broken document among good ones",
      docs: [entry("a.yaml", "one", v4()), entry("b.yaml", "two", v4({ subnet: "10.1.0.1/24" }))],
      says: ["b.yaml: pool two: spec.subnet", "unformatted"],
    },
  ])("$name", ({ docs, says }) => {
    const err = catchCni(() => buildPools(docs));
    expect(err.code).toBe(ErrorCode.InvalidConfig);
    for (const fragment of says) expect(err.message).toContain(fragment);
  });

  it("identical subnets are fine when the shared address is excluded from one of them", () => {
    const pools = buildPools([entry("a", "one", v4()), entry("b", "two", v4({ ips: ["10.0.0.20-10.0.0.30"], excludeIPs: ["10.0.0.20"] }))]);
    expect(poolNamed(pools, "two").total).toBe(10n);
  });
});
