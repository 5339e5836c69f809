import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../lib/cni/errors";
import { type IPAddr, formatIP, parseIP } from "../../lib/ip/address";
import { type Allocation, findFree, ordinalOf, planAllocation } from "../../lib/ipam/allocate";
import { type Pool, buildPool, buildPools } from "../../lib/ipam/pool";
import { type Selection, selectPools } from "../../lib/ipam/select";
import { catchCni, poolDoc, poolNamed, seedPools } from "../fixtures/pools/helpers";

const ip = (text: string): IPAddr => parseIP(text)!;
const seed = seedPools();
const masterV4 = poolNamed(seed, "master-v4");
const masterV6 = poolNamed(seed, "master-v6");
const sel = (v4: Pool[], v6: Pool[] = []): Selection => ({ rule: "test", v4, v6, cleanGateway: false });
const shown = (plan: Allocation[]) => plan.map((a) => `${a.pool.name} ${formatIP(a.ip)}`);

/** A store stand-in: pool name -> used addresses (canonical text). */
class Used {
  readonly byPool = new Map<string, Set<string>>();
  isUsed = (pool: Pool, text: string) => this.byPool.get(pool.name)?.has(text) ?? false;
  take(plan: Allocation[]) {
    for (const a of plan) {
      const set = this.byPool.get(a.pool.name) ?? new Set<string>();
      set.add(formatIP(a.ip));
      this.byPool.set(a.pool.name, set);
    }
  }
  mark(pool: string, ...texts: string[]) {
    this.take(texts.map((t) => ({ pool: { name: pool } as Pool, ip: ip(t) })));
  }
}

const ordered = buildPool(
  poolDoc("ordered", {
    subnet: "10.0.0.0/24",
    ips: ["10.0.0.50-10.0.0.52", "10.0.0.1-10.0.0.3"],
    excludeIPs: ["10.0.0.51", "10.0.0.1"],
    gateway: "10.0.0.1",
  }),
  "inline",
);

describe("ordinals", () => {
  it("count usable addresses in ips order", () => {
    // usable: .50 .52 .2 .3
    expect(["10.0.0.50", "10.0.0.52", "10.0.0.2", "10.0.0.3"].map((t) => ordinalOf(ordered, ip(t)))).toEqual([0n, 1n, 2n, 3n]);
    // and the first free address from an ordinal is the one at that ordinal
    expect([0n, 1n, 2n, 3n].map((o) => formatIP(findFree(ordered, () => false, o)!.ip))).toEqual(["10.0.0.50", "10.0.0.52", "10.0.0.2", "10.0.0.3"]);
  });

  it.each(["10.0.0.51", "10.0.0.1", "10.0.0.4", "::1"])("%s has no ordinal", (t) => {
    expect(ordinalOf(ordered, ip(t))).toBeUndefined();
  });

  it("no address past the pool's last ordinal", () => {
    expect(findFree(ordered, () => false, 4n)).toBeUndefined();
  });
});

describe("findFree", () => {
  it("gives isUsed canonical text and returns the first free at or after fromOrdinal", () => {
    const asked: string[] = [];
    const found = findFree(ordered, (t) => {
      asked.push(t);
      return t === "10.0.0.52" || t === "10.0.0.2";
    }, 1n);
    expect(asked).toEqual(["10.0.0.52", "10.0.0.2", "10.0.0.3"]);
    expect(found).toEqual({ ip: ip("10.0.0.3"), ordinal: 3n });
  });

  it("stops before toOrdinal", () => {
    expect(findFree(ordered, (t) => t !== "10.0.0.3", 0n, 3n)).toBeUndefined();
    expect(findFree(ordered, () => false, 2n, 3n)?.ordinal).toBe(2n);
  });

  it("walks a 2^48-address IPv6 range lazily", () => {
    const huge = buildPool(
      poolDoc("huge", {
        subnet: "2406:da1e:c4:ed01::/64",
        ips: ["2406:da1e:c4:ed01:c57d::-2406:da1e:c4:ed01:c57d:ffff:ffff:ffff"],
        excludeIPs: ["2406:da1e:c4:ed01:c57d::"],
        gateway: "2406:da1e:c4:ed01::1",
      }),
      "inline",
    );
    expect(huge.total).toBe((1n << 48n) - 1n);
    let calls = 0;
    const first = findFree(huge, (t) => {
      calls++;
      return t.endsWith("::1") || t.endsWith("::2");
    });
    expect(formatIP(first!.ip)).toBe("2406:da1e:c4:ed01:c57d::3");
    expect(calls).toBe(3);
    const last = findFree(huge, () => false, huge.total - 1n);
    expect(formatIP(last!.ip)).toBe("2406:da1e:c4:ed01:c57d:ffff:ffff:ffff");
    expect(ordinalOf(huge, last!.ip)).toBe(huge.total - 1n);
    expect(findFree(huge, () => false, huge.total)).toBeUndefined();
  });
});

