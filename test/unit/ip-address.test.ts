import { Address4, Address6 } from "ip-address";
import { describe, expect, it } from "vitest";
import {
  cidrContains,
  cidrLast,
  cidrsOverlap,
  familyBits,
  formatCidr,
  formatIP,
  parseCidr,
  parseIP,
} from "../../lib/ip/address";
import { rng } from "./helpers/rng";


describe("parseIP / formatIP", () => {
  it.each([
    ["0.0.0.0", 4, 0n, "0.0.0.0"],
    ["255.255.255.255", 4, 0xffffffffn, "255.255.255.255"],
    ["172.31.28.16", 4, 0xac1f1c10n, "172.31.28.16"],
    ["::", 6, 0n, "::"],
    ["::1", 6, 1n, "::1"],
    ["1::", 6, 1n << 112n, "1::"],
    ["2406:DA1E:00C4:ED01::1", 6, 0x2406da1e00c4ed01_0000_0000_0000_0001n, "2406:da1e:c4:ed01::1"],
    ["1:2:3:4:5:6:7::", 6, 0x0001_0002_0003_0004_0005_0006_0007_0000n, "1:2:3:4:5:6:7:0"],
    ["::2:3:4:5:6:7:8", 6, 0x0000_0002_0003_0004_0005_0006_0007_0008n, "0:2:3:4:5:6:7:8"],
    ["2001:db8:0:0:1:0:0:1", 6, 0x20010db8_0000_0000_0001_0000_0000_0001n, "2001:db8::1:0:0:1"],
    ["2001:0db8:0:0:0:0:2:1", 6, 0x20010db8_0000_0000_0000_0000_0002_0001n, "2001:db8::2:1"],
    ["2001:db8:0:1:1:1:1:1", 6, 0x20010db8_0000_0001_0001_0001_0001_0001n, "2001:db8:0:1:1:1:1:1"],
    ["::ffff:1.2.3.4", 6, 0xffff_0102_0304n, "::ffff:1.2.3.4"],
    ["::FFFF:0102:0304", 6, 0xffff_0102_0304n, "::ffff:1.2.3.4"],
    ["64:ff9b::1.2.3.4", 6, (0x64ff9bn << 96n) | 0x01020304n, "64:ff9b::102:304"],
    ["1:2:3:4:5:6:1.2.3.4", 6, 0x0001_0002_0003_0004_0005_0006_0102_0304n, "1:2:3:4:5:6:102:304"],
  ] as const)("%s", (text, family, value, canonical) => {
    const ip = parseIP(text);
    expect(ip).toEqual({ family, value });
    expect(formatIP(ip!)).toBe(canonical);
    expect(parseIP(canonical)).toEqual({ family, value });
  });

  it.each([
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.0.0.1",
    "01.2.3.4",
    "1.2.3.04",
    "1.2.3.00",
    " 1.2.3.4",
    "1.2.3.4 ",
    "+1.2.3.4",
    "1.2.3.4/24",
    "1.2.3.-4",
    "fe80::1%eth0",
    "fe80::1%1",
    "1::2::3",
    "12345::",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    ":1::",
    "1:::2",
    ":::",
    "1:",
    ":1",
    "g::1",
    "::ffff:1.2.3",
    "::ffff:256.1.1.1",
    "::1.2.3.04",
    "1.2.3.4::",
    "1.2.3.4:1::",
    "1:2:3:4:5:6:7:1.2.3.4",
    "[::1]",
  ])("refuses %j", (text) => {
    expect(parseIP(text)).toBeUndefined();
  });

  it("agrees with ip-address on 300 random IPv4 addresses", () => {
    const next = rng(4);
    for (let i = 0; i < 300; i++) {
      const value = BigInt(next());
      const ours = formatIP({ family: 4, value });
      const theirs = Address4.fromBigInt(value);
      expect(ours).toBe(theirs.correctForm());
      expect(parseIP(theirs.correctForm())).toEqual({ family: 4, value });
      expect(new Address4(ours).bigInt()).toBe(value);
    }
  });

  it("agrees with ip-address on 400 random IPv6 addresses with zero runs", () => {
    const next = rng(6);
    let compressed = 0;
    for (let i = 0; i < 400; i++) {
      // Half the groups zero, so "::" placement (longest run, first on tie) gets exercised.
      let value = 0n;
      for (let g = 0; g < 8; g++) value = (value << 16n) | BigInt(next() % 2 === 0 ? 0 : next() & 0xffff);
      if (value >> 32n === 0xffffn) continue; // mapped: we keep the dotted tail (RFC 5952 s5), ip-address does not
      const ours = formatIP({ family: 6, value });
      const theirs = Address6.fromBigInt(value);
      expect(ours).toBe(theirs.correctForm());
      if (ours.includes("::")) compressed++;
      expect(parseIP(theirs.canonicalForm())).toEqual({ family: 6, value });
      expect(parseIP(theirs.canonicalForm().toUpperCase())).toEqual({ family: 6, value });
      expect(new Address6(ours).bigInt()).toBe(value);
    }
    expect(compressed).toBeGreaterThan(200);
  });
});

