// Requests built by lib/net, compared with bytes written by hand from the
// kernel's struct layouts (nlmsghdr 16, ifinfomsg 16, ifaddrmsg 8, rtmsg 12,
// fib_rule_hdr 12; nlattr {u16 len, u16 type} padded to 4; little-endian).
import { describe, expect, it } from "vitest";
import { addAddress } from "../../lib/net/address";
import { deleteLink, getLinkByName, setLinkName, setLinkUp } from "../../lib/net/link";
import { createIpvlan, createMacvlan, createVeth, createVlan } from "../../lib/net/link-create";
import { addRoute, deleteRoute } from "../../lib/net/route";
import { addRule } from "../../lib/net/rule";
import { NetlinkError } from "../../lib/netlink/error";
import { hex, toHex } from "../fixtures/net/hex";
import { RecordingSocket } from "../fixtures/net/recording-socket";

function sent(build: (rec: RecordingSocket) => void): string {
  const rec = new RecordingSocket();
  build(rec);
  expect(rec.wire).toHaveLength(1);
  return toHex(rec.wire[0]!);
}

describe("link requests", () => {
  it("NEWLINK: ipvlan l2 named tmp123 on parent index 2, created in the netns of fd 5", () => {
    const bytes = sent((r) => createIpvlan(r.socket, { name: "tmp123", parentIndex: 2, mode: "l2", netnsFd: 5 }));
    expect(bytes).toBe(
      toHex(
        hex(`
          58000000 1000 0506 01000000 00000000  # len 88, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE, seq 1, pid 0
          00 00 0000 00000000 00000000 00000000 # ifinfomsg: all zero
          0b00 0300 746d7031323300 00           # IFLA_IFNAME "tmp123\\0" + 1 pad
          0800 0500 02000000                    # IFLA_LINK 2
          0800 1c00 05000000                    # IFLA_NET_NS_FD 5
          1c00 1280                             # IFLA_LINKINFO | NLA_F_NESTED, len 28
            0b00 0100 6970766c616e00 00         #   IFLA_INFO_KIND "ipvlan\\0"
            0c00 0280                           #   IFLA_INFO_DATA | NLA_F_NESTED
              0600 0100 0000 0000               #     IFLA_IPVLAN_MODE u16 0 (l2) + pad`),
      ),
    );
  });

  it("ipvlan l3s with an mtu; macvlan goes through the same path with its u32 mode", () => {
    const ipvlan = sent((r) => createIpvlan(r.socket, { name: "t", parentIndex: 9, mode: "l3s", mtu: 1450 }));
    expect(ipvlan).toContain(toHex(hex("0800 0400 aa050000"))); // IFLA_MTU 1450
    expect(ipvlan.endsWith(toHex(hex("0600 0100 0200 0000")))).toBe(true); // mode 2 = l3s
    const macvlan = sent((r) => createMacvlan(r.socket, { name: "t", parentIndex: 9, netnsFd: 5 }));
    expect(macvlan).toBe(
      toHex(
        hex(`
          54000000 1000 0506 01000000 00000000  # len 84
          00 00 0000 00000000 00000000 00000000
          0600 0300 7400 0000                   # IFLA_IFNAME "t"
          0800 0500 09000000                    # IFLA_LINK 9
          0800 1c00 05000000                    # IFLA_NET_NS_FD 5
          1c00 1280
            0c00 0100 6d6163766c616e00          #   IFLA_INFO_KIND "macvlan\\0" (no pad)
            0c00 0280
              0800 0100 04000000                #     IFLA_MACVLAN_MODE u32 4 (bridge)`),
      ),
    );
  });

  it("NEWLINK: veth pair whose peer is created in the netns of fd 7", () => {
    const bytes = sent((r) => createVeth(r.socket, { name: "veth0", peerName: "veth1", peerNetnsFd: 7 }));
    expect(bytes).toBe(
      toHex(
        hex(`
          68000000 1000 0506 01000000 00000000  # len 104
          00 00 0000 00000000 00000000 00000000
          0a00 0300 7665746830 00 0000          # IFLA_IFNAME "veth0"
          3c00 1280                             # IFLA_LINKINFO, len 60
            0900 0100 76657468 00 000000        #   IFLA_INFO_KIND "veth"
            2c00 0280                           #   IFLA_INFO_DATA, len 44
              2800 0100                         #     VETH_INFO_PEER (raw: ifinfomsg + attrs), len 40
                00 00 0000 00000000 00000000 00000000
                0a00 0300 7665746831 00 0000    #       IFLA_IFNAME "veth1"
                0800 1c00 07000000              #       IFLA_NET_NS_FD 7`),
      ),
    );
  });

  it("NEWLINK: vlan 100 on parent index 2", () => {
    const bytes = sent((r) => createVlan(r.socket, { name: "eth0.100", parentIndex: 2, vlanId: 100 }));
    expect(bytes).toBe(
      toHex(
        hex(`
          54000000 1000 0506 01000000 00000000
          00 00 0000 00000000 00000000 00000000
          0d00 0300 657468302e313030 00 000000  # IFLA_IFNAME "eth0.100"
          0800 0500 02000000                    # IFLA_LINK 2
          1c00 1280
            0900 0100 766c616e 00 000000        #   IFLA_INFO_KIND "vlan"
            0c00 0280
              0600 0100 6400 0000               #     IFLA_VLAN_ID u16 100`),
      ),
    );
  });

  it("GETLINK by name, SETLINK rename and up, DELLINK by name", () => {
    expect(sent((r) => getLinkByName(r.socket, "eth0"))).toBe(
      toHex(
        hex(`
          34000000 1200 0500 01000000 00000000  # RTM_GETLINK, REQUEST|ACK
          00 00 0000 00000000 00000000 00000000
          0900 0300 65746830 00 000000          # IFLA_IFNAME "eth0"
          0800 1d00 08000000                    # IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS`),
      ),
    );
    expect(sent((r) => setLinkName(r.socket, 5, "eth0"))).toBe(
      toHex(hex("2c000000 1300 0500 01000000 00000000  00 00 0000 05000000 00000000 00000000  0900 0300 65746830 00 000000")),
    );
    expect(sent((r) => setLinkUp(r.socket, 5))).toBe(
      toHex(hex("20000000 1300 0500 01000000 00000000  00 00 0000 05000000 01000000 01000000")),
    );
    expect(sent((r) => deleteLink(r.socket, "eth0"))).toBe(
      toHex(hex("2c000000 1100 0500 01000000 00000000  00 00 0000 00000000 00000000 00000000  0900 0300 65746830 00 000000")),
    );
  });

  it("rejects names the kernel would refuse before sending anything", () => {
    const rec = new RecordingSocket();
    expect(() => createIpvlan(rec.socket, { name: "a-name-of-16-chr", parentIndex: 2, mode: "l2" })).toThrow(/longer than 15/);
    expect(() => setLinkName(rec.socket, 3, "a/b")).toThrow(/invalid interface name/);
    expect(rec.wire).toHaveLength(0);
  });

  it("deleteLink treats ENODEV as gone only when asked", () => {
    const rec = new RecordingSocket();
    rec.failWith = new NetlinkError("delete link", 19);
    expect(deleteLink(rec.socket, 7, { ignoreMissing: true })).toBe(false);
    expect(() => deleteLink(rec.socket, 7)).toThrow(NetlinkError);
    rec.failWith = new NetlinkError("delete link", 16);
    expect(() => deleteLink(rec.socket, 7, { ignoreMissing: true })).toThrow(/EBUSY/);
  });
});