describe("planAllocation: order and exhaustion", () => {
  it("first free in ips order, excludes and gateway skipped, then exhausted", () => {
    const used = new Used();
    const got: string[] = [];
    for (let i = 0; i < 4; i++) {
      const plan = planAllocation(sel([ordered]), used.isUsed);
      used.take(plan);
      got.push(...shown(plan));
    }
    expect(got).toEqual(["ordered 10.0.0.50", "ordered 10.0.0.52", "ordered 10.0.0.2", "ordered 10.0.0.3"]);
    const err = catchCni(() => planAllocation(sel([ordered]), used.isUsed));
    expect(err.code).toBe(ErrorCode.PoolExhausted);
  });

  it("a released address in the middle is reused first", () => {
    const used = new Used();
    used.mark("ordered", "10.0.0.50", "10.0.0.2", "10.0.0.3");
    expect(shown(planAllocation(sel([ordered]), used.isUsed))).toEqual(["ordered 10.0.0.52"]);
  });

  it("master-v4 of the seed is exhausted after 16 pods", () => {
    const s = selectPools(seed, { nodeName: "master", ifname: "eth0", network: "kube-system/ipvlan-ens5", cleanGateway: false });
    const used = new Used();
    const v4: string[] = [];
    for (let i = 0; i < 16; i++) {
      const plan = planAllocation(s, used.isUsed);
      expect(plan.map((a) => a.pool.name)).toEqual(["master-v4", "master-v6"]);
      used.take(plan);
      v4.push(formatIP(plan[0]!.ip));
    }
    expect(v4).toEqual(Array.from({ length: 16 }, (_, i) => `172.31.28.${16 + i}`));
    expect(used.byPool.get("master-v6")?.has("2406:da1e:c4:ed01:c57d::f")).toBe(true);
    const err = catchCni(() => planAllocation(s, used.isUsed));
    expect(err.code).toBe(ErrorCode.PoolExhausted);
    expect(err.message).toContain("all IP addresses used out in pools master-v4");
  });

  it("moves to the next candidate when the first is full, and names every pool when all are", () => {
    const [a, b, empty] = buildPools([
      { source: "x", doc: poolDoc("a", { subnet: "10.0.0.0/24", ips: ["10.0.0.1-10.0.0.2"] }) },
      { source: "x", doc: poolDoc("b", { subnet: "10.0.0.0/24", ips: ["10.0.0.3"] }) },
      { source: "x", doc: poolDoc("empty", { subnet: "10.0.1.0/24" }) },
    ]);
    const used = new Used();
    used.mark("a", "10.0.0.1", "10.0.0.2");
    expect(shown(planAllocation(sel([empty!, a!, b!]), used.isUsed))).toEqual(["b 10.0.0.3"]);
    used.mark("b", "10.0.0.3");
    const err = catchCni(() => planAllocation(sel([empty!, a!, b!]), used.isUsed));
    expect(err.message).toBe("all IP addresses used out in pools empty, a, b (IPv4)");
  });

  it("hint starts mid-pool and wraps around", () => {
    const used = new Used();
    expect(shown(planAllocation(sel([masterV4]), used.isUsed, { hint: () => 5n }))).toEqual(["master-v4 172.31.28.21"]);
    used.mark("master-v4", "172.31.28.30", "172.31.28.31");
    expect(shown(planAllocation(sel([masterV4]), used.isUsed, { hint: () => 14n }))).toEqual(["master-v4 172.31.28.16"]);
    expect(shown(planAllocation(sel([masterV4]), used.isUsed, { hint: () => 99n }))).toEqual(["master-v4 172.31.28.16"]);
  });
});