describe("parseCidr / formatCidr", () => {
  it("keeps the written address and masks the base", () => {
    const parsed = parseCidr("172.31.16.5/20")!;
    expect(formatIP(parsed.ip)).toBe("172.31.16.5");
    expect(formatCidr(parsed.cidr)).toBe("172.31.16.0/20");
    expect(parsed.cidr).toEqual({ family: 4, base: 0xac1f1000n, prefix: 20 });
  });

  it.each([
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["10.1.2.3/32", "10.1.2.3/32"],
    ["2406:da1e:c4:ed01::/64", "2406:da1e:c4:ed01::/64"],
    ["2406:DA1E:c4:ed01:c57d::5/80", "2406:da1e:c4:ed01:c57d::/80"],
    ["::/0", "::/0"],
    ["::1/128", "::1/128"],
  ])("%s -> %s", (text, canonical) => {
    expect(formatCidr(parseCidr(text)!.cidr)).toBe(canonical);
  });

  it.each(["10.0.0.0", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/08", "10.0.0.0/", "10.0.0.0/2a", "::/129", "/24", "10.0.0.0/24/1", "10.0.0.0 /24"])(
    "refuses %j",
    (text) => {
      expect(parseCidr(text)).toBeUndefined();
    },
  );

  it("agrees with ip-address on random network bases", () => {
    const next = rng(46);
    for (let i = 0; i < 200; i++) {
      const v6 = i % 2 === 1;
      let value = 0n;
      for (let g = 0; g < (v6 ? 4 : 1); g++) value = (value << 32n) | BigInt(next());
      const prefix = next() % (v6 ? 129 : 33);
      const text = `${formatIP({ family: v6 ? 6 : 4, value })}/${prefix}`;
      const ours = parseCidr(text)!;
      const theirs = v6 ? new Address6(text) : new Address4(text);
      expect(formatIP({ family: ours.cidr.family, value: ours.cidr.base })).toBe(theirs.startAddress().correctForm());
      expect(formatIP({ family: ours.cidr.family, value: cidrLast(ours.cidr) })).toBe(theirs.endAddress().correctForm());
    }
  });
});

describe("cidr helpers", () => {
  const c = (t: string) => parseCidr(t)!.cidr;

  it("familyBits", () => {
    expect(familyBits(4)).toBe(32);
    expect(familyBits(6)).toBe(128);
  });

  it("cidrLast", () => {
    expect(formatIP({ family: 4, value: cidrLast(c("172.31.16.0/20")) })).toBe("172.31.31.255");
    expect(formatIP({ family: 6, value: cidrLast(c("2406:da1e:c4:ed01::/64")) })).toBe("2406:da1e:c4:ed01:ffff:ffff:ffff:ffff");
    expect(cidrLast(c("0.0.0.0/0"))).toBe(0xffffffffn);
  });

  it.each([
    ["172.31.16.0/20", "172.31.16.0", true],
    ["172.31.16.0/20", "172.31.31.255", true],
    ["172.31.16.0/20", "172.31.32.0", false],
    ["172.31.16.0/20", "172.31.15.255", false],
    ["2406:da1e:c4:ed01::/64", "2406:da1e:c4:ed01:c57d::f", true],
    ["2406:da1e:c4:ed01::/64", "2406:da1e:c4:ed02::1", false],
    ["::/0", "1.2.3.4", false],
    ["0.0.0.0/0", "::ffff:1.2.3.4", false],
  ])("cidrContains(%s, %s) = %s", (cidr, ip, want) => {
    expect(cidrContains(c(cidr), parseIP(ip)!)).toBe(want);
  });

  it.each([
    ["10.0.0.0/8", "10.1.0.0/16", true],
    ["10.1.0.0/16", "10.0.0.0/8", true],
    ["10.0.0.0/24", "10.0.0.0/24", true],
    ["10.0.0.0/24", "10.0.1.0/24", false],
    ["172.31.16.0/20", "172.31.32.0/24", false],
    ["::/0", "0.0.0.0/0", false],
    ["2406:da1e:c4:ed01::/64", "2406:da1e:c4:ed01:c57d::/80", true],
  ])("cidrsOverlap(%s, %s) = %s", (a, b, want) => {
    expect(cidrsOverlap(c(a), c(b))).toBe(want);
  });
});

/**
 * The parser as it was written with regular expressions, before they became
 * character loops (for start-up cost): the loops must accept and refuse
 * exactly what it did.
 */
function regexParseIP(text: string): { family: 4 | 6; value: bigint } | undefined {
  const parseV4 = (t: string): bigint | undefined => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(t);
    if (!m) return undefined;
    let value = 0n;
    for (const octet of m.slice(1)) {
      if (!/^(0|[1-9]\d*)$/.test(octet) || Number(octet) > 255) return undefined;
      value = (value << 8n) | BigInt(Number(octet));
    }
    return value;
  };
  const groupsOf = (side: string, v4Tail: boolean): number[] | undefined => {
    if (side === "") return [];
    const parts = side.split(":");
    const groups: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (v4Tail && i === parts.length - 1 && part.includes(".")) {
        const v4 = parseV4(part);
        if (v4 === undefined) return undefined;
        groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) groups.push(parseInt(part, 16));
      else return undefined;
    }
    return groups;
  };
  if (!text.includes(":")) {
    const v = parseV4(text);
    return v === undefined ? undefined : { family: 4, value: v };
  }
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const head = groupsOf(halves[0]!, false);
    const tail = groupsOf(halves[1]!, true);
    if (!head || !tail || 8 - head.length - tail.length < 1) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = groupsOf(text, true);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return { family: 6, value };
}

