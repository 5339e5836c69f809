import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../lib/cni/errors";
import { type Pool, buildPools } from "../../lib/ipam/pool";
import { type SelectionContext, compareSpecificity, multusNameMatches, selectPools } from "../../lib/ipam/select";
import { catchCni, poolDoc, seedPools } from "../fixtures/pools/helpers";

const seed = seedPools();
const ctx = (over: Partial<SelectionContext> = {}): SelectionContext => ({
  nodeName: "master",
  ifname: "eth0",
  network: "kube-system/ipvlan-ens5",
  cleanGateway: false,
  ...over,
});
const names = (pools: Pool[]) => pools.map((p) => p.name);

/** Non-default v4 pools in 10.x, one /24 each, with whatever filters a test needs. */
function extraPools(specs: Record<string, Record<string, unknown>>): Pool[] {
  let n = 0;
  return buildPools(
    Object.entries(specs).map(([name, spec]) => {
      n++;
      return { source: "extra.yaml", doc: poolDoc(name, { subnet: `10.${n}.0.0/24`, ips: [`10.${n}.0.10-10.${n}.0.20`], ...spec }) };
    }),
  );
}

describe("selectPools: priority", () => {
  it("4: pools with default: true, filtered by node name and multus name", () => {
    const sel = selectPools(seed, ctx());
    expect(sel.rule).toContain("spec.default: true");
    expect(names(sel.v4)).toEqual(["master-v4"]);
    expect(names(sel.v6)).toEqual(["master-v6"]);
    const worker = selectPools(seed, ctx({ nodeName: "worker1" }));
    expect(names(worker.v4)).toEqual(["worker1-v4"]);
    expect(names(worker.v6)).toEqual(["worker1-v6"]);
  });

  it("3: default_ipv4_ippool / default_ipv6_ippool beat default pools; an unnamed family is not requested", () => {
    const pools = [...seed, ...extraPools({ plain: {} })];
    const sel = selectPools(pools, ctx({ defaultV4: ["plain"] }));
    expect(sel.rule).toContain("default_ipv4_ippool");
    expect(names(sel.v4)).toEqual(["plain"]);
    expect(sel.v6).toEqual([]);
    expect(names(selectPools(pools, ctx({ defaultV6: ["master-v6"] })).v6)).toEqual(["master-v6"]);
    expect(selectPools(pools, ctx({ defaultV6: ["master-v6"] })).v4).toEqual([]);
  });

  it("2: the ippool annotation beats the CNI config defaults", () => {
    const pools = [...seed, ...extraPools({ plain: {}, other: {} })];
    const sel = selectPools(pools, ctx({ defaultV4: ["plain"], podIPPool: { ipv4: ["other"] } }));
    expect(sel.rule).toBe("pod annotation ipam.spidernet.io/ippool");
    expect(names(sel.v4)).toEqual(["other"]);
  });

  it("1: the ippools entry for this interface beats everything; entries for other interfaces are ignored", () => {
    const pools = [...seed, ...extraPools({ plain: {}, other: {}, third: {} })];
    const base = ctx({ defaultV4: ["plain"], podIPPool: { ipv4: ["other"] } });
    const sel = selectPools(pools, { ...base, podIPPools: [{ interface: "net1", ipv4: ["plain"] }, { interface: "eth0", ipv4: ["third"], ipv6: ["master-v6"] }] });
    expect(sel.rule).toBe("pod annotation ipam.spidernet.io/ippools (interface eth0)");
    expect(names(sel.v4)).toEqual(["third"]);
    expect(names(sel.v6)).toEqual(["master-v6"]);
    const other = selectPools(pools, { ...base, podIPPools: [{ interface: "net1", ipv4: ["third"] }] });
    expect(names(other.v4)).toEqual(["other"]);
  });

  it("a rule that names no pool at all falls through to the next", () => {
    const sel = selectPools(seed, ctx({ podIPPools: [{ interface: "eth0", ipv4: [], ipv6: [] }], podIPPool: {}, defaultV4: [] }));
    expect(sel.rule).toContain("spec.default: true");
  });

  it("nothing requested and no default pool: code 100", () => {
    const err = catchCni(() => selectPools(extraPools({ plain: {} }), ctx()));
    expect(err.code).toBe(ErrorCode.NoPoolMatches);
    expect(err.message).toContain("no IP pool requested for interface eth0");
  });
});

