import { describe, expect, it } from "vitest";
import { parseIP } from "../../lib/ip/address";
import {
  type IPRange,
  dedupeRanges,
  formatIPRange,
  parseIPRange,
  rangeListContains,
  rangeSize,
  rangesOverlap,
  subtractRanges,
} from "../../lib/ip/range";

const r = (text: string): IPRange => {
  const range = parseIPRange(text);
  if (!range) throw new Error(`test setup: bad range ${text}`);
  return range;
};
const fmt = (ranges: IPRange[]) => ranges.map(formatIPRange);

describe("parseIPRange / formatIPRange", () => {
  it.each([
    ["172.31.28.16-172.31.28.31", "172.31.28.16-172.31.28.31", 16n],
    ["10.0.0.7", "10.0.0.7", 1n],
    ["10.0.0.7-10.0.0.7", "10.0.0.7", 1n],
    ["2406:da1e:c4:ed01:c57d::0-2406:da1e:c4:ed01:c57d::f", "2406:da1e:c4:ed01:c57d::-2406:da1e:c4:ed01:c57d::f", 16n],
    ["2406:da1e:c4:ed01:c57d::-2406:da1e:c4:ed01:c57d:ffff:ffff:ffff", "2406:da1e:c4:ed01:c57d::-2406:da1e:c4:ed01:c57d:ffff:ffff:ffff", 1n << 48n],
    ["0.0.0.0-255.255.255.255", "0.0.0.0-255.255.255.255", 1n << 32n],
  ])("%s", (text, canonical, size) => {
    const range = r(text);
    expect(formatIPRange(range)).toBe(canonical);
    expect(rangeSize(range)).toBe(size);
    expect(parseIPRange(canonical)).toEqual(range);
  });

  it.each([
    "",
    "-",
    "10.0.0.1-",
    "-10.0.0.1",
    "10.0.0.5-10.0.0.1",
    "10.0.0.1 - 10.0.0.5",
    "10.0.0.1- 10.0.0.5",
    "10.0.0.1-10.0.0.2-10.0.0.3",
    "10.0.0.1-::5",
    "::1-10.0.0.5",
    "10.0.0.0/24",
    "10.0.0.256",
    "fe80::1%eth0-fe80::2",
    "::f-::1",
  ])("refuses %j", (text) => {
    expect(parseIPRange(text)).toBeUndefined();
  });
});

describe("range predicates", () => {
  it.each([
    ["10.0.0.1-10.0.0.5", "10.0.0.5-10.0.0.9", true],
    ["10.0.0.1-10.0.0.5", "10.0.0.6-10.0.0.9", false],
    ["10.0.0.3", "10.0.0.1-10.0.0.5", true],
    ["::1-::5", "::3", true],
    ["0.0.0.1-0.0.0.5", "::1-::5", false],
  ])("rangesOverlap(%s, %s) = %s", (a, b, want) => {
    expect(rangesOverlap(r(a), r(b))).toBe(want);
    expect(rangesOverlap(r(b), r(a))).toBe(want);
  });

  it("rangeListContains checks family and bounds", () => {
    const list = [r("10.0.0.1-10.0.0.5"), r("10.0.1.0"), r("::1-::3")];
    expect(rangeListContains(list, parseIP("10.0.0.1")!)).toBe(true);
    expect(rangeListContains(list, parseIP("10.0.0.5")!)).toBe(true);
    expect(rangeListContains(list, parseIP("10.0.0.6")!)).toBe(false);
    expect(rangeListContains(list, parseIP("10.0.1.0")!)).toBe(true);
    expect(rangeListContains(list, parseIP("::2")!)).toBe(true);
    expect(rangeListContains(list, parseIP("0.0.0.2")!)).toBe(false);
    expect(rangeListContains([], parseIP("10.0.0.1")!)).toBe(false);
  });
});

describe("subtractRanges", () => {
  it.each([
    {
      name: "nothing removed",
      ranges: ["10.0.0.1-10.0.0.5"],
      remove: [],
      want: ["10.0.0.1-10.0.0.5"],
    },
    {
      name: "hole in the middle",
      ranges: ["10.0.0.1-10.0.0.9"],
      remove: ["10.0.0.4-10.0.0.5"],
      want: ["10.0.0.1-10.0.0.3", "10.0.0.6-10.0.0.9"],
    },
    {
      name: "both ends trimmed, removals unsorted",
      ranges: ["10.0.0.1-10.0.0.9"],
      remove: ["10.0.0.8-10.0.0.20", "10.0.0.0-10.0.0.2"],
      want: ["10.0.0.3-10.0.0.7"],
    },
    {
      name: "overlapping removals",
      ranges: ["10.0.0.1-10.0.0.20"],
      remove: ["10.0.0.5-10.0.0.10", "10.0.0.8-10.0.0.12", "10.0.0.9"],
      want: ["10.0.0.1-10.0.0.4", "10.0.0.13-10.0.0.20"],
    },
    {
      name: "whole range removed",
      ranges: ["10.0.0.1-10.0.0.5", "10.0.0.9"],
      remove: ["10.0.0.0-10.0.0.5"],
      want: ["10.0.0.9"],
    },
    {
      name: "input order kept, not sorted",
      ranges: ["10.0.0.50-10.0.0.52", "10.0.0.1-10.0.0.3", "10.0.0.20"],
      remove: ["10.0.0.51", "10.0.0.2"],
      want: ["10.0.0.50", "10.0.0.52", "10.0.0.1", "10.0.0.3", "10.0.0.20"],
    },
    {
      name: "other family untouched",
      ranges: ["10.0.0.1-10.0.0.3"],
      remove: ["::1-::ffff:ffff"],
      want: ["10.0.0.1-10.0.0.3"],
    },
    {
      name: "single address at the very top of the space",
      ranges: ["::fffe-::ffff", "255.255.255.254-255.255.255.255"],
      remove: ["::ffff", "255.255.255.255"],
      want: ["::fffe", "255.255.255.254"],
    },
  ])("$name", ({ ranges, remove, want }) => {
    expect(fmt(subtractRanges(ranges.map(r), remove.map(r)))).toEqual(want);
  });

  it("works on huge IPv6 ranges without enumerating them", () => {
    const huge = r("2406:da1e:c4:ed01:c57d::-2406:da1e:c4:ed01:c57d:ffff:ffff:ffff");
    const out = subtractRanges([huge], [r("2406:da1e:c4:ed01:c57d::1-2406:da1e:c4:ed01:c57d::ff")]);
    expect(fmt(out)).toEqual(["2406:da1e:c4:ed01:c57d::", "2406:da1e:c4:ed01:c57d::100-2406:da1e:c4:ed01:c57d:ffff:ffff:ffff"]);
    expect(out.reduce((s, x) => s + rangeSize(x), 0n)).toBe((1n << 48n) - 255n);
  });
});

describe("dedupeRanges", () => {
  it("counts an address once, at its first position", () => {
    const out = dedupeRanges([r("10.0.0.5-10.0.0.9"), r("10.0.0.1-10.0.0.7"), r("10.0.0.9"), r("10.0.0.20")]);
    expect(fmt(out)).toEqual(["10.0.0.5-10.0.0.9", "10.0.0.1-10.0.0.4", "10.0.0.20"]);
  });
});
