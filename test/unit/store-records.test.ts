// What the store accepts as a file name and as a record: a name that could
// leave dataDir or hide from listings is refused (code 4), a record that does
// not hold canonical addresses of its family is damaged (code 5, file named).
import { describe, expect, it } from "vitest";
import { CniError } from "../../lib/cni/errors";
import { safeName } from "../../lib/store/layout";
import { canonicalAddress, encodeAttachment, encodeClaim, parseAttachment, parseClaim, type AttachmentRecord } from "../../lib/store/records";

const codeOf = (fn: () => unknown): number | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e instanceof CniError ? e.code : -1;
  }
};

const record = (ips: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ v: 1, containerID: "c", ifname: "eth0", network: "n", pod: {}, ips, created: "t", ...extra });

describe("safeName", () => {
  it.each(["", ".", "..", ".tmp-eth0-1-1", ".hidden", "a/b", "../x", "a\0b", "x".repeat(256), "é".repeat(128)])("refuses %j with code 4", (name) => {
    expect(codeOf(() => safeName(name, "interface name"))).toBe(4);
  });

  it.each(["eth0", "net1", "a.b", "x".repeat(255), "%2e%2e%2f"])("accepts %j", (name) => {
    expect(safeName(name, "container ID")).toBe(name);
  });
});

describe("records", () => {
  it("accepts what ADD writes", () => {
    const r = parseAttachment(record([{ pool: "p-v4", address: "10.0.0.1", family: 4 }, { pool: "p-v6", address: "fd00::1", family: 6 }]), "f");
    expect(r.ips.map((e) => e.address)).toEqual(["10.0.0.1", "fd00::1"]);
  });

  it.each([
    ["a non-canonical address", [{ pool: "p", address: "10.0.0.01", family: 4 }]],
    ["an address of the other family", [{ pool: "p", address: "fd00::1", family: 4 }]],
    ["a path as address", [{ pool: "p", address: "../../etc/passwd", family: 4 }]],
    ["an upper-case IPv6 address", [{ pool: "p", address: "FD00::1", family: 6 }]],
    ["a path as pool", [{ pool: "../x", address: "10.0.0.1", family: 4 }]],
    ["an address twice", [{ pool: "p", address: "10.0.0.1", family: 4 }, { pool: "p", address: "10.0.0.1", family: 4 }]],
    ["a null entry", [null]],
  ])("is damaged with %s (code 5, file named)", (_what, ips) => {
    let err: unknown;
    try {
      parseAttachment(record(ips), "/data/attachments/c/eth0");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(5);
    expect((err as CniError).message).toContain("/data/attachments/c/eth0");
    expect((err as CniError).message).toContain("spiderpool-ipam store check");
  });

  it("claims need every field ADD writes", () => {
    const claim = { v: 1, containerID: "c", ifname: "eth0", network: "n", pool: "p", pod: {}, created: "t" };
    expect(parseClaim(JSON.stringify(claim), "f")).toEqual({ containerID: "c", ifname: "eth0", network: "n", pool: "p", pod: {}, created: "t" });
    for (const key of ["network", "pod", "created", "pool"]) {
      expect(codeOf(() => parseClaim(JSON.stringify({ ...claim, [key]: undefined }), "f")), key).toBe(5);
    }
    expect(codeOf(() => parseClaim("{}", "f"))).toBe(5);
    expect(codeOf(() => parseClaim("", "f"))).toBe(5);
  });

  it("the store's encoders write the format version, and parsing gives back what was encoded", () => {
    const r: AttachmentRecord = {
      containerID: "c",
      ifname: "eth0",
      network: "n",
      pod: { namespace: "ns", name: "p" },
      ips: [{ pool: "p-v4", address: "10.0.0.1", family: 4, ordinal: "3", fingerprint: "0123456789abcdef" }],
      created: "t",
    };
    expect(JSON.parse(encodeAttachment(r)).v).toBe(1);
    expect(parseAttachment(encodeAttachment(r), "f")).toEqual(r);
    const { ips: _ips, ...owner } = r;
    expect(parseClaim(encodeClaim(r, "p-v4"), "f")).toEqual({ ...owner, pool: "p-v4" });
  });

  it.each([
    ["no version", undefined, "no format version"],
    ["a later version", 2, "format version 2, not 1"],
    ["a version as text", "1", 'format version "1", not 1'],
  ])("a record or claim with %s is damaged, and says why", (_what, v, why) => {
    const text = JSON.stringify({ ...JSON.parse(record([])), v });
    expect(() => parseAttachment(text, "f")).toThrow(why);
    expect(() => parseClaim(JSON.stringify({ v, containerID: "c", ifname: "eth0", network: "n", pool: "p", pod: {}, created: "t" }), "f")).toThrow(why);
  });

  it("canonicalAddress is the claim file name of an address, or nothing", () => {
    expect(canonicalAddress("10.0.0.1")).toBe("10.0.0.1");
    expect(canonicalAddress("2406:da1e:c4:ed01:c57d::")).toBe("2406:da1e:c4:ed01:c57d::");
    expect(canonicalAddress("2406:da1e:c4:ed01:c57d:0:0:0")).toBeUndefined();
    expect(canonicalAddress("010.0.0.1")).toBeUndefined();
  });
});
