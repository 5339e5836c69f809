// ipvlan-attach's conflict and gateway detection settings: the coordinator
// keys, their bounds, l2 only, IPv6 DAD under detectIPConflict, and the
// conflicts a rollback hands IPAM in the network configuration's "args".
import { describe, expect, it } from "vitest";
import { CniError, ErrorCode } from "../../lib/cni/errors";
import { parseCoordinatorConfig } from "../../lib/coordinator/config";
import { parseIpvlanConfig } from "../../lib/ipvlan/config";
import { withConflicts } from "../../lib/ipvlan/conflict";

const conf = (extra: Record<string, unknown>) => ({ cniVersion: "1.0.0", name: "n", type: "ipvlan-attach", master: "ens5", ...extra });

function refusal(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error("expected a CniError");
}

describe("coordinator detection keys", () => {
  it("are off by default, with a 300 ms probe window and a 2 s gateway timeout; podRPFilter unset", () => {
    const c = parseCoordinatorConfig({});
    expect(c).toMatchObject({ detectIPConflict: false, conflictProbeMs: 300, detectGateway: false, gatewayTimeoutMs: 2000 });
    expect(c.podRPFilter).toBeUndefined();
  });

  it.each([
    [{ detectIPConflict: "true" }, /detectIPConflict" must be true or false/],
    [{ detectGateway: 1 }, /detectGateway" must be true or false/],
    [{ conflictProbeMs: 29 }, /conflictProbeMs" must be an integer from 30 to 10000/],
    [{ conflictProbeMs: 10001 }, /conflictProbeMs/],
    [{ conflictProbeMs: 100.5 }, /conflictProbeMs/],
    [{ gatewayTimeoutMs: 99 }, /gatewayTimeoutMs" must be an integer from 100 to 60000/],
    [{ gatewayTimeoutMs: 60001 }, /gatewayTimeoutMs/],
    [{ podRPFilter: 3 }, /podRPFilter" must be an integer from 0 to 2/],
    [{ podRPFilter: "1" }, /podRPFilter/],
  ])("refuses %j (code 7)", (raw, msg) => {
    const e = refusal(() => parseCoordinatorConfig(raw));
    expect(e.code).toBe(ErrorCode.InvalidConfig);
    expect(e.message).toMatch(msg);
  });

  it("takes the bounds", () => {
    expect(parseCoordinatorConfig({ conflictProbeMs: 30, gatewayTimeoutMs: 100, podRPFilter: 2 })).toMatchObject({ conflictProbeMs: 30, gatewayTimeoutMs: 100, podRPFilter: 2 });
    expect(parseCoordinatorConfig({ conflictProbeMs: 10000, gatewayTimeoutMs: 60000 })).toMatchObject({ conflictProbeMs: 10000, gatewayTimeoutMs: 60000 });
  });
});

describe("ipvlan-attach with detection", () => {
  it.each(["l3", "l3s"])("mode %s refuses either switch by name (code 7)", (mode) => {
    for (const [coordinator, names] of [
      [{ detectIPConflict: true }, /"coordinator.detectIPConflict" needs ipvlan mode l2/],
      [{ detectGateway: true }, /"coordinator.detectGateway" needs ipvlan mode l2/],
      [{ detectIPConflict: true, detectGateway: true }, /"coordinator.detectIPConflict" and "coordinator.detectGateway" need ipvlan mode l2/],
    ] as const) {
      const e = refusal(() => parseIpvlanConfig(conf({ mode, coordinator })));
      expect(e.code).toBe(ErrorCode.InvalidConfig);
      expect(e.message).toMatch(names);
    }
    expect(parseIpvlanConfig(conf({ mode, coordinator: { detectIPConflict: false, detectGateway: false } })).mode).toBe(mode);
  });

  it("detectIPConflict turns on IPv6 DAD, keeping ipv6DAD's timeout", () => {
    expect(parseIpvlanConfig(conf({})).dad).toEqual({ enabled: false, timeoutMs: 2000 });
    expect(parseIpvlanConfig(conf({ coordinator: { detectIPConflict: true } })).dad).toEqual({ enabled: true, timeoutMs: 2000 });
    expect(parseIpvlanConfig(conf({ coordinator: { detectIPConflict: true }, ipv6DAD: { timeoutMs: 5000 } })).dad).toEqual({ enabled: true, timeoutMs: 5000 });
  });
});

describe("withConflicts", () => {
  const conflicts = [{ ip: "172.31.28.16", mac: "0a:1b:2c:3d:4e:5f" }];

  it("adds args.spiderpool.conflicts", () => {
    expect(withConflicts(conf({}), conflicts)).toEqual({ ...conf({}), args: { spiderpool: { conflicts } } });
  });

  it("keeps the existing args and spiderpool keys, replacing only conflicts", () => {
    const before = conf({ args: { cni: { ips: ["172.31.28.16"] }, spiderpool: { other: 1, conflicts: [{ ip: "x", mac: "" }] } } });
    expect(withConflicts(before, conflicts).args).toEqual({ cni: { ips: ["172.31.28.16"] }, spiderpool: { other: 1, conflicts } });
  });

  it("replaces an args that is not an object", () => {
    expect(withConflicts(conf({ args: "junk" }), conflicts).args).toEqual({ spiderpool: { conflicts } });
  });
});
