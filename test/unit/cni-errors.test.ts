// lib/cni maps the lower layers' own errors to CNI codes at the plugin
// boundary (the dispatcher calls toCniError): the codes and messages a
// runtime sees for each of them.
import { describe, expect, it } from "vitest";
import { CniError, ErrorCode, toCniError } from "../../lib/cni/errors";
import { NetInputError } from "../../lib/net/errors";
import { NetlinkError } from "../../lib/netlink/error";
import { LockTimeoutError, StrandedError } from "../../lib/sys/errors";

const plain = (e: CniError) => ({ code: e.code, msg: e.message, details: e.details });

describe("toCniError", () => {
  it("keeps a CniError as it is", () => {
    const e = new CniError(ErrorCode.PoolExhausted, "pool full", "x");
    expect(toCniError(e)).toBe(e);
  });

  it("gives a lock wait that timed out code 11, naming the lock", () => {
    expect(plain(toCniError(new LockTimeoutError("/var/lib/cni/spiderpool/lock", 5000)))).toEqual({
      code: 11,
      msg: "timed out after 5000 ms waiting for the lock /var/lib/cni/spiderpool/lock",
      details: "another plugin invocation holds it; retry later",
    });
  });

  it("gives a kernel refusal code 108 with the kernel's text and the errno", () => {
    expect(plain(toCniError(new NetlinkError("add route 0.0.0.0/0 via 10.6.0.1", 101, "Nexthop has invalid gateway")))).toEqual({
      code: 108,
      msg: "add route 0.0.0.0/0 via 10.6.0.1: Nexthop has invalid gateway (ENETUNREACH)",
      details: "ENETUNREACH: network is unreachable",
    });
    expect(plain(toCniError(new NetlinkError("delete link index 7", 19)))).toEqual({
      code: 108,
      msg: "delete link index 7: no such device (ENODEV)",
      details: "ENODEV",
    });
  });

  it("gives a value lib/net cannot use code 7", () => {
    expect(plain(toCniError(new NetInputError('route "default" needs a gateway, source or family')))).toEqual({
      code: 7,
      msg: 'route "default" needs a gateway, source or family',
      details: "",
    });
  });

  it("gives a failed system call code 5 with its errno name", () => {
    const sys = Object.assign(new Error("open /x/lock: permission denied (EACCES)"), { name: "SysError", code: "EACCES", errno: 13 });
    expect(plain(toCniError(sys))).toEqual({ code: 5, msg: "open /x/lock: permission denied (EACCES)", details: "EACCES" });
  });

  it("gives a thread stranded in another namespace code 199 with its cause", () => {
    expect(plain(toCniError(new StrandedError(new Error("setns: bad file descriptor (EBADF)"))))).toEqual({
      code: 199,
      msg: "could not return to the original network namespace; refusing to continue",
      details: "setns: bad file descriptor (EBADF)",
    });
  });

  it("gives anything else code 199 without its stack", () => {
    expect(plain(toCniError(new TypeError("x is undefined")))).toEqual({ code: 199, msg: "internal error: x is undefined", details: "" });
    expect(plain(toCniError("thrown text"))).toEqual({ code: 199, msg: "internal error: thrown text", details: "" });
  });
});
