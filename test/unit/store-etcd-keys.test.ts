import { describe, expect, it } from "vitest";
import { parseIP, type IPAddr } from "../../lib/ip/address";
import { etcdKeys, isKeySegment, poolDefinition, storedFingerprint } from "../../lib/store/etcd/keys";
import { nextInPage, scanSegments } from "../../lib/store/etcd/scan";
import { prefixEnd } from "../../lib/store/etcd/client";
import { buildPool } from "../../lib/ipam/pool";
import { poolDoc } from "../fixtures/pools/helpers";

const validatePool = (name: string, spec: Record<string, unknown>) => buildPool(poolDoc(name, spec), "test");

const ip = (text: string): IPAddr => parseIP(text)!;
const keys = etcdKeys("/spiderpool");

describe("etcd keys", () => {
  it("claim keys are fixed-width hex, so they sort as the addresses do", () => {
    expect(keys.claim(ip("10.250.0.10"))).toBe("/spiderpool/ips/v4/0afa000a");
    expect(keys.claim(ip("2406:da1e::1"))).toBe("/spiderpool/ips/v6/2406da1e000000000000000000000001");
    const addresses = ["10.0.0.9", "10.0.0.10", "9.255.255.255", "255.255.255.255", "0.0.0.0", "10.0.1.0"];
    const byKey = [...addresses].sort((a, b) => (keys.claim(ip(a)) < keys.claim(ip(b)) ? -1 : 1));
    const byValue = [...addresses].sort((a, b) => (ip(a).value < ip(b).value ? -1 : 1));
    expect(byKey).toEqual(byValue);
  });

  it("a claim range ends right after its last address, even at the top of the address space", () => {
    const last = ip("255.255.255.255");
    const end = keys.claimRangeEnd(last);
    expect(keys.claim(last) < end).toBe(true);
    expect(end < "/spiderpool/ips/v4/ffffffff0").toBe(true);
    expect(keys.claimRangeEnd(ip("10.0.0.9")) < keys.claim(ip("10.0.0.10"))).toBe(true);
  });

  it("reads the address back from a claim key and nothing from other keys", () => {
    for (const text of ["10.250.0.10", "0.0.0.0", "2406:da1e::1", "::"]) expect(keys.addressOfClaim(keys.claim(ip(text)))).toEqual(ip(text));
    for (const other of ["/spiderpool/ips/v4/0afa00", "/spiderpool/ips/v4/0afa000g", "/spiderpool/pools/x", "/other/ips/v4/0afa000a"]) {
      expect(keys.addressOfClaim(other)).toBeUndefined();
    }
  });

  it("prefixEnd is the first key after every key with the prefix", () => {
    expect(prefixEnd("/spiderpool/attachments/node-a/")).toBe("/spiderpool/attachments/node-a0");
    expect(prefixEnd("/p/ips/v4/")).toBe("/p/ips/v40");
  });

  it("node names that would break the key layout are refused", () => {
    expect(isKeySegment("ip-172-31-28-16.ap-east-1.compute.internal")).toBe(true);
    for (const bad of ["", "a/b", ".", "..", "a\nb", "x".repeat(254)]) expect(isKeySegment(bad)).toBe(false);
  });
});

describe("pool definitions", () => {
  const base = { subnet: "10.250.0.0/24", ips: ["10.250.0.10-10.250.0.20"], gateway: "10.250.0.1" };

  it("the same spec gives the same text on every node; subnet, ips, excludeIPs and gateway each change it", () => {
    const a = poolDefinition(validatePool("p", base));
    expect(poolDefinition(validatePool("p", base)).text).toBe(a.text);
    // Fields that do not change what is handed out do not change it.
    expect(poolDefinition(validatePool("p", { ...base, default: true, nodeName: ["x"] })).text).toBe(a.text);
    for (const changed of [
      { ...base, ips: ["10.250.0.10-10.250.0.21"] },
      { ...base, excludeIPs: ["10.250.0.15"] },
      { ...base, gateway: "10.250.0.254" },
      { ...base, subnet: "10.250.0.0/23" },
    ]) {
      expect(poolDefinition(validatePool("p", changed)).definition.fingerprint).not.toBe(a.definition.fingerprint);
    }
    expect(storedFingerprint(a.text)).toBe(a.definition.fingerprint);
    expect(storedFingerprint("garbage")).toBe("garbage");
  });
});

describe("scanning a pool for a free address", () => {
  const pool = validatePool("p", { subnet: "10.0.0.0/24", ips: ["10.0.0.50-10.0.0.52", "10.0.0.10-10.0.0.11", "10.0.0.100"] });
  const v = (text: string) => ip(text).value;
  const seg = (from: string, to: string) => ({ from: v(from), to: v(to) });

  it("covers every usable address once, in ips order from the start ordinal, wrapping around", () => {
    expect(scanSegments(pool, 0n)).toEqual([seg("10.0.0.50", "10.0.0.52"), seg("10.0.0.10", "10.0.0.11"), seg("10.0.0.100", "10.0.0.100")]);
    expect(scanSegments(pool, 1n)).toEqual([
      seg("10.0.0.51", "10.0.0.52"),
      seg("10.0.0.10", "10.0.0.11"),
      seg("10.0.0.100", "10.0.0.100"),
      seg("10.0.0.50", "10.0.0.50"),
    ]);
    expect(scanSegments(pool, 4n)).toEqual([seg("10.0.0.11", "10.0.0.11"), seg("10.0.0.100", "10.0.0.100"), seg("10.0.0.50", "10.0.0.52"), seg("10.0.0.10", "10.0.0.10")]);
    for (let start = 0n; start < pool.total; start++) {
      const values = scanSegments(pool, start).flatMap((s) => Array.from({ length: Number(s.to - s.from + 1n) }, (_, i) => s.from + BigInt(i)));
      expect(values.length).toBe(Number(pool.total));
      expect(new Set(values).size).toBe(values.length);
    }
    expect(scanSegments(pool, 99n)).toEqual(scanSegments(pool, 0n)); // out of range: from the start
  });

  it("a page shows the first gap, or where the walk goes on, or that the segment is used up", () => {
    expect(nextInPage(10n, 20n, [], true)).toEqual({ free: 10n });
    expect(nextInPage(10n, 20n, [10n, 11n, 13n], false)).toEqual({ free: 12n });
    expect(nextInPage(10n, 20n, [10n, 11n, 12n], false)).toEqual({ next: 13n });
    expect(nextInPage(10n, 20n, [10n, 11n, 12n], true)).toEqual({ free: 13n });
    expect(nextInPage(18n, 20n, [18n, 19n, 20n], true)).toBeUndefined();
    expect(nextInPage(18n, 20n, [18n, 19n, 20n], false)).toBeUndefined();
  });
});
