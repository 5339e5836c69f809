// SpiderMultusConfig spec.coordinator -> ipvlan-attach's coordinator block:
// what maps, how mode and enableCoordinator combine, what is refused by name.
import { describe, expect, it } from "vitest";
import { CniError, ErrorCode } from "../../lib/cni/errors";
import { parseIpvlanConfig } from "../../lib/ipvlan/config";
import { toNetworkAttachmentDefinition } from "../../lib/multus/spidermultus";

const SRC = "smc.yaml";
const WHERE = `${SRC}: SpiderMultusConfig kube-system/ipvlan-ens5`;

function smc(coordinator: unknown, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderMultusConfig",
    metadata: { name: "ipvlan-ens5", namespace: "kube-system" },
    spec: { cniType: "ipvlan", ipvlan: { master: ["ens5"] }, ...(coordinator === undefined ? {} : { coordinator }), ...spec },
  };
}

// The plugin's own configuration as ipvlan-attach receives it (libcni adds cniVersion and name).
const pluginOf = (doc: unknown): Record<string, unknown> => {
  const config = JSON.parse(toNetworkAttachmentDefinition({ source: SRC, doc }).spec.config) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  return { ...config.plugins[0]!, cniVersion: config.cniVersion, name: config.name };
};
const blockOf = (coordinator: unknown, spec: Record<string, unknown> = {}) => pluginOf(smc(coordinator, spec)).coordinator;

