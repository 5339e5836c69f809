// withNetns / openNetns against real namespaces: the thread always comes back,
// synchronous /proc/sys writes land in the target, bad paths give clear errors.
import { readFileSync } from "node:fs";
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ip, probe, Scratch } from "../fixtures/net/scaffold";

const scratch = new Scratch();
let target: string;
let out: any;
let hostForwardBefore: string;

beforeAll(() => {
  target = scratch.netns("ns");
  ip("-n", target, "link", "add", "t0", "type", "veth", "peer", "name", "t1");
  const plain = scratch.file("plain");
  writeFileSync(plain, "not a namespace");
  hostForwardBefore = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
  out = probe("netns", target, plain);
});

afterAll(() => scratch.cleanup());

it("enters the target and returns to the original netns after success, a throw, or an async callback", () => {
  expect(out.inside).not.toBe(out.home);
  expect(out.inside).toBe(`net:[${ip("netns", "exec", target, "stat", "-L", "-c", "%i", "/proc/self/ns/net").trim()}]`);
  expect([out.afterOk, out.afterThrow, out.afterAsync, out.afterNotNetns]).toEqual([out.home, out.home, out.home, out.home]);
  expect(out.thrown.error.message).toBe("boom inside");
  expect(out.asyncCallback.error).toMatchObject({ name: "TypeError" });
  expect(out.asyncCallback.error.message).toMatch(/must be synchronous/);
  expect(out.nested).toEqual([out.inside, out.inside, out.inside]);
});

it("a netlink socket made inside lists the target's links", () => {
  expect(out.targetLinks.sort()).toEqual(["lo", "t0", "t1"]);
});

it("synchronous sysctl writes inside land in the target, not the host", () => {
  expect(out.targetForward).toBe("1");
  expect(ip("netns", "exec", target, "cat", "/proc/sys/net/ipv4/ip_forward").trim()).toBe("1");
  expect(out.hostForward).toBe(hostForwardBefore);
  expect(out.hostForwardAfter).toBe(hostForwardBefore);
  expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim()).toBe(hostForwardBefore);
  expect(out.badSysctl.error).toMatchObject({ name: "SysError", cniCode: 5, cniDetails: "ENOENT" });
  expect(out.badSysctlPath.error).toMatchObject({ name: "NetInputError", cniCode: 7 });
});

it("names a vanished netns (ENOENT at open) and a file that is not a netns (EINVAL at setns)", () => {
  expect(out.missing.error).toMatchObject({ name: "SysError", code: "ENOENT", errno: 2 });
  expect(out.missing.error.message).toBe(`network namespace /var/run/netns/${target}-missing does not exist (ENOENT)`);
  expect(out.notNetns.error).toMatchObject({ name: "SysError", code: "EINVAL", syscall: "setns" });
  expect(out.notNetns.error.message).toMatch(/is not a network namespace/);
});
