// Routes in several tables and policy rules, made by lib/net and checked with `ip -j`.
import { afterAll, beforeAll, expect, it } from "vitest";
import { ip, ipJson, probe, Scratch } from "../fixtures/net/scaffold";

const scratch = new Scratch();
let ns: string;
let out: any;

beforeAll(() => {
  ns = scratch.netns("rt");
  ip("-n", ns, "link", "add", "r0", "type", "veth", "peer", "name", "r0p");
  ip("-n", ns, "addr", "add", "10.77.0.5/24", "dev", "r0");
  ip("-n", ns, "addr", "add", "fd00:77::5/64", "dev", "r0", "nodad");
  ip("-n", ns, "link", "set", "r0", "up");
  ip("-n", ns, "link", "set", "r0p", "up");
  out = probe("routing", ns, "r0");
});

afterAll(() => scratch.cleanup());

it("adds policy rules the kernel lists like iproute2 would have made them", () => {
  const rules4 = ipJson("-n", ns, "rule");
  expect(rules4).toContainEqual(expect.objectContaining({ priority: 1001, dst: "10.78.0.0", dstlen: 16, iif: "r0", table: "main" }));
  expect(out.listed.rules4).toContainEqual({ family: 4, priority: 1000, table: 1000, action: 1, src: "10.77.0.5/32" });
  expect(out.listed.rules4).toContainEqual({ family: 4, priority: 1001, table: 254, action: 1, dst: "10.78.0.0/16", iif: "r0" });
  expect(out.listed.rules4.map((r: any) => r.priority)).toEqual(rules4.map((r: any) => r.priority).concat([1000]).sort((a: number, b: number) => a - b));
  expect(ipJson("-n", ns, "-6", "rule")).toContainEqual(expect.objectContaining({ priority: 1000, src: "fd00:77::5", table: "1000" }));
  expect(out.listed.rules6).toContainEqual({ family: 6, priority: 1000, table: 1000, action: 1, src: "fd00:77::5/128" });
  expect(out.duplicateRule.error).toMatchObject({ errnoName: "EEXIST", cniCode: 108 });
});

it("adds routes in the main table, table 1000 and a table id above 255", () => {
  expect(ipJson("-n", ns, "-6", "route", "show", "table", "1000")).toEqual([
    expect.objectContaining({ dst: "default", gateway: "fd00:77::1", dev: "r0", metric: 100 }),
  ]);
  expect(ipJson("-n", ns, "route", "show", "table", "70000")).toEqual([
    expect.objectContaining({ dst: "10.80.0.0/16", gateway: "10.77.0.1", dev: "r0" }),
  ]);
  expect(ipJson("-n", ns, "route", "show", "10.79.0.0/16")).toEqual([
    expect.objectContaining({ dst: "10.79.0.0/16", dev: "r0", scope: "link", prefsrc: "10.77.0.5", metric: 5, metrics: [{ mtu: 1400 }] }),
  ]);
  expect(out.listed.table1000v4).toEqual([expect.objectContaining({ dst: "0.0.0.0/0", gw: "10.77.0.1", table: 1000 })]);
  expect(out.listed.table1000v6).toEqual([expect.objectContaining({ dst: "::/0", gw: "fd00:77::1", table: 1000, priority: 100 })]);
  expect(out.listed.table70000).toEqual([expect.objectContaining({ dst: "10.80.0.0/16", table: 70000 })]);
  expect(out.listed.main4).toContainEqual(expect.objectContaining({ dst: "10.79.0.0/16", src: "10.77.0.5", mtu: 1400, priority: 5, scope: 253 }));
});

it("deletes a route and a rule, idempotently when asked", () => {
  expect(out.deletions).toMatchObject({ route: true, routeAgain: false, rule: true, ruleAgain: false });
  expect(out.deletions.routeStrict.error.errnoName).toBe("ESRCH");
  expect(out.deletions.ruleStrict.error.errnoName).toBe("ENOENT");
  expect(ipJson("-n", ns, "route", "show", "table", "1000")).toEqual([]);
  expect(ipJson("-n", ns, "rule").map((r: any) => r.priority)).not.toContain(1000);
  expect(out.table1000v4After).toEqual([]);
  expect(out.rules4After.map((r: any) => r.priority)).not.toContain(1000);
});