describe("address requests", () => {
  it("NEWADDR: IPv6 with IFA_F_NODAD in both the header and IFA_FLAGS", () => {
    expect(sent((r) => addAddress(r.socket, { index: 7, ip: "fd00::5", prefix: 64, noDad: true }))).toBe(
      toHex(
        hex(`
          34000000 1400 0506 01000000 00000000  # len 52, RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
          0a 40 02 00 07000000                  # ifaddrmsg: AF_INET6, /64, flags NODAD, scope universe, index 7
          1400 0100 fd000000 00000000 00000000 00000005  # IFA_ADDRESS fd00::5
          0800 0800 02000000                    # IFA_FLAGS u32 IFA_F_NODAD`),
      ),
    );
  });

  it("NEWADDR: IPv4 with IFA_LOCAL, IFA_ADDRESS and the directed broadcast", () => {
    expect(sent((r) => addAddress(r.socket, { index: 3, ip: "10.6.0.21", prefix: 24, family: 4 }))).toBe(
      toHex(
        hex(`
          30000000 1400 0506 01000000 00000000
          02 18 00 00 03000000                  # AF_INET, /24, index 3
          0800 0200 0a060015                    # IFA_LOCAL 10.6.0.21
          0800 0100 0a060015                    # IFA_ADDRESS 10.6.0.21
          0800 0400 0a0600ff                    # IFA_BROADCAST 10.6.0.255`),
      ),
    );
    // /32 has no broadcast address
    expect(sent((r) => addAddress(r.socket, { index: 3, ip: "10.6.0.21", prefix: 32 }))).not.toContain("08000400");
  });

  it("rejects a family mismatch and a bad prefix", () => {
    const rec = new RecordingSocket();
    expect(() => addAddress(rec.socket, { index: 3, ip: "fd00::1", prefix: 64, family: 4 })).toThrow(/not IPv4/);
    expect(() => addAddress(rec.socket, { index: 3, ip: "10.0.0.1", prefix: 33 })).toThrow(/prefix/);
    expect(() => addAddress(rec.socket, { index: 3, ip: "10.0.0.256", prefix: 24 })).toThrow(/invalid IP address/);
  });
});

