// Kernel replies decoded into typed objects: one captured from this host's
// kernel, the others written by hand from the struct layouts.
import { describe, expect, it } from "vitest";
import { parseAddress } from "../../lib/net/address";
import { parseLink } from "../../lib/net/link";
import { parseRoute } from "../../lib/net/route";
import { parseRule } from "../../lib/net/rule";
import { RTM } from "../../lib/netlink/constants";
import { decodeMessages } from "../../lib/netlink/message";
import { hex, hexFixture } from "../fixtures/net/hex";

const one = (bytes: Uint8Array) => {
  const messages = decodeMessages(bytes);
  expect(messages).toHaveLength(1);
  return messages[0]!;
};

describe("links", () => {
  it("decodes a captured GETLINK reply for a macvlan (1168 bytes, kernel 6.18)", () => {
    const msg = one(hexFixture("getlink-macvlan.hex"));
    expect(msg.type).toBe(RTM.NEWLINK);
    expect(msg.payload.length).toBe(1168 - 16);
    expect(parseLink(msg)).toEqual({
      index: 4,
      name: "mv0",
      flags: 0x1003, // UP|BROADCAST|MULTICAST (no carrier: LOWER_UP absent)
      up: true,
      mtu: 1400,
      mac: "02:00:00:00:00:02",
      kind: "macvlan",
      macvlanMode: "bridge",
      linkIndex: 3,
      operstate: "lowerlayerdown",
    });
  });

  it("decodes an ipvlan l3 whose parent lives in another netns", () => {
    const msg = one(
      hex(`
        7c000000 1000 0000 01000000 00000000  # RTM_NEWLINK, len 124
        00 00 0100 05000000 43100100 00000000 # ARPHRD_ETHER, index 5, UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP
        0900 0300 65746830 00 000000          # IFLA_IFNAME "eth0"
        0800 0400 dc050000                    # IFLA_MTU 1500
        0800 0500 02000000                    # IFLA_LINK 2 (in the peer netns)
        0500 1000 06 000000                   # IFLA_OPERSTATE up
        0a00 0100 02000a060015 0000           # IFLA_ADDRESS
        0800 2500 00000000                    # IFLA_LINK_NETNSID 0
        2400 1200                             # IFLA_LINKINFO (no NESTED flag, as older kernels send)
          0b00 0100 6970766c616e00 00         #   KIND "ipvlan"
          1400 0200                           #   DATA
            0600 0100 0100 0000               #     IPVLAN_MODE 1 (l3)
            0600 0200 0000 0000               #     IPVLAN_FLAGS 0 (bridge)`),
    );
    expect(parseLink(msg)).toEqual({
      index: 5,
      name: "eth0",
      flags: 0x11043,
      up: true,
      mtu: 1500,
      mac: "02:00:0a:06:00:15",
      kind: "ipvlan",
      ipvlanMode: "l3",
      linkIndex: 2,
      linkNetnsId: 0,
      operstate: "up",
    });
  });
});

describe("addresses", () => {
  it("takes the flags from IFA_FLAGS when present (IPv6 tentative, DAD failed)", () => {
    const msg = one(
      hex(`
        34000000 1400 0200 01000000 00000000
        0a 40 c0 00 05000000                  # AF_INET6 /64, u8 flags TENTATIVE|PERMANENT, index 5
        1400 0100 fd000000 00000000 00000000 00000005
        0800 0800 c8000000                    # IFA_FLAGS TENTATIVE|PERMANENT|DADFAILED`),
    );
    expect(parseAddress(msg)).toEqual({
      index: 5,
      family: 6,
      ip: "fd00::5",
      prefix: 64,
      scope: 0,
      flags: 0xc8,
      tentative: true,
      dadFailed: true,
      permanent: true,
    });
  });

  it("reads IFA_LOCAL, the header flags and the label of an IPv4 address", () => {
    const msg = one(
      hex(`
        34000000 1400 0200 01000000 00000000
        02 18 80 00 05000000
        0800 0100 0a060015                    # IFA_ADDRESS
        0800 0200 0a060015                    # IFA_LOCAL
        0900 0300 65746830 00 000000          # IFA_LABEL "eth0"`),
    );
    expect(parseAddress(msg)).toMatchObject({ family: 4, ip: "10.6.0.21", prefix: 24, permanent: true, tentative: false, label: "eth0" });
  });
});

describe("routes and rules", () => {
  it("decodes a default route and an IPv6 route with metric and mtu", () => {
    const v4 = one(
      hex(`
        34000000 1800 0200 01000000 00000000
        02 00 00 00 fe 03 00 01 00000000
        0800 0f00 fe000000 0800 0500 0a060001 0800 0400 05000000`),
    );
    expect(parseRoute(v4)).toEqual({ family: 4, dst: "0.0.0.0/0", gw: "10.6.0.1", oif: 5, table: 254, scope: 0, protocol: 3, type: 1 });
    const v6 = one(
      hex(`
        54000000 1800 0200 01000000 00000000
        0a 40 00 00 fe 02 00 01 00000000
        0800 0f00 fe000000
        1400 0100 fd000000 00000000 00000000 00000000
        0800 0400 05000000
        0800 0600 00010000                    # RTA_PRIORITY 256
        0c00 0800 0800 0200 aa050000          # RTA_METRICS { MTU 1450 }`),
    );
    expect(parseRoute(v6)).toEqual({ family: 6, dst: "fd00::/64", oif: 5, table: 254, scope: 0, protocol: 2, type: 1, priority: 256, mtu: 1450 });
  });

  it("decodes a policy rule with a table above 255", () => {
    const msg = one(
      hex(`
        3c000000 2000 0200 01000000 00000000
        02 00 20 00 00 00 00 01 00000000
        0800 0600 64000000 0800 0f00 e8030000 0800 0200 0a060015
        0500 1500 03 000000                   # FRA_PROTOCOL boot (ignored)`),
    );
    expect(parseRule(msg)).toEqual({ family: 4, priority: 100, table: 1000, action: 1, src: "10.6.0.21/32" });
  });
});
