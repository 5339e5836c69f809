import { describe, expect, it } from "vitest";
import { CniError, ErrorCode } from "../../lib/cni/errors";
import { convertResult, parseResult } from "../../lib/cni/result";
import type { CniResult } from "../../lib/cni/types";
import { VERSIONS, type SpecVersion } from "./helpers/cni";

function cniErrorOf(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return e as CniError;
  }
  throw new Error("expected a CniError, nothing was thrown");
}

const isLegacy = (v: SpecVersion) => v === "0.3.0" || v === "0.3.1" || v === "0.4.0";
const is11 = (v: SpecVersion) => v === "1.1.0";

// ---- Hand-written result fragments in each spec version's shape ----------

const IFACES_BASE = [
  { name: "eth0", mac: "0a:58:0a:00:00:05", sandbox: "/var/run/netns/cni-test" },
  { name: "ipvl-host", mac: "0a:58:0a:00:00:06" },
];
const IFACES_11 = [
  { name: "eth0", mac: "0a:58:0a:00:00:05", mtu: 9001, sandbox: "/var/run/netns/cni-test", socketPath: "/run/vhost-user/eth0.sock", pciID: "0000:00:1f.6" },
  { name: "ipvl-host", mac: "0a:58:0a:00:00:06", mtu: 1500 },
];
const IPS_MODERN = [
  { address: "10.0.0.5/24", gateway: "10.0.0.1", interface: 0 },
  { address: "fd00::5/64", gateway: "fd00::1", interface: 0 },
  { address: "192.168.1.9/32", interface: 1 },
  { address: "::ffff:10.9.9.9/128", interface: 1 },
];
const IPS_LEGACY = [
  { version: "4", address: "10.0.0.5/24", gateway: "10.0.0.1", interface: 0 },
  { version: "6", address: "fd00::5/64", gateway: "fd00::1", interface: 0 },
  { version: "4", address: "192.168.1.9/32", interface: 1 },
  { version: "6", address: "::ffff:10.9.9.9/128", interface: 1 },
];
const ROUTES_BASE = [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }, { dst: "::/0", gw: "fd00::1" }, { dst: "10.1.0.0/16" }];
const ROUTES_11 = [
  { dst: "0.0.0.0/0", gw: "10.0.0.1", mtu: 1500, advmss: 1460, priority: 100, table: 100, scope: 0 },
  { dst: "::/0", gw: "fd00::1", priority: 1024 },
  { dst: "10.1.0.0/16", scope: 253, table: 0 },
];
const DNS = {
  nameservers: ["10.0.0.2", "fd00::2"],
  domain: "cluster.local",
  search: ["default.svc.cluster.local", "svc.cluster.local"],
  options: ["ndots:5", "timeout:1"],
};

/** A full main-plugin result as a runtime would hand it back in prevResult for version v. */
function fullResultIn(v: SpecVersion) {
  return {
    cniVersion: v,
    interfaces: is11(v) ? IFACES_11 : IFACES_BASE,
    ips: isLegacy(v) ? IPS_LEGACY : IPS_MODERN,
    routes: is11(v) ? ROUTES_11 : ROUTES_BASE,
    dns: DNS,
  };
}

/** What converting a result that came in as `from` must produce for `to`. */
function expectedFull(from: SpecVersion, to: SpecVersion) {
  const keep11 = is11(from) && is11(to);
  return {
    cniVersion: to,
    interfaces: keep11 ? IFACES_11 : IFACES_BASE,
    ips: isLegacy(to) ? IPS_LEGACY : IPS_MODERN,
    routes: keep11 ? ROUTES_11 : ROUTES_BASE,
    dns: DNS,
  };
}

// An IPAM result: no interfaces, no ips[].interface.
const IPAM_IPS_MODERN = [{ address: "172.31.28.20/20", gateway: "172.31.16.1" }, { address: "2406:da1e:c4:ed01::20/64" }];
const IPAM_IPS_LEGACY = [
  { version: "4", address: "172.31.28.20/20", gateway: "172.31.16.1" },
  { version: "6", address: "2406:da1e:c4:ed01::20/64" },
];
const IPAM_ROUTES = [{ dst: "0.0.0.0/0", gw: "172.31.16.1" }];

function ipamResultIn(v: SpecVersion) {
  return { cniVersion: v, ips: isLegacy(v) ? IPAM_IPS_LEGACY : IPAM_IPS_MODERN, routes: IPAM_ROUTES };
}

const PAIRS: [SpecVersion, SpecVersion][] = VERSIONS.flatMap((from) => VERSIONS.map((to): [SpecVersion, SpecVersion] => [from, to]));