describe("route requests", () => {
  it("NEWROUTE: IPv4 default via a gateway in the main table", () => {
    expect(sent((r) => addRoute(r.socket, { dst: "0.0.0.0/0", gw: "10.6.0.1", oif: 3 }))).toBe(
      toHex(
        hex(`
          34000000 1800 0506 01000000 00000000  # len 52, RTM_NEWROUTE, REQUEST|ACK|EXCL|CREATE
          02 00 00 00 fe 03 00 01 00000000      # rtmsg: AF_INET, dst_len 0, table main, proto boot, scope universe, unicast
          0800 0f00 fe000000                    # RTA_TABLE 254
          0800 0500 0a060001                    # RTA_GATEWAY 10.6.0.1
          0800 0400 03000000                    # RTA_OIF 3`),
      ),
    );
  });

  it("NEWROUTE: IPv6 default via a gateway in table 1000 with metric and mtu", () => {
    const bytes = sent((r) => addRoute(r.socket, { dst: "default", gw: "fd00::1", oif: 3, table: 1000, priority: 100, mtu: 1450 }));
    expect(bytes).toBe(
      toHex(
        hex(`
          54000000 1800 0506 01000000 00000000
          0a 00 00 00 00 03 00 01 00000000      # table 1000 does not fit the u8: RT_TABLE_UNSPEC
          0800 0f00 e8030000                    # RTA_TABLE 1000
          1400 0500 fd000000 00000000 00000000 00000001  # RTA_GATEWAY fd00::1
          0800 0400 03000000                    # RTA_OIF 3
          0800 0600 64000000                    # RTA_PRIORITY 100
          0c00 0880 0800 0200 aa050000          # RTA_METRICS { RTAX_MTU 1450 }`),
      ),
    );
  });

  it("IPv4 route without a gateway is link-scoped; delete matches any scope/protocol/type", () => {
    expect(sent((r) => addRoute(r.socket, { dst: "10.7.0.0/16", oif: 3, src: "10.6.0.21" }))).toBe(
      toHex(
        hex(`
          3c000000 1800 0506 01000000 00000000
          02 10 00 00 fe 03 fd 01 00000000      # dst_len 16, scope link
          0800 0f00 fe000000
          0800 0100 0a070000                    # RTA_DST 10.7.0.0
          0800 0400 03000000
          0800 0700 0a060015                    # RTA_PREFSRC 10.6.0.21`),
      ),
    );
    expect(sent((r) => deleteRoute(r.socket, { dst: "10.7.0.0/16", oif: 3 }))).toBe(
      toHex(
        hex(`
          34000000 1900 0500 01000000 00000000  # len 52, RTM_DELROUTE, REQUEST|ACK
          02 10 00 00 fe 00 ff 00 00000000      # protocol 0, scope NOWHERE, type 0
          0800 0f00 fe000000 0800 0100 0a070000 0800 0400 03000000`),
      ),
    );
  });

  it("refuses a gateway of the other family", () => {
    expect(() => sent((r) => addRoute(r.socket, { dst: "0.0.0.0/0", gw: "fd00::1" }))).toThrow(/not IPv4/);
  });
});

describe("rule requests", () => {
  it("NEWRULE: from 10.6.0.21 lookup 1000 priority 100", () => {
    expect(sent((r) => addRule(r.socket, { family: 4, priority: 100, table: 1000, src: "10.6.0.21" }))).toBe(
      toHex(
        hex(`
          34000000 2000 0506 01000000 00000000  # len 52, RTM_NEWRULE, REQUEST|ACK|EXCL|CREATE
          02 00 20 00 00 00 00 01 00000000      # fib_rule_hdr: AF_INET, src_len 32, table UNSPEC, action TO_TBL
          0800 0600 64000000                    # FRA_PRIORITY 100
          0800 0f00 e8030000                    # FRA_TABLE 1000
          0800 0200 0a060015                    # FRA_SRC 10.6.0.21`),
      ),
    );
  });

  it("IPv6 rule with a destination prefix and an input interface", () => {
    expect(sent((r) => addRule(r.socket, { family: 6, priority: 5, table: 100, dst: "fd00:1::/48", iif: "eth0" }))).toBe(
      toHex(
        hex(`
          4c000000 2000 0506 01000000 00000000  # len 76
          0a 30 00 00 64 00 00 01 00000000      # dst_len 48, table 100 fits the u8
          0800 0600 05000000
          0800 0f00 64000000
          1400 0100 fd000001 00000000 00000000 00000000  # FRA_DST fd00:1::
          0900 0300 65746830 00 000000          # FRA_IIFNAME "eth0"`),
      ),
    );
  });
});