function refusal(doc: unknown): CniError {
  try {
    toNetworkAttachmentDefinition({ source: SRC, doc });
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error("expected the conversion to be refused");
}

describe("fields mapped to ipvlan-attach's coordinator keys", () => {
  it.each([
    [{ detectIPConflict: true }, { detectIPConflict: true }],
    [{ detectIPConflict: false }, { detectIPConflict: false }],
    [{ detectGateway: true }, { detectGateway: true }],
    [{ podRPFilter: 0 }, { podRPFilter: 0 }],
    [{ podRPFilter: 2 }, { podRPFilter: 2 }],
    [{ hostRPFilter: 1 }, { hostRPFilter: 1 }],
    [{ hostRuleTable: 600 }, { hostRuleTable: 600 }],
    [{ tunePodRoutes: false }, { tunePodRoutes: false }],
    [{ podDefaultRouteNIC: "net1" }, { podDefaultRouteNIC: "net1" }],
    [{ hijackCIDR: ["169.254.0.0/16", "fd00:10::/64"] }, { hijackCIDR: ["169.254.0.0/16", "fd00:10::/64"] }],
  ])("%j -> %j", (coordinator, block) => {
    expect(blockOf(coordinator)).toEqual(block);
  });

  it("a plain address in hijackCIDR is a host prefix, as upstream's webhook takes it", () => {
    expect(blockOf({ hijackCIDR: ["169.254.20.10", "fd00::a"] })).toEqual({ hijackCIDR: ["169.254.20.10/32", "fd00::a/128"] });
  });

  it("values that mean what ipvlan-attach does anyway add no key", () => {
    // podCIDRType none: no pod CIDR routes; podRPFilter negative: leave the pod's rp_filter alone;
    // "" podDefaultRouteNIC: eth0 keeps the default route; "", 0 and []: the feature is off.
    const nothing = { podCIDRType: "none", podRPFilter: -1, podDefaultRouteNIC: "", podMACPrefix: "", txQueueLen: 0, vethLinkAddress: "", hijackCIDR: [] };
    expect(blockOf(nothing)).toBeUndefined();
    expect(blockOf({})).toBeUndefined();
  });

  it("an object exported from a cluster, with upstream's defaults filled in, converts", () => {
    const exported = { mode: "auto", hijackCIDR: [], detectGateway: false, detectIPConflict: false, podMACPrefix: "", podDefaultRouteNIC: "", tunePodRoutes: true };
    expect(blockOf(exported, { enableCoordinator: true })).toEqual({ enabled: true, tunePodRoutes: true, detectIPConflict: false, detectGateway: false });
  });

  it("keeps one key order: enabled, then the side channel's, route tuning, detection, the pod's rp_filter", () => {
    const all = { podRPFilter: 1, detectGateway: true, detectIPConflict: true, tunePodRoutes: true, podDefaultRouteNIC: "eth0", hostRPFilter: 0, hostRuleTable: 500, hijackCIDR: ["10.0.0.0/8"], mode: "underlay" };
    expect(Object.keys(blockOf(all) as object)).toEqual(["enabled", "hijackCIDR", "hostRuleTable", "hostRPFilter", "podDefaultRouteNIC", "tunePodRoutes", "detectIPConflict", "detectGateway", "podRPFilter"]);
  });
});

describe("mode and enableCoordinator (upstream: enableCoordinator false leaves the coordinator out, mode disabled makes it do nothing)", () => {
  it.each([
    [undefined, "underlay", true],
    [undefined, "auto", true],
    [undefined, "disabled", false],
    [true, "underlay", true],
    [true, "auto", true],
    [true, "disabled", false],
    [false, "underlay", false],
    [false, "auto", false],
    [false, undefined, false],
    [true, undefined, true],
  ])("enableCoordinator %s, mode %s: enabled %s", (enableCoordinator, mode, enabled) => {
    const spec = enableCoordinator === undefined ? {} : { enableCoordinator };
    expect(blockOf(mode === undefined ? {} : { mode }, spec)).toEqual({ enabled });
  });

  it("without mode or enableCoordinator, enabled is left to ipvlan-attach (on)", () => {
    expect(blockOf({ detectGateway: true })).toEqual({ detectGateway: true });
  });

  it("with the coordinator off, what works without the side channel is still carried (detection, route tuning, the pod's rp_filter)", () => {
    expect(blockOf({ mode: "disabled", detectIPConflict: true, detectGateway: true, tunePodRoutes: false, podRPFilter: 0 })).toEqual({
      enabled: false,
      tunePodRoutes: false,
      detectIPConflict: true,
      detectGateway: true,
      podRPFilter: 0,
    });
  });

  it.each([
    [{ hostRuleTable: 600 }, { enableCoordinator: false }, "spec.coordinator.hostRuleTable: has no effect with spec.enableCoordinator: false"],
    [{ hostRPFilter: 1, mode: "disabled" }, {}, 'spec.coordinator.hostRPFilter: has no effect with spec.coordinator.mode: "disabled"'],
    [{ hijackCIDR: ["169.254.20.10/32"] }, { enableCoordinator: false }, "spec.coordinator.hijackCIDR: has no effect with spec.enableCoordinator: false"],
  ])("a side-channel setting with the coordinator off is refused (code 7): %j %j", (coordinator, spec, text) => {
    const err = refusal(smc(coordinator, spec));
    expect(err.code).toBe(ErrorCode.InvalidConfig);
    expect(err.message).toContain(`${WHERE}: ${text}`);
  });
});

describe("refused by name, with the reason", () => {
  it.each([
    [{ mode: "overlay" }, 'spec.coordinator.mode: unsupported: "overlay": overlay mode'],
    [{ podCIDRType: "cluster" }, 'spec.coordinator.podCIDRType: unsupported: "cluster" routes the cluster\'s pod CIDRs through the node'],
    [{ podCIDRType: "auto" }, 'spec.coordinator.podCIDRType: unsupported: "auto"'],
    [{ podCIDRType: "calico" }, "from calico's IP pools"],
    [{ podCIDRType: "cilium" }, 'use "none" (what ipvlan-attach does) and list the pod CIDRs in hijackCIDR'],
    [{ podMACPrefix: "0a:1b" }, 'spec.coordinator.podMACPrefix: unsupported: "0a:1b": an ipvlan slave keeps its master\'s MAC address'],
    [{ txQueueLen: 1000 }, "spec.coordinator.txQueueLen: unsupported: 1000: ipvlan-attach does not set the pod interface's tx queue length"],
    [{ vethLinkAddress: "169.254.100.1" }, 'spec.coordinator.vethLinkAddress: unsupported: "169.254.100.1": ipvlan-attach gives the pod\'s veth no IPv4 address'],
    [{ detectOptions: { retries: 3 } }, "spec.coordinator.detectOptions: unknown field"],
  ])("%j (code 2)", (coordinator, text) => {
    const err = refusal(smc(coordinator));
    expect(err.code).toBe(ErrorCode.UnsupportedField);
    expect(err.message).toContain(WHERE);
    expect(err.message).toContain(text);
  });

  it.each([
    [{ hostRuleTable: 254 }, "spec.coordinator.hostRuleTable: must be a routing table number other than 0 and 253-255, got 254"],
    [{ hostRuleTable: 0 }, "spec.coordinator.hostRuleTable: must be a routing table number"],
    [{ hostRPFilter: 3 }, "spec.coordinator.hostRPFilter: must be an integer from 0 to 2, got 3"],
    [{ hostRPFilter: -1 }, "spec.coordinator.hostRPFilter: must be an integer from 0 to 2, got -1"],
    [{ podRPFilter: 3 }, "spec.coordinator.podRPFilter: must be an integer from 0 to 2, got 3"],
    [{ podDefaultRouteNIC: "a/b" }, 'spec.coordinator.podDefaultRouteNIC: must be an interface name, got "a/b"'],
    [{ podDefaultRouteNIC: "an-interface-name-too-long" }, "spec.coordinator.podDefaultRouteNIC: must be an interface name"],
    [{ hijackCIDR: ["10.0.0.0/8", "10.0.0.0/33"] }, 'spec.coordinator.hijackCIDR[1]: entry "10.0.0.0/33" is not a CIDR'],
    [{ hijackCIDR: ["node-local-dns"] }, 'spec.coordinator.hijackCIDR[0]: entry "node-local-dns" is not a CIDR'],
    [{ mode: "disable" }, 'spec.coordinator.mode: expected one of "auto"|"underlay"|"overlay"|"disabled"'],
    [{ podCIDRType: "kube" }, "spec.coordinator.podCIDRType: expected one of"],
    [{ detectIPConflict: "yes" }, "spec.coordinator.detectIPConflict: expected boolean"],
    [{ hostRuleTable: 1.5 }, "spec.coordinator.hostRuleTable: expected int"],
    [{ txQueueLen: -1 }, "spec.coordinator.txQueueLen: must be 0 (leave it) or a positive integer"],
    ["underlay", "spec.coordinator: expected object"],
  ])("%j (code 7)", (coordinator, text) => {
    const err = refusal(smc(coordinator));
    expect(err.code).toBe(ErrorCode.InvalidConfig);
    expect(err.message).toContain(`${WHERE}: ${text}`);
  });
});

describe("the NAD is one ipvlan-attach accepts", () => {
  it("detection, gateway check, the pod's rp_filter and the side channel's settings parse as ipvlan-attach reads them", () => {
    const plugin = pluginOf(
      smc({ mode: "underlay", detectIPConflict: true, detectGateway: true, podRPFilter: 1, hostRPFilter: 2, hostRuleTable: 600, hijackCIDR: ["169.254.20.10"], tunePodRoutes: false, podDefaultRouteNIC: "net1" }),
    );
    const cfg = parseIpvlanConfig(plugin as Parameters<typeof parseIpvlanConfig>[0]);
    expect(cfg.mode).toBe("l2");
    expect(cfg.coordinator).toMatchObject({
      enabled: true,
      detectIPConflict: true,
      detectGateway: true,
      podRPFilter: 1,
      hostRPFilter: 2,
      hostRuleTable: 600,
      hijackCIDR: ["169.254.20.10/32"],
      tunePodRoutes: false,
      podDefaultRouteNIC: "net1",
    });
    // detectIPConflict turns on IPv6 duplicate address detection too.
    expect(cfg.dad.enabled).toBe(true);
  });
});
