import { describe, expect, it } from "vitest";
import { decodeAttrs, encodeAttrs, nla } from "../../lib/netlink/attr";
import { IFLA, NLM_F, NLMSG_DONE, NLMSG_ERROR, RTM } from "../../lib/netlink/constants";
import { toCniError } from "../../lib/cni/errors";
import { NetlinkError } from "../../lib/netlink/error";
import { Exchange } from "../../lib/netlink/exchange";
import { decodeError, decodeMessages, encodeMessage, type NetlinkMessage } from "../../lib/netlink/message";
import { decodeFibRuleHdr, decodeIfAddrMsg, decodeIfInfoMsg, decodeRtMsg, encodeIfInfoMsg } from "../../lib/netlink/structs";
import { hex, toHex } from "../fixtures/net/hex";

describe("nlattr", () => {
  it("pads values to 4 bytes but counts only header+value in len", () => {
    expect(toHex(encodeAttrs([nla.str(3, "tmp123")]))).toBe(toHex(hex("0b00 0300 746d7031323300 00")));
    expect(toHex(encodeAttrs([nla.u16(1, 2)]))).toBe(toHex(hex("0600 0100 0200 0000")));
    expect(toHex(encodeAttrs([nla.u8(16, 6)]))).toBe(toHex(hex("0500 1000 06 000000")));
    expect(toHex(encodeAttrs([nla.u32(5, 0x01020304), nla.s32(37, -1)]))).toBe(
      toHex(hex("0800 0500 04030201  0800 2500 ffffffff")),
    );
  });

  it("marks nested attributes with NLA_F_NESTED and sizes them from their children", () => {
    const bytes = encodeAttrs([nla.nested(18, [nla.str(1, "ipvlan"), nla.nested(2, [nla.u16(1, 0)])])]);
    expect(toHex(bytes)).toBe(
      toHex(
        hex(`
          1c00 1280                      # IFLA_LINKINFO | NLA_F_NESTED, len 28
            0b00 0100 6970766c616e00 00  # IFLA_INFO_KIND "ipvlan"
            0c00 0280                    # IFLA_INFO_DATA | NLA_F_NESTED
              0600 0100 0000 0000        # IFLA_IPVLAN_MODE l2`),
      ),
    );
  });

  it("decodes nested attributes, masking the flag bits out of the type", () => {
    const table = decodeAttrs(hex("1c00 1280 0b00 0100 6970766c616e00 00 0c00 0280 0600 0100 0200 0000"));
    const info = table.nested(18)!;
    expect(info.str(1)).toBe("ipvlan");
    expect(info.nested(2)!.u16(1)).toBe(2);
    expect(table.has(0x8012)).toBe(false);
  });

  it("ignores a truncated trailing attribute and reads integers little-endian", () => {
    const table = decodeAttrs(hex("0800 0400 dc050000  0800 0300 6162"));
    expect(table.u32(IFLA.MTU)).toBe(1500);
    expect(table.has(IFLA.IFNAME)).toBe(false);
    expect(decodeAttrs(hex("0500 0300 41 000000")).str(3)).toBe("A");
  });
});

describe("nlmsghdr", () => {
  it("encodes length, type, flags, seq and pid little-endian", () => {
    const msg = encodeMessage({ type: RTM.GETLINK, flags: NLM_F.REQUEST | NLM_F.DUMP, seq: 0x01020304 }, encodeIfInfoMsg({}));
    expect(toHex(msg)).toBe(toHex(hex("20000000 1200 0103 04030201 00000000  00000000 00000000 00000000 00000000")));
  });

  it("splits a datagram holding several messages", () => {
    const two = hex(`
      14000000 1000 0200 07000000 aa000000  01020304
      14000000 0300 0200 07000000 aa000000  00000000`);
    const messages = decodeMessages(two);
    expect(messages.map((m) => [m.type, m.flags, m.seq, m.pid, m.payload.length])).toEqual([
      [RTM.NEWLINK, NLM_F.MULTI, 7, 0xaa, 4],
      [NLMSG_DONE, NLM_F.MULTI, 7, 0xaa, 4],
    ]);
  });

  it("rejects a message whose length runs past the datagram", () => {
    expect(() => decodeMessages(hex("40000000 1000 0000 01000000 00000000"))).toThrow(/malformed/);
  });
});

describe("family headers", () => {
  it("decodes ifinfomsg, ifaddrmsg, rtmsg and fib_rule_hdr field by field", () => {
    expect(decodeIfInfoMsg(hex("00 00 0100 04000000 43100100 00000000"))).toEqual({
      family: 0,
      type: 1,
      index: 4,
      flags: 0x11043,
      change: 0,
    });
    expect(decodeIfAddrMsg(hex("0a 40 80 fd 07000000"))).toEqual({ family: 10, prefixLen: 64, flags: 0x80, scope: 253, index: 7 });
    expect(decodeRtMsg(hex("02 18 00 00 fe 03 fd 01 00000000"))).toMatchObject({ family: 2, dstLen: 24, table: 254, protocol: 3, scope: 253, type: 1 });
    expect(decodeFibRuleHdr(hex("0a 00 80 00 00 00 00 01 02000000"))).toMatchObject({ family: 10, srcLen: 128, table: 0, action: 1, flags: 2 });
  });
});