describe("parseResult then convertResult: every (from, to) pair", () => {
  it("covers all 25 pairs", () => {
    expect(PAIRS).toHaveLength(25);
  });

  it.each(PAIRS)("full result %s -> %s", (from, to) => {
    const raw = structuredClone(fullResultIn(from));
    const internal = parseResult(raw, from);
    expect(internal.cniVersion).toBe(from);
    const out = convertResult(internal, to);
    expect(out).toStrictEqual(expectedFull(from, to));
    // What goes on the wire is the same object.
    expect(JSON.parse(JSON.stringify(out))).toStrictEqual(expectedFull(from, to));
    // The input was not modified.
    expect(raw).toStrictEqual(fullResultIn(from));
  });

  it.each(PAIRS)("IPAM result (no interfaces) %s -> %s", (from, to) => {
    const out = convertResult(parseResult(structuredClone(ipamResultIn(from)), from), to);
    expect(out).toStrictEqual({ cniVersion: to, ips: isLegacy(to) ? IPAM_IPS_LEGACY : IPAM_IPS_MODERN, routes: IPAM_ROUTES });
    expect(out).not.toHaveProperty("interfaces");
    expect(out).not.toHaveProperty("dns");
  });

  it.each(PAIRS)("empty result %s -> %s", (from, to) => {
    expect(convertResult(parseResult({ cniVersion: from }, from), to)).toStrictEqual({ cniVersion: to });
  });
});

describe("parseResult: the internal shape", () => {
  it.each(VERSIONS.map((v) => [v]))("%s prevResult reads into the 1.1.0 shape without ips[].version", (v) => {
    const internal = parseResult(structuredClone(fullResultIn(v)), v);
    expect(internal).toStrictEqual({
      cniVersion: v,
      interfaces: is11(v) ? IFACES_11 : IFACES_BASE,
      ips: IPS_MODERN,
      routes: is11(v) ? ROUTES_11 : ROUTES_BASE,
      dns: DNS,
    });
  });

  it("uses the declared version when prevResult has no cniVersion", () => {
    const { cniVersion: _drop, ...raw } = fullResultIn("0.4.0");
    expect(parseResult(raw, "0.4.0").cniVersion).toBe("0.4.0");
    expect(parseResult({ ips: IPAM_IPS_MODERN }, "1.0.0")).toStrictEqual({ cniVersion: "1.0.0", ips: IPAM_IPS_MODERN });
  });

  it("prefers prevResult's own cniVersion over the declared one", () => {
    expect(parseResult({ cniVersion: "0.3.1" }, "1.1.0").cniVersion).toBe("0.3.1");
  });

  it("ignores unknown keys at every level", () => {
    const internal = parseResult(
      {
        cniVersion: "1.1.0",
        futureField: { a: 1 },
        interfaces: [{ name: "eth0", sandbox: "/n", vendorThing: true }],
        ips: [{ address: "10.0.0.5/24", interface: 0, extra: "x" }],
        routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1", weight: 7 }],
      },
      "1.1.0",
    );
    expect(internal).toStrictEqual({
      cniVersion: "1.1.0",
      interfaces: [{ name: "eth0", sandbox: "/n" }],
      ips: [{ address: "10.0.0.5/24", interface: 0 }],
      routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }],
    });
  });

  it("treats null lists and dns as absent", () => {
    expect(parseResult({ cniVersion: "1.0.0", interfaces: null, ips: null, routes: null, dns: null }, "1.0.0")).toStrictEqual({
      cniVersion: "1.0.0",
    });
  });

  it("keeps interface index 0 (a falsy value)", () => {
    expect(parseResult({ ips: [{ address: "10.0.0.5/24", interface: 0 }] }, "1.0.0").ips).toEqual([{ address: "10.0.0.5/24", interface: 0 }]);
  });

  it.each([
    ["not an object", "a string", ErrorCode.DecodeFailure],
    ["null", null, ErrorCode.DecodeFailure],
    ["array", [], ErrorCode.DecodeFailure],
    ["interfaces not a list", { interfaces: {} }, ErrorCode.DecodeFailure],
    ["interface not an object", { interfaces: ["eth0"] }, ErrorCode.DecodeFailure],
    ["interface without name", { interfaces: [{ mac: "0a:00:00:00:00:01" }] }, ErrorCode.DecodeFailure],
    ["interface name not a string", { interfaces: [{ name: 1 }] }, ErrorCode.DecodeFailure],
    ["ips not a list", { ips: "10.0.0.5/24" }, ErrorCode.DecodeFailure],
    ["ip without address", { ips: [{ gateway: "10.0.0.1" }] }, ErrorCode.DecodeFailure],
    ["ip address not a string", { ips: [{ address: 5 }] }, ErrorCode.DecodeFailure],
    ["routes not a list", { routes: { dst: "0.0.0.0/0" } }, ErrorCode.DecodeFailure],
    ["route without dst", { routes: [{ gw: "10.0.0.1" }] }, ErrorCode.DecodeFailure],
    ["dns not an object", { dns: ["10.0.0.2"] }, ErrorCode.DecodeFailure],
    ["unsupported prevResult version", { cniVersion: "0.2.0" }, ErrorCode.IncompatibleVersion],
    ["future prevResult version", { cniVersion: "2.0.0" }, ErrorCode.IncompatibleVersion],
  ])("%s -> code %i", (_label, raw, code) => {
    expect(cniErrorOf(() => parseResult(raw, "1.0.0")).code).toBe(code);
  });

  it("an unsupported declared version with no cniVersion in prevResult is code 1", () => {
    expect(cniErrorOf(() => parseResult({}, "0.2.0")).code).toBe(ErrorCode.IncompatibleVersion);
  });
});