describe("selectPools: names and order", () => {
  const pools = extraPools({ "zeta-v4": {}, "alpha-v4": {}, "beta-v4": {}, "beta-x": {}, "gamma": {} });

  it("explicit names keep the listed order", () => {
    expect(names(selectPools(pools, ctx({ defaultV4: ["gamma", "alpha-v4", "zeta-v4"] })).v4)).toEqual(["gamma", "alpha-v4", "zeta-v4"]);
  });

  it("wildcards expand in name order, in place, without duplicates", () => {
    expect(names(selectPools(pools, ctx({ defaultV4: ["zeta-v4", "*-v4", "b?ta-[xy]"] })).v4)).toEqual(["zeta-v4", "alpha-v4", "beta-v4", "beta-x"]);
    expect(names(selectPools(pools, ctx({ podIPPool: { ipv4: ["*"] } })).v4)).toEqual(["alpha-v4", "beta-v4", "beta-x", "gamma", "zeta-v4"]);
  });

  it("missing names do not matter while another candidate remains", () => {
    expect(names(selectPools(pools, ctx({ defaultV4: ["nope", "gamma"] })).v4)).toEqual(["gamma"]);
  });

  it("missing names and empty patterns are listed when nothing remains", () => {
    const err = catchCni(() => selectPools(pools, ctx({ podName: "web-1", namespace: "prod", defaultV4: ["nope", "x*"] })));
    expect(err.code).toBe(ErrorCode.NoPoolMatches);
    expect(err.message).toContain("interface eth0 of pod prod/web-1 on node master");
    expect(err.message).toContain("no IPv4 pool matches");
    expect(err.message).toContain("default_ipv4_ippool");
    expect(err.message).toContain("pool nope does not exist");
    expect(err.message).toContain('no pool matches pattern "x*"');
  });

  it("default pools: more specific first (podAffinity > nodeName > nodeAffinity > namespaceName > namespaceAffinity > multusName), then by name", () => {
    const defaults = extraPools({
      "d-plain-b": { default: true },
      "d-plain-a": { default: true },
      "d-multus": { default: true, multusName: ["ipvlan-ens5"] },
      "d-nsaff": { default: true, namespaceAffinity: {} },
      "d-nsname": { default: true, namespaceName: ["prod"] },
      "d-nodeaff": { default: true, nodeAffinity: {} },
      "d-nodename-multus": { default: true, nodeName: ["master"], multusName: ["ipvlan-ens5"] },
      "d-nodename": { default: true, nodeName: ["master"] },
      "d-pod": { default: true, podAffinity: {} },
      "not-default": {},
    });
    const full = ctx({ namespace: "prod", nodeLabels: {}, namespaceLabels: {}, podLabels: {} });
    const want = ["d-pod", "d-nodename-multus", "d-nodename", "d-nodeaff", "d-nsname", "d-nsaff", "d-multus", "d-plain-a", "d-plain-b"];
    expect(names(selectPools(defaults, full).v4)).toEqual(want);
    // Same answer whatever order the pools were loaded in.
    expect(names(selectPools([...defaults].reverse(), full).v4)).toEqual(want);
    expect(names([...defaults].sort(compareSpecificity).filter((p) => p.isDefault))).toEqual(want);
  });
});

