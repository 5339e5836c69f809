// ARP frames for conflict detection: the probe and announcement as bytes on
// the wire (RFC 826 layout, RFC 5227 addresses), parsing them back, and which
// frames count as another host using the address.
import { describe, expect, it } from "vitest";
import { arpAnnouncement, arpProbe, conflictIn, parseArpFrame } from "../../lib/net/arp-frame";

const OWN = "0a:1b:2c:3d:4e:5f";
const OTHER = "02:00:00:00:00:99";
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("ARP frames", () => {
  it("a probe is a broadcast request from 0.0.0.0 for the address, padded to 60 bytes", () => {
    const frame = arpProbe(OWN, "192.0.2.10");
    expect(frame).toHaveLength(60);
    expect(hex(frame.subarray(0, 42))).toBe(
      "ffffffffffff" + "0a1b2c3d4e5f" + "0806" + // Ethernet: broadcast, from us, ARP
        "0001" + "0800" + "06" + "04" + "0001" + // Ethernet/IPv4, request
        "0a1b2c3d4e5f" + "00000000" + // sender: our MAC, 0.0.0.0
        "000000000000" + "c000020a", // target: unknown MAC, 192.0.2.10
    );
    expect(frame.subarray(42).every((b) => b === 0)).toBe(true);
  });

  it("an announcement names the address as sender and target", () => {
    expect(parseArpFrame(arpAnnouncement(OWN, "192.0.2.10"))).toEqual({
      from: OWN, op: 1, senderMac: OWN, senderIp: "192.0.2.10", targetMac: "00:00:00:00:00:00", targetIp: "192.0.2.10",
    });
  });

  it("parses a reply and refuses what is not Ethernet/IPv4 ARP", () => {
    const reply = arpProbe(OTHER, "0.0.0.0");
    reply.set([0, 2], 20); // op: reply
    reply.set([192, 0, 2, 10], 28); // sender address
    expect(parseArpFrame(reply)).toMatchObject({ op: 2, senderMac: OTHER, senderIp: "192.0.2.10", targetIp: "0.0.0.0" });
    const ipv4 = arpProbe(OWN, "192.0.2.10");
    ipv4.set([0x08, 0x00], 12);
    expect(parseArpFrame(ipv4)).toBeUndefined();
    expect(parseArpFrame(arpProbe(OWN, "192.0.2.10").subarray(0, 41))).toBeUndefined();
  });

  it("refuses a malformed MAC or a non-IPv4 address", () => {
    expect(() => arpProbe("0a:1b:2c", "192.0.2.10")).toThrow(/invalid MAC/);
    expect(() => arpProbe(OWN, "2001:db8::1")).toThrow(/not IPv4/);
  });
});

describe("conflictIn", () => {
  const frame = (f: Partial<ReturnType<typeof parseArpFrame>>) => ({
    from: OTHER, op: 2, senderMac: OTHER, senderIp: "0.0.0.0", targetMac: OWN, targetIp: "0.0.0.0", ...f,
  });
  const IPS = ["192.0.2.10"];

  it("another host naming the address as its sender (the reply to our probe, an announcement) is a conflict", () => {
    expect(conflictIn(frame({ senderIp: "192.0.2.10" }), IPS, OWN)).toEqual({ ip: "192.0.2.10", mac: OTHER });
    expect(conflictIn(frame({ op: 1, senderIp: "192.0.2.10", targetIp: "192.0.2.10", targetMac: "00:00:00:00:00:00" }), IPS, OWN)).toEqual({ ip: "192.0.2.10", mac: OTHER });
  });

  it("another host probing for the address at the same time is a conflict", () => {
    expect(conflictIn(frame({ op: 1, targetIp: "192.0.2.10" }), IPS, OWN)).toEqual({ ip: "192.0.2.10", mac: OTHER });
  });

  it("our own frames, frames answering for us, and other addresses are not", () => {
    expect(conflictIn(frame({ from: OWN, senderMac: OWN, op: 1, targetIp: "192.0.2.10" }), IPS, OWN)).toBeUndefined();
    expect(conflictIn(frame({ from: OWN, senderMac: OWN, senderIp: "192.0.2.10" }), IPS, OWN)).toBeUndefined();
    expect(conflictIn(frame({ senderIp: "192.0.2.11" }), IPS, OWN)).toBeUndefined();
    expect(conflictIn(frame({ op: 1, senderIp: "192.0.2.1", targetIp: "192.0.2.10" }), IPS, OWN)).toBeUndefined();
  });
});
