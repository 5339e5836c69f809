import { describe, expect, it } from "vitest";
import { buildPools, type Pool } from "../../lib/ipam/pool";
import { decodePools, encodePools } from "../../lib/ipam/pool-codec";
import { poolDoc, seedPools } from "../fixtures/pools/helpers";

/** Every optional field set, BigInts beyond 2^53 (v6), labels with awkward keys. */
function fullPools(): Pool[] {
  return buildPools([
    {
      source: "/etc/cni/pools/full.yaml",
      doc: poolDoc("full-v6", {
        subnet: "fd00:10::/64",
        ips: ["fd00:10::100-fd00:10::1ff", "fd00:10::ffff:0-fd00:10::ffff:ff"],
        excludeIPs: ["fd00:10::150"],
        gateway: "fd00:10::1",
        routes: [{ dst: "fd00:99::/64", gw: "fd00:10::2" }],
        default: true,
        disable: false,
        nodeName: ["master", "worker1"],
        namespaceName: ["kube-system"],
        multusName: ["kube-system/ipvlan-ens5"],
        nodeAffinity: { matchLabels: { "topology.kubernetes.io/zone": "ap-east-1a" } },
        namespaceAffinity: { matchExpressions: [{ key: "team", operator: "In", values: ["net"] }] },
        podAffinity: { matchExpressions: [{ key: "app", operator: "Exists" }] },
      }),
    },
    { source: "inline", doc: poolDoc("bare-v4", { subnet: "10.9.0.0/16", ips: ["10.9.0.10"] }) },
  ]);
}

describe("pool cache codec", () => {
  it("gives back exactly the pools it was given (every field, v4 and v6)", () => {
    const pools = fullPools();
    expect(pools[0]!.gateway).toBeDefined();
    expect(pools[0]!.nodeAffinity).toBeDefined();
    expect(pools[1]!.gateway).toBeUndefined();
    expect(decodePools(encodePools(pools))).toEqual(pools);
  });

  it("round-trips the seed pools", () => {
    const pools = seedPools();
    expect(decodePools(encodePools(pools))).toEqual(pools);
  });

  it("turns every address field back into a BigInt", () => {
    const [pool] = decodePools(encodePools(fullPools()));
    expect(typeof pool!.subnet.base).toBe("bigint");
    expect(typeof pool!.total).toBe("bigint");
    expect(typeof pool!.gateway!.value).toBe("bigint");
    for (const r of pool!.usable) expect([typeof r.start, typeof r.end]).toEqual(["bigint", "bigint"]);
  });

  it("keeps a label key named __proto__ as an own key", () => {
    const pools = fullPools();
    // JSON.parse: in an object literal, "__proto__" would set the prototype instead.
    pools[0]!.nodeAffinity!.matchLabels = JSON.parse('{"__proto__": "x", "zone": "a"}');
    const [pool] = decodePools(encodePools(pools));
    const labels = pool!.nodeAffinity!.matchLabels!;
    expect(Object.keys(labels)).toContain("__proto__");
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
  });
});