describe("parseIP and parseCidr without regular expressions", () => {
  const alphabet = "0123456789abcdefABCDEFg:.%/ -\u0663";
  const seeds = ["172.31.28.16", "0.0.0.0", "255.255.255.255", "2406:da1e:c4:ed01:c57d::", "::ffff:1.2.3.4", "::", "1:2:3:4:5:6:7:8", "fe80::1", "10.0.0.0/24", "fd00::/64"];

  /** A real address or CIDR with one or two characters changed, dropped or added; or noise. */
  function nearMiss(next: () => number, i: number): string {
    if (i % 2 === 1) {
      let s = "";
      for (let k = next() % 20; k > 0; k--) s += alphabet[next() % 17]!; // digits, a-f, A, ':' mostly
      return s;
    }
    let s = seeds[next() % seeds.length]!;
    for (let k = 0; k <= next() % 2; k++) {
      const at = next() % (s.length + 1);
      const ch = alphabet[next() % alphabet.length]!;
      const op = next() % 3;
      s = op === 0 ? s.slice(0, at) + ch + s.slice(at + 1) : op === 1 ? s.slice(0, at) + s.slice(at + 1) : s.slice(0, at) + ch + s.slice(at);
    }
    return s;
  }

  it("accept and refuse exactly what the regex formulation did, on 30,000 near-miss strings", () => {
    const next = rng(99);
    let accepted = 0;
    for (let i = 0; i < 30000; i++) {
      const s = nearMiss(next, i);
      const expected = regexParseIP(s);
      expect(parseIP(s), JSON.stringify(s)).toEqual(expected);
      if (expected) accepted++;
      const slash = s.indexOf("/");
      if (slash >= 0) {
        const ip = regexParseIP(s.slice(0, slash));
        const prefix = s.slice(slash + 1);
        const ok = ip !== undefined && /^(0|[1-9]\d*)$/.test(prefix) && Number(prefix) <= (ip.family === 4 ? 32 : 128);
        expect(parseCidr(s) !== undefined, JSON.stringify(s)).toBe(ok);
      }
    }
    expect(accepted).toBeGreaterThan(3000);
  });
});