describe("NLMSG_ERROR", () => {
  // Captured on this host: NEWLINK with kind "ipvlan" on a kernel without CONFIG_IPVLAN,
  // socket with NETLINK_EXT_ACK and NETLINK_CAP_ACK.
  const unknownKind = hex(`
    3c000000 0200 0003 01000000 0e390000   # NLMSG_ERROR, flags CAPPED|ACK_TLVS
    a1ffffff                               # error -95 (EOPNOTSUPP)
    38000000 1000 0506 01000000 00000000   # header of the NEWLINK it answers (payload capped)
    1800 0100 556e6b6e6f776e20646576696365207479706500  # NLMSGERR_ATTR_MSG "Unknown device type"`);

  it("reads errno and the extack message of a capped error", () => {
    const [msg] = decodeMessages(unknownKind);
    expect(msg!.type).toBe(NLMSG_ERROR);
    expect(decodeError(msg!)).toEqual({
      errno: 95,
      request: { type: RTM.NEWLINK, flags: 0x605, seq: 1, pid: 0 },
      kernelMessage: "Unknown device type",
    });
  });

  it("skips the echoed request of an uncapped error before the TLVs", () => {
    const [msg] = decodeMessages(
      hex(`
        50000000 0200 0002 07000000 00000000     # NLMSG_ERROR (80 bytes), flags ACK_TLVS only
        efffffff                                 # -17 EEXIST
        20000000 1300 0500 07000000 00000000     # echoed SETLINK header...
        00000000 05000000 00000000 00000000      # ...and its ifinfomsg
        0900 0100 626f6f6d00 000000              # MSG "boom"
        0800 0200 20000000                       # OFFS 32
        0800 0500 03000000                       # MISS_TYPE 3`),
    );
    expect(decodeError(msg!)).toMatchObject({ errno: 17, kernelMessage: "boom", badAttrOffset: 32, missingAttrType: 3 });
  });

  it("reads an ack (error 0) and a captured ENODEV without TLVs", () => {
    const [ack] = decodeMessages(hex("24000000 0200 0001 01000000 ab3a0000 00000000 30000000 1200 0500 01000000 00000000"));
    expect(decodeError(ack!).errno).toBe(0);
    const [nodev] = decodeMessages(hex("24000000 0200 0001 01000000 0e390000 edffffff 30000000 1200 0500 01000000 00000000"));
    expect(decodeError(nodev!)).toEqual({ errno: 19, request: { type: RTM.GETLINK, flags: 5, seq: 1, pid: 0 } });
  });

  it("becomes a NetlinkError naming the operation, errno and kernel text; the plugin reports it as code 108", () => {
    const exchange = new Exchange(1, "request", 'create ipvlan link "tmp123"');
    let caught: unknown;
    try {
      exchange.accept(decodeMessages(unknownKind));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NetlinkError);
    expect(caught).toMatchObject({
      errno: 95,
      errnoName: "EOPNOTSUPP",
      op: 'create ipvlan link "tmp123"',
      kernelMessage: "Unknown device type",
      message: 'create ipvlan link "tmp123": Unknown device type (EOPNOTSUPP)',
    });
    expect(toCniError(caught)).toMatchObject({
      code: 108,
      message: 'create ipvlan link "tmp123": Unknown device type (EOPNOTSUPP)',
      details: "EOPNOTSUPP: operation not supported",
    });
  });
});

describe("Exchange", () => {
  const msg = (type: number, seq: number, payload: Uint8Array = new Uint8Array(4), flags = 0): NetlinkMessage => ({ type, flags, seq, pid: 0, payload });
  const status = (n: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, n, true);
    return b;
  };
  const ack = (seq: number) => msg(NLMSG_ERROR, seq, hex(`00000000 10000000 1300 0500 ${toHex(status(seq))} 00000000`));

  it("collects a GET reply, ignores other sequence numbers and ends at the ack", () => {
    const exchange = new Exchange(5, "request", "get link");
    expect(exchange.accept([ack(4), msg(RTM.NEWLINK, 4), msg(RTM.NEWLINK, 5)])).toBe(false);
    expect(exchange.accept([ack(5)])).toBe(true);
    expect(exchange.replies).toHaveLength(1);
  });

  it("ends a dump at NLMSG_DONE, notes DUMP_INTR, and fails on a negative DONE status", () => {
    const dump = new Exchange(9, "dump", "list links");
    expect(dump.accept([msg(RTM.NEWLINK, 9, new Uint8Array(4), NLM_F.MULTI | NLM_F.DUMP_INTR)])).toBe(false);
    expect(dump.accept([msg(RTM.NEWLINK, 9), msg(NLMSG_DONE, 9, status(0))])).toBe(true);
    expect(dump.replies).toHaveLength(2);
    expect(dump.interrupted).toBe(true);
    expect(() => new Exchange(2, "dump", "list routes").accept([msg(NLMSG_DONE, 2, status(-22))])).toThrow(
      "list routes: invalid argument (EINVAL)",
    );
  });
});
