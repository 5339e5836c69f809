// Pool validation grows as n log n in the entries of a pool and in the number
// of pools: huge pools validate, and the sweeps between pools find exactly the
// conflicts the pairwise definitions (kept here as the reference) find.
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../lib/cni/errors";
import { cidrEquals, cidrsOverlap, formatIP } from "../../lib/ip/address";
import { rangesOverlap } from "../../lib/ip/range";
import { type Pool, buildPool, buildPools } from "../../lib/ipam/pool";
import { catchCni, poolDoc } from "../fixtures/pools/helpers";
import { below, rng } from "./helpers/rng";

/** 10.0.0.2, 10.0.0.4, ...: `count` single addresses every second address from `first`. */
const everyOther = (count: number, first = 2) => Array.from({ length: count }, (_, i) => formatIP({ family: 4, value: 0x0a000000n + BigInt(first + 2 * i) }));

describe("huge pools", () => {
  it("validates 120,000 single-address ips entries with 60,000 of them excluded", () => {
    const ips = everyOther(120_000);
    const pool = buildPool(poolDoc("huge", { subnet: "10.0.0.0/8", gateway: "10.0.0.1", ips, excludeIPs: ips.filter((_, i) => i % 2 === 0) }), "huge.yaml");
    expect(pool.total).toBe(60_000n);
    expect(pool.usable).toHaveLength(60_000);
    expect(formatIP({ family: 4, value: pool.usable[0]!.start })).toBe("10.0.0.4");
  });

  it("checks two 40,000-entry pools on one subnet against each other", () => {
    const a = poolDoc("a", { subnet: "10.0.0.0/8", ips: everyOther(40_000, 2) });
    const b = poolDoc("b", { subnet: "10.0.0.0/8", ips: everyOther(40_000, 3) });
    expect(buildPools([{ source: "a.yaml", doc: a }, { source: "b.yaml", doc: b }])).toHaveLength(2);
    const c = poolDoc("c", { subnet: "10.0.0.0/8", ips: [...everyOther(40_000, 5), "10.1.0.0"] });
    const err = catchCni(() => buildPools([{ source: "a.yaml", doc: a }, { source: "c.yaml", doc: c }]));
    expect(err.code).toBe(ErrorCode.InvalidConfig);
    expect(err.message).toContain("c.yaml: pool c: spec.ips: 10.1.0.0 is also a usable address of pool a (a.yaml)");
  });

  it("checks 2,000 pools on distinct subnets, and finds the one overlapping pool among them", () => {
    const subnets = Array.from({ length: 2_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const docs = subnets.map((subnet, i) => ({ source: `p${i}.yaml`, doc: poolDoc(`p${i}`, { subnet }) }));
    expect(buildPools(docs)).toHaveLength(2_000);
    const err = catchCni(() => buildPools([...docs, { source: "wide.yaml", doc: poolDoc("wide", { subnet: "10.3.0.0/16" }) }]));
    expect(err.message).toContain("wide.yaml: pool wide: spec.subnet: subnet 10.3.0.0/16 overlaps subnet 10.3.0.0/24 of pool p768 (p768.yaml)");
  });
});

// ---- the reference: every pair of pools, as buildPools once did

function conflictReference(pools: Pool[]): string | undefined {
  for (let i = 0; i < pools.length; i++) {
    for (let j = i + 1; j < pools.length; j++) {
      const [a, b] = [pools[i]!, pools[j]!];
      if (a.family !== b.family || !cidrsOverlap(a.subnet, b.subnet)) continue;
      if (!cidrEquals(a.subnet, b.subnet)) return "subnet";
      if (a.usable.some((x) => b.usable.some((y) => rangesOverlap(x, y)))) return "address";
    }
  }
  return undefined;
}

/** Pools with random subnets of 10.0.0.0/24 (prefix 24 to 27, so they nest) and random addresses in them. */
function randomPoolDocs(next: () => number): { source: string; doc: unknown }[] {
  return Array.from({ length: 1 + below(next, 5) }, (_, i) => {
    const prefix = 24 + below(next, 4);
    const size = 2 ** (32 - prefix);
    const base = below(next, 256 / size) * size;
    const ips = Array.from({ length: below(next, 4) }, () => {
      const start = base + below(next, size);
      const end = Math.min(base + size - 1, start + below(next, 6));
      return start === end ? `10.0.0.${start}` : `10.0.0.${start}-10.0.0.${end}`;
    });
    return { source: `p${i}.yaml`, doc: poolDoc(`p${i}`, { subnet: `10.0.0.${base}/${prefix}`, ips }) };
  });
}

describe("conflicts between pools", () => {
  it("agree with the pairwise checks on 500 random sets of pools", () => {
    const next = rng(21);
    let conflicts = 0;
    for (let round = 0; round < 500; round++) {
      const docs = randomPoolDocs(next);
      const want = conflictReference(docs.map(({ source, doc }) => buildPool(doc, source)));
      let got: string | undefined;
      try {
        buildPools(docs);
      } catch (e) {
        got = (e as Error).message.includes(": spec.subnet: ") ? "subnet" : "address";
      }
      // Which conflict is named first may differ when there are several; whether there is one may not.
      expect(got === undefined, `round ${round}: ${JSON.stringify(docs.map((d) => (d.doc as { spec: unknown }).spec))}`).toBe(want === undefined);
      if (want) conflicts++;
    }
    // The random sets must exercise both outcomes.
    expect(conflicts).toBeGreaterThan(50);
    expect(conflicts).toBeLessThan(450);
  });
});
