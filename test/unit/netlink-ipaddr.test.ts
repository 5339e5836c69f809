import { describe, expect, it } from "vitest";
import { formatIP, parseIP } from "../../lib/ip/address";
import { bytesToIp, ipToBytes } from "../../lib/netlink/ipaddr";

const bytesOf = (text: string) => Array.from(ipToBytes(parseIP(text)!));
const roundTrip = (text: string) => formatIP(bytesToIp(ipToBytes(parseIP(text)!)));

describe("IP addresses <-> netlink bytes", () => {
  it("gives IPv4 as 4 big-endian bytes and IPv6 as 16", () => {
    expect(bytesOf("10.6.0.21")).toEqual([10, 6, 0, 21]);
    expect(bytesOf("255.255.255.255")).toEqual([255, 255, 255, 255]);
    expect(bytesOf("fd00::5")).toEqual([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
    expect(bytesOf("::")).toEqual(new Array(16).fill(0));
  });

  it("reads bytes back into the same address, printed as lib/ip prints it", () => {
    for (const text of ["0.0.0.0", "10.6.0.21", "::", "::1", "fd00::5", "2001:db8::1:0:0:1", "::ffff:10.6.0.1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]) {
      expect(roundTrip(text), text).toBe(text);
    }
    expect(bytesToIp(Uint8Array.of(10, 6, 0, 21))).toEqual({ family: 4, value: 0x0a060015n });
  });

  it("refuses a byte string that is no address", () => {
    for (const n of [0, 3, 5, 15, 17]) expect(() => bytesToIp(new Uint8Array(n)), `${n}`).toThrow(/not an IP address/);
  });
});
