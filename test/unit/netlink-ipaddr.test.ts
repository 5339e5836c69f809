import { describe, expect, it } from "vitest";
import { formatIp, ipv4Broadcast, parseCidr, parseIp, tryParseIp } from "../../lib/netlink/ipaddr";

const roundTrip = (text: string) => formatIp(parseIp(text).bytes);

describe("IP text <-> bytes", () => {
  it("parses dotted IPv4 strictly", () => {
    expect(Array.from(parseIp("10.6.0.21").bytes)).toEqual([10, 6, 0, 21]);
    for (const bad of ["10.6.0", "10.6.0.256", "010.6.0.1", "10.6.0.1 ", "1.2.3.4.5", "a.b.c.d", ""]) {
      expect(tryParseIp(bad), bad).toBeUndefined();
    }
  });

  it("parses every IPv6 text form and prints RFC 5952", () => {
    expect(roundTrip("fd00:0:0:0:0:0:0:5")).toBe("fd00::5");
    expect(roundTrip("FD00::0005")).toBe("fd00::5");
    expect(roundTrip("::")).toBe("::");
    expect(roundTrip("::1")).toBe("::1");
    expect(roundTrip("1::")).toBe("1::");
    expect(roundTrip("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1"); // a single zero group stays
    expect(roundTrip("2001:0:0:1:0:0:0:1")).toBe("2001:0:0:1::1"); // the longest run wins
    expect(roundTrip("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1"); // first of equal runs
    expect(roundTrip("::ffff:10.6.0.1")).toBe("::ffff:10.6.0.1");
    expect(roundTrip("64:ff9b::192.0.2.33")).toBe("64:ff9b::c000:221");
    expect(roundTrip("1:2:3:4:5:6:7::")).toBe("1:2:3:4:5:6:7:0");
  });

  it("rejects malformed IPv6", () => {
    for (const bad of ["1:2:3:4:5:6:7:8:9", "1::2::3", ":1::", "12345::", "1:2:3:4:5:6:7:8::", "g::1", "fe80::1%eth0", "1.2.3.4::", "::1.2.3"]) {
      expect(tryParseIp(bad), bad).toBeUndefined();
    }
  });

  it("parses CIDRs and computes IPv4 broadcasts", () => {
    expect(parseCidr("10.6.0.0/16")).toMatchObject({ family: 4, prefix: 16 });
    expect(parseCidr("::/0")).toMatchObject({ family: 6, prefix: 0 });
    expect(() => parseCidr("10.0.0.0/33")).toThrow(/invalid CIDR/);
    expect(() => parseCidr("10.0.0.0")).toThrow(/invalid CIDR/);
    expect(formatIp(ipv4Broadcast(parseIp("10.6.0.21").bytes, 24))).toBe("10.6.0.255");
    expect(formatIp(ipv4Broadcast(parseIp("10.6.0.21").bytes, 20))).toBe("10.6.15.255");
    expect(formatIp(ipv4Broadcast(parseIp("10.6.0.21").bytes, 0))).toBe("255.255.255.255");
  });
});