describe("planAllocation: dual stack", () => {
  it("gives v4 then v6", () => {
    expect(shown(planAllocation(sel([masterV4], [masterV6]), new Used().isUsed))).toEqual(["master-v4 172.31.28.16", "master-v6 2406:da1e:c4:ed01:c57d::"]);
  });

  it("both or neither: a full v6 pool fails the whole plan", () => {
    const used = new Used();
    for (let i = 0; i < 16; i++) used.mark("master-v6", `2406:da1e:c4:ed01:c57d::${i.toString(16)}`);
    let result: Allocation[] | undefined;
    const err = catchCni(() => {
      result = planAllocation(sel([masterV4], [masterV6]), used.isUsed);
    });
    expect(result).toBeUndefined();
    expect(err.code).toBe(ErrorCode.PoolExhausted);
    expect(err.message).toContain("master-v6 (IPv6)");
  });
});

describe("planAllocation: static requests", () => {
  const used = new Used();
  used.mark("master-v4", "172.31.28.20");

  it("a free usable address is given", () => {
    expect(shown(planAllocation(sel([masterV4]), used.isUsed, { requested: [ip("172.31.28.25")] }))).toEqual(["master-v4 172.31.28.25"]);
  });

  it("found in a later candidate", () => {
    const other = buildPool(poolDoc("other", { subnet: "10.9.0.0/24", ips: ["10.9.0.5"] }), "x");
    expect(shown(planAllocation(sel([masterV4, other]), used.isUsed, { requested: [ip("10.9.0.5")] }))).toEqual(["other 10.9.0.5"]);
  });

  it("static v4 with dynamic v6", () => {
    expect(shown(planAllocation(sel([masterV4], [masterV6]), used.isUsed, { requested: [ip("172.31.28.31")] }))).toEqual([
      "master-v4 172.31.28.31",
      "master-v6 2406:da1e:c4:ed01:c57d::",
    ]);
  });

  it.each([
    ["already allocated", [masterV4], [], ["172.31.28.20"], "requested IP 172.31.28.20 in pool master-v4 is already allocated"],
    ["inside the subnet but outside ips", [masterV4], [], ["172.31.16.50"], "172.31.16.50 is inside subnet 172.31.16.0/20 of pool master-v4 but not one of its usable addresses"],
    ["the gateway (in ips, excluded)", [ordered], [], ["10.0.0.1"], "10.0.0.1 is inside subnet 10.0.0.0/24 of pool ordered but not one of its usable addresses"],
    ["an excluded address", [ordered], [], ["10.0.0.51"], "not one of its usable addresses"],
    ["in no selected pool", [masterV4], [], ["10.1.1.1"], "requested IP 10.1.1.1 is not in any of the selected IPv4 pools master-v4"],
    ["family not selected", [masterV4], [], ["2406:da1e:c4:ed01:c57d::1"], "no IPv6 pool is selected"],
    ["two of one family", [masterV4], [], ["172.31.28.21", "172.31.28.22"], "two IPv4 addresses requested"],
    ["v6 bad while v4 fine", [masterV4], [masterV6], ["172.31.28.21", "2406:da1e:c4:ed01::99"], "2406:da1e:c4:ed01::99 is inside subnet 2406:da1e:c4:ed01::/64 of pool master-v6"],
  ] as const)("%s: code 102", (_, v4, v6, requested, says) => {
    const err = catchCni(() => planAllocation(sel([...v4], [...v6]), used.isUsed, { requested: requested.map(ip) }));
    expect(err.code).toBe(ErrorCode.RequestedIpUnavailable);
    expect(err.message).toContain(says);
  });
});