describe("selectPools: filters", () => {
  const refused = (pools: Pool[], over: Partial<SelectionContext>) => {
    const err = catchCni(() => selectPools(pools, ctx(over)));
    expect(err.code).toBe(ErrorCode.NoPoolMatches);
    return err.message;
  };

  it("node name: every candidate is listed with its reason", () => {
    const msg = refused(seed, { nodeName: "worker2" });
    expect(msg).toContain("pool master-v4: unmatched node name (pool allows [master], node is worker2)");
    expect(msg).toContain("pool worker1-v4: unmatched node name (pool allows [worker1], node is worker2)");
    expect(msg).toContain("no IPv4 pool");
  });

  it("disabled", () => {
    const pools = extraPools({ off: { disable: true } });
    expect(refused(pools, { defaultV4: ["off"] })).toContain("pool off: disabled");
  });

  it("family: a v6 pool named under ipv4", () => {
    expect(refused(seed, { podIPPool: { ipv4: ["master-v6"] } })).toContain("pool master-v6: is an IPv6 pool, requested under ipv4");
  });

  it("multus name: full compare when both sides have a namespace, else the name part", () => {
    expect(refused(seed, { network: "default/ipvlan-ens5" })).toContain(
      "pool master-v4: unmatched multus name (pool allows [kube-system/ipvlan-ens5], network is default/ipvlan-ens5)",
    );
    expect(names(selectPools(seed, ctx({ network: "ipvlan-ens5" })).v4)).toEqual(["master-v4"]);
    expect(refused(seed, { network: "macvlan-ens5" })).toContain("unmatched multus name");
    expect(multusNameMatches("ipvlan-ens5", "kube-system/ipvlan-ens5")).toBe(true);
    expect(multusNameMatches("kube-system/a", "kube-system/a")).toBe(true);
    expect(multusNameMatches("kube-system/a", "other/a")).toBe(false);
    expect(multusNameMatches("a", "b")).toBe(false);
  });

  it("nodeAffinity: matched against node labels", () => {
    const pools = extraPools({ zoned: { nodeAffinity: { matchLabels: { zone: "a" } } } });
    expect(names(selectPools(pools, ctx({ defaultV4: ["zoned"], nodeLabels: { zone: "a" } })).v4)).toEqual(["zoned"]);
    expect(refused(pools, { defaultV4: ["zoned"], nodeLabels: { zone: "b" } })).toContain("pool zoned: unmatched node affinity (zone=a) for node master");
  });

  it("nodeAffinity without node labels: code 2 naming the pool", () => {
    const pools = extraPools({ zoned: { nodeAffinity: { matchLabels: { zone: "a" } } } });
    const err = catchCni(() => selectPools(pools, ctx({ defaultV4: ["zoned"] })));
    expect(err.code).toBe(ErrorCode.UnsupportedField);
    expect(err.message).toContain("spec.nodeAffinity");
    expect(err.message).toContain("pool zoned (extra.yaml)");
  });

  it("nodeName overrides nodeAffinity (labels then not even needed)", () => {
    const pools = extraPools({ both: { nodeName: ["master"], nodeAffinity: { matchLabels: { zone: "nowhere" } } } });
    expect(names(selectPools(pools, ctx({ defaultV4: ["both"] })).v4)).toEqual(["both"]);
  });

  it("namespaceName: refused with a reason when the namespace is unknown", () => {
    const pools = extraPools({ prod: { namespaceName: ["prod", "stage"] } });
    expect(refused(pools, { defaultV4: ["prod"] })).toContain("pool prod: restricted to namespaces [prod, stage], but the pod's namespace is unknown");
    expect(refused(pools, { defaultV4: ["prod"], namespace: "dev" })).toContain("unmatched namespace name (pool allows [prod, stage], namespace is dev)");
    expect(names(selectPools(pools, ctx({ defaultV4: ["prod"], namespace: "stage" })).v4)).toEqual(["prod"]);
  });

  it("namespaceName overrides namespaceAffinity", () => {
    const pools = extraPools({ both: { namespaceName: ["prod"], namespaceAffinity: { matchLabels: { team: "x" } } } });
    expect(names(selectPools(pools, ctx({ defaultV4: ["both"], namespace: "prod" })).v4)).toEqual(["both"]);
  });

  it("namespaceAffinity: labels needed (code 2), then matched", () => {
    const pools = extraPools({ team: { namespaceAffinity: { matchExpressions: [{ key: "team", operator: "In", values: ["net"] }] } } });
    const err = catchCni(() => selectPools(pools, ctx({ defaultV4: ["team"], namespace: "prod" })));
    expect(err.code).toBe(ErrorCode.UnsupportedField);
    expect(err.message).toContain("spec.namespaceAffinity");
    expect(names(selectPools(pools, ctx({ defaultV4: ["team"], namespaceLabels: { team: "net" } })).v4)).toEqual(["team"]);
    expect(refused(pools, { defaultV4: ["team"], namespaceLabels: { team: "web" } })).toContain("pool team: unmatched namespace affinity (team in (net))");
  });

  it("podAffinity: labels needed (code 2), then matched", () => {
    const pools = extraPools({ app: { podAffinity: { matchLabels: { app: "db" } } } });
    const err = catchCni(() => selectPools(pools, ctx({ defaultV4: ["app"] })));
    expect(err.code).toBe(ErrorCode.UnsupportedField);
    expect(err.message).toContain("spec.podAffinity");
    expect(names(selectPools(pools, ctx({ defaultV4: ["app"], podLabels: { app: "db" } })).v4)).toEqual(["app"]);
    expect(refused(pools, { defaultV4: ["app"], podLabels: { app: "web" } })).toContain("pool app: unmatched pod affinity (app=db)");
  });

  it("a pool refused earlier never asks for labels", () => {
    const pools = extraPools({ off: { disable: true, podAffinity: { matchLabels: { app: "db" } } }, on: {} });
    expect(names(selectPools(pools, ctx({ defaultV4: ["off", "on"] })).v4)).toEqual(["on"]);
  });

  it("filtered candidates are dropped, survivors keep their order", () => {
    const pools = extraPools({ a: { nodeName: ["worker1"] }, b: {}, c: { disable: true }, d: {} });
    expect(names(selectPools(pools, ctx({ defaultV4: ["a", "b", "c", "d"] })).v4)).toEqual(["b", "d"]);
  });
});

