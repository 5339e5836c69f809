import { describe, expect, it } from "vitest";
import { CniError } from "../../lib/cni/errors";
import { buildPool } from "../../lib/ipam/pool";
import { sharingReason } from "../../lib/ipam/shared";
import { parseStoreSettings } from "../../lib/ipam/store-config";
import { poolDoc } from "../fixtures/pools/helpers";

const pool = (spec: Record<string, unknown>) => buildPool(poolDoc("p", { subnet: "10.0.0.0/24", ips: ["10.0.0.10"], ...spec }), "test");

function codeOf(v: unknown): number | undefined {
  try {
    parseStoreSettings(v);
    return undefined;
  } catch (e) {
    return (e as CniError).code;
  }
}

describe("which pools are shared", () => {
  it("a pool is shared unless nodeName names exactly one node", () => {
    expect(sharingReason(pool({ nodeName: ["a"] }))).toBeUndefined();
    expect(sharingReason(pool({ nodeName: ["b"] }))).toBeUndefined(); // another node's own pool
    expect(sharingReason(pool({}))).toContain("no spec.nodeName");
    expect(sharingReason(pool({ nodeName: ["a", "b"] }))).toContain("names several nodes (a, b)");
    expect(sharingReason(pool({ nodeAffinity: { matchLabels: { zone: "x" } } }))).toContain("nodeAffinity");
  });
});

describe("ipam.store", () => {
  it("defaults to the local store refusing shared pools", () => {
    expect(parseStoreSettings(undefined)).toEqual({ type: "local", sharedPools: "refuse" });
    expect(parseStoreSettings({})).toEqual({ type: "local", sharedPools: "refuse" });
    expect(parseStoreSettings({ type: "local", sharedPools: "allow" })).toEqual({ type: "local", sharedPools: "allow" });
  });

  it("reads the etcd settings with their defaults", () => {
    expect(parseStoreSettings({ type: "etcd", endpoints: ["http://127.0.0.1:2379/", "https://10.0.0.5:2379"] })).toEqual({
      type: "etcd",
      endpoints: ["http://127.0.0.1:2379", "https://10.0.0.5:2379"],
      prefix: "/spiderpool",
      timeoutMs: 5000,
    });
    const tls = { caFile: "/etc/etcd/ca.crt", certFile: "/etc/etcd/c.crt", keyFile: "/etc/etcd/c.key" };
    expect(parseStoreSettings({ type: "etcd", endpoints: ["https://e:2379"], prefix: "/team-a/ipam", tls, timeoutMs: 800 })).toMatchObject({
      prefix: "/team-a/ipam",
      tls,
      timeoutMs: 800,
    });
  });

  it("refuses what it cannot use: code 7 for bad values, 2 for unknown keys", () => {
    for (const bad of [
      "etcd",
      { type: "zookeeper" },
      { sharedPools: true },
      { type: "etcd" },
      { type: "etcd", endpoints: [] },
      { type: "etcd", endpoints: ["127.0.0.1:2379"] },
      { type: "etcd", endpoints: ["http://e:2379/v3"] },
      { type: "etcd", endpoints: ["http://e:2379"], prefix: "spiderpool" },
      { type: "etcd", endpoints: ["http://e:2379"], prefix: "/spiderpool/" },
      { type: "etcd", endpoints: ["http://e:2379"], timeoutMs: 0 },
      { type: "etcd", endpoints: ["http://e:2379"], timeoutMs: 600_000 },
      { type: "etcd", endpoints: ["https://e:2379"], tls: { certFile: "/c.crt" } },
      { type: "etcd", endpoints: ["https://e:2379"], tls: { caFile: "ca.crt" } },
      { type: "etcd", endpoints: ["http://e:2379"], tls: { caFile: "/ca.crt" } },
    ]) {
      expect(codeOf(bad), JSON.stringify(bad)).toBe(7);
    }
    expect(codeOf({ type: "local", endpoints: ["http://e:2379"] })).toBe(2);
    expect(codeOf({ type: "etcd", endpoints: ["http://e:2379"], tls: { ca: "/x" } })).toBe(2);
  });
});
