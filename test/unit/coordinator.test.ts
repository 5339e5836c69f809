import { describe, expect, it } from "vitest";
import { CniError } from "../../lib/cni/errors";
import { DEFAULT_COORDINATOR, parseCoordinatorConfig } from "../../lib/coordinator/config";
import { hostVethName, planSideChannel, type SideChannelInput } from "../../lib/coordinator/plan";

const base: SideChannelInput = {
  podIPs: ["172.31.28.16", "2406:da1e:c4:ed01:c57d::"],
  nodeIPs: ["172.31.22.228", "2406:da1e:c4:ed01::10"],
  nodeGatewayV4: "172.31.22.228",
  serviceCIDR: ["10.96.0.0/12", "fd00:10:96::/108"],
  hijackCIDR: ["169.254.20.10/32"],
  hostVethLinkLocal: "fe80::1",
  podVethLinkLocal: "fe80::2",
  table: 500,
  priority: 1000,
};

describe("planSideChannel", () => {
  it("routes the node's addresses and the Service CIDRs through the veth, node addresses first", () => {
    const plan = planSideChannel(base);
    expect(plan.podRoutes).toEqual([
      { dst: "172.31.22.228/32", scope: "link", src: "172.31.28.16" },
      { dst: "2406:da1e:c4:ed01::10/128", gw: "fe80::1", src: "2406:da1e:c4:ed01:c57d::" },
      { dst: "10.96.0.0/12", gw: "172.31.22.228", src: "172.31.28.16" },
      { dst: "fd00:10:96::/108", gw: "fe80::1", src: "2406:da1e:c4:ed01:c57d::" },
      { dst: "169.254.20.10/32", gw: "172.31.22.228", src: "172.31.28.16" },
    ]);
    expect(plan.warnings).toEqual([]);
  });

  it("gives the node a route to each pod address in its table, with a rule", () => {
    const plan = planSideChannel(base);
    expect(plan.hostRoutes).toEqual([
      { dst: "172.31.28.16/32", scope: "link", table: 500 },
      { dst: "2406:da1e:c4:ed01:c57d::/128", gw: "fe80::2", table: 500 },
    ]);
    expect(plan.hostRules).toEqual([
      { family: 4, dst: "172.31.28.16/32", table: 500, priority: 1000 },
      { family: 6, dst: "2406:da1e:c4:ed01:c57d::/128", table: 500, priority: 1000 },
    ]);
  });

  it("plans only the families the pod has", () => {
    const plan = planSideChannel({ ...base, podIPs: ["172.31.28.16"], hostVethLinkLocal: undefined, podVethLinkLocal: undefined });
    expect(plan.podRoutes.every((r) => !r.dst.includes(":"))).toBe(true);
    expect(plan.hostRules).toHaveLength(1);
  });

  it("warns instead of guessing when an IPv4 Service CIDR has no node IPv4 to go through", () => {
    const plan = planSideChannel({ ...base, nodeIPs: ["2406:da1e:c4:ed01::10"], nodeGatewayV4: undefined });
    expect(plan.warnings).toEqual(["no node IPv4 address to route 10.96.0.0/12 through", "no node IPv4 address to route 169.254.20.10/32 through"]);
  });

  it("refuses IPv6 without the veth link-local addresses", () => {
    expect(() => planSideChannel({ ...base, hostVethLinkLocal: undefined })).toThrow(/hostVethLinkLocal/);
  });
});

describe("hostVethName", () => {
  it("is stable, at most 15 bytes, and differs between containers", () => {
    const hash = (s: string) => Buffer.from(s).toString("hex").padEnd(64, "0");
    const a = hostVethName("abc", hash);
    expect(a).toBe(hostVethName("abc", hash));
    expect(a.length).toBeLessThanOrEqual(15);
    expect(a).not.toBe(hostVethName("abd", hash));
  });
});

describe("parseCoordinatorConfig", () => {
  it("defaults to enabled with upstream's table 500", () => {
    expect(parseCoordinatorConfig(undefined)).toEqual(DEFAULT_COORDINATOR);
    expect(DEFAULT_COORDINATOR).toMatchObject({ enabled: true, hostRuleTable: 500, podVethName: "veth0" });
  });

  it("takes every documented key", () => {
    const cfg = parseCoordinatorConfig({
      enabled: false, podVethName: "side0", hostRuleTable: 600, hostRulePriority: 900, hostRPFilter: 2,
      serviceCIDR: ["10.96.0.0/12"], hijackCIDR: ["169.254.20.10/32"], stateDir: "/run/x", podDefaultRouteNIC: "net1", tunePodRoutes: false,
      detectIPConflict: true, conflictProbeMs: 500, detectGateway: true, gatewayTimeoutMs: 3000, podRPFilter: 0,
    });
    expect(cfg).toEqual({
      enabled: false, podVethName: "side0", hostRuleTable: 600, hostRulePriority: 900, hostRPFilter: 2, serviceCIDR: ["10.96.0.0/12"],
      hijackCIDR: ["169.254.20.10/32"], stateDir: "/run/x", podDefaultRouteNIC: "net1", tunePodRoutes: false,
      detectIPConflict: true, conflictProbeMs: 500, detectGateway: true, gatewayTimeoutMs: 3000, podRPFilter: 0,
    });
  });

  it.each([
    [{ hostRuleTable: 254 }, /hostRuleTable/],
    [{ hostRuleTable: 0 }, /hostRuleTable/],
    [{ hostRulePriority: 40000 }, /hostRulePriority/],
    [{ hostRPFilter: 3 }, /hostRPFilter/],
    [{ serviceCIDR: ["10.96.0.0"] }, /serviceCIDR/],
    [{ podVethName: "a/b" }, /podVethName/],
    [{ stateDir: "relative" }, /stateDir/],
    [{ enabled: "yes" }, /enabled/],
    [{ podDefaultRouteNIC: "" }, /podDefaultRouteNIC/],
    [{ tunePodRoutes: 1 }, /tunePodRoutes/],
  ])("refuses %j", (raw, msg) => {
    expect(() => parseCoordinatorConfig(raw)).toThrow(msg);
  });

  it("refuses unknown keys by name (code 2)", () => {
    try {
      parseCoordinatorConfig({ podMACPrefix: "0a:00" });
      expect.unreachable();
    } catch (e) {
      expect((e as CniError).code).toBe(2);
      expect((e as CniError).message).toContain("coordinator.podMACPrefix");
    }
  });
});