describe("selectPools: cleangateway", () => {
  const pools = [...seed, ...extraPools({ plain: {} })];
  it.each<[string, Partial<SelectionContext>, boolean, boolean]>([
    ["ippools entry true overrides config false", { podIPPools: [{ interface: "eth0", ipv4: ["plain"], cleangateway: true }] }, false, true],
    ["ippool false overrides config true", { podIPPool: { ipv4: ["plain"], cleangateway: false } }, true, false],
    ["entry without cleangateway keeps config", { podIPPool: { ipv4: ["plain"] } }, true, true],
    ["config defaults use config", { defaultV4: ["plain"] }, true, true],
    ["default pools use config", {}, false, false],
  ])("%s", (_, over, config, want) => {
    expect(selectPools(pools, ctx({ ...over, cleanGateway: config })).cleanGateway).toBe(want);
  });
});

describe("selectPools: default pools and multusName", () => {
  const doc = (name: string, subnet: string, ips: string, multus: string[]) => ({
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderIPPool",
    metadata: { name },
    spec: { subnet, ips: [ips], default: true, multusName: multus },
  });
  const pools = buildPools([
    { source: "t", doc: doc("ens5-v4", "10.1.0.0/24", "10.1.0.10-10.1.0.20", ["kube-system/ipvlan-ens5"]) },
    { source: "t", doc: doc("ens5-v6", "fd01::/64", "fd01::10-fd01::20", ["kube-system/ipvlan-ens5"]) },
    { source: "t", doc: doc("ens6-v4", "10.2.0.0/24", "10.2.0.10-10.2.0.20", ["kube-system/ipvlan-ens6"]) },
  ]);
  const base = { nodeName: "n", ifname: "net1", cleanGateway: false };

  it("a family whose default pools all belong to other networks is not requested", () => {
    const sel = selectPools(pools, { ...base, network: "ipvlan-ens6" });
    expect(sel.v4.map((p) => p.name)).toEqual(["ens6-v4"]);
    expect(sel.v6).toEqual([]);
  });

  it("the primary network still gets both families", () => {
    const sel = selectPools(pools, { ...base, ifname: "eth0", network: "ipvlan-ens5" });
    expect([...sel.v4, ...sel.v6].map((p) => p.name)).toEqual(["ens5-v4", "ens5-v6"]);
  });

  it("a network no default pool serves fails naming every pool", () => {
    expect(() => selectPools(pools, { ...base, network: "other" })).toThrow(/ens5-v4.*ens6-v4.*ens5-v6/s);
  });
});