describe("convertResult from a plugin's internal result", () => {
  const internal: CniResult = {
    cniVersion: "1.1.0",
    interfaces: IFACES_11,
    ips: IPS_MODERN,
    routes: ROUTES_11,
    dns: DNS,
  };

  it.each(VERSIONS.map((v) => [v]))("to %s", (to) => {
    expect(convertResult(structuredClone(internal), to)).toStrictEqual(expectedFull("1.1.0", to));
  });

  it.each(VERSIONS.map((v) => [v]))("to %s: 1.1-only fields present exactly at 1.1.0", (to) => {
    const out = convertResult(internal, to) as { interfaces: Record<string, unknown>[]; routes: Record<string, unknown>[] };
    const iface = out.interfaces[0]!;
    const route = out.routes[0]!;
    for (const k of ["mtu", "socketPath", "pciID"]) expect(k in iface).toBe(is11(to));
    for (const k of ["mtu", "advmss", "priority", "table", "scope"]) expect(k in route).toBe(is11(to));
    expect(iface.name).toBe("eth0");
    expect(route.dst).toBe("0.0.0.0/0");
  });

  it.each(VERSIONS.map((v) => [v]))("to %s: ips[].version present exactly below 1.0.0, from the address family", (to) => {
    const out = convertResult(internal, to) as { ips: Record<string, unknown>[] };
    const versions = out.ips.map((ip) => ip.version);
    expect(versions).toEqual(isLegacy(to) ? ["4", "6", "4", "6"] : [undefined, undefined, undefined, undefined]);
    for (const ip of out.ips) expect("version" in ip).toBe(isLegacy(to));
  });

  it("does not invent gateway, interface, mac, sandbox or gw when absent", () => {
    const out = convertResult(
      { cniVersion: "1.1.0", interfaces: [{ name: "eth0" }], ips: [{ address: "10.0.0.5/24" }], routes: [{ dst: "0.0.0.0/0" }] },
      "0.3.1",
    );
    expect(out).toStrictEqual({
      cniVersion: "0.3.1",
      interfaces: [{ name: "eth0" }],
      ips: [{ version: "4", address: "10.0.0.5/24" }],
      routes: [{ dst: "0.0.0.0/0" }],
    });
  });

  it("recomputes ips[].version from the address, not from what a legacy prevResult claimed", () => {
    const out = convertResult(parseResult({ cniVersion: "0.3.1", ips: [{ version: "6", address: "10.0.0.5/24" }] }, "0.3.1"), "0.4.0");
    expect(out).toStrictEqual({ cniVersion: "0.4.0", ips: [{ version: "4", address: "10.0.0.5/24" }] });
  });

  it("keeps the dns block exactly, and omits an empty one", () => {
    expect(convertResult({ cniVersion: "1.1.0", dns: DNS }, "0.3.0")).toStrictEqual({ cniVersion: "0.3.0", dns: DNS });
    expect(convertResult({ cniVersion: "1.1.0", dns: { nameservers: ["10.0.0.2"] } }, "1.0.0")).toStrictEqual({
      cniVersion: "1.0.0",
      dns: { nameservers: ["10.0.0.2"] },
    });
    expect(convertResult({ cniVersion: "1.1.0", dns: {} }, "1.1.0")).toStrictEqual({ cniVersion: "1.1.0" });
  });

  it("keeps empty lists as empty lists", () => {
    expect(convertResult({ cniVersion: "1.1.0", interfaces: [], ips: [], routes: [] }, "0.4.0")).toStrictEqual({
      cniVersion: "0.4.0",
      interfaces: [],
      ips: [],
      routes: [],
    });
  });

  it("stamps the target version regardless of the result's own", () => {
    expect(convertResult({ cniVersion: "0.3.0" }, "1.1.0").cniVersion).toBe("1.1.0");
  });

  it.each(["0.2.0", "2.0.0", "", "1.0"])("converting to unsupported %j is code 1", (to) => {
    expect(cniErrorOf(() => convertResult(internal, to)).code).toBe(ErrorCode.IncompatibleVersion);
  });
});
