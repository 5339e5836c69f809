import { describe, expect, it } from "vitest";
import { CniError, ErrorCode } from "../../lib/cni/errors";
import {
  atLeast,
  compareVersions,
  isSupportedVersion,
  LATEST_VERSION,
  parseVersion,
  requireSupportedVersion,
  requireVersionForCommand,
  SUPPORTED_VERSIONS,
} from "../../lib/cni/version";
import { VERSIONS } from "./helpers/cni";

function cniErrorOf(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return e as CniError;
  }
  throw new Error("expected a CniError, nothing was thrown");
}

describe("supported versions", () => {
  it("are exactly 0.3.0, 0.3.1, 0.4.0, 1.0.0 and 1.1.0, oldest first, latest 1.1.0", () => {
    expect([...SUPPORTED_VERSIONS]).toEqual(["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
    expect(LATEST_VERSION).toBe("1.1.0");
    expect(SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1]).toBe(LATEST_VERSION);
  });
});

describe("parseVersion", () => {
  it.each([
    ["0.3.0", [0, 3, 0]],
    ["1.1.0", [1, 1, 0]],
    ["10.20.30", [10, 20, 30]],
    ["0.0.0", [0, 0, 0]],
  ])("%j -> %j", (v, expected) => {
    expect(parseVersion(v)).toEqual(expected);
  });

  it.each(["", "1", "1.0", "1.0.0.0", "v1.0.0", "1.0.0-rc1", " 1.0.0", "1.0.0 ", "a.b.c", "1..0", "1.0.x", "-1.0.0"])(
    "%j is not a version",
    (v) => {
      expect(parseVersion(v)).toBeUndefined();
    },
  );
});

describe("compareVersions / atLeast", () => {
  it.each([
    ["0.3.0", "0.3.1", -1],
    ["0.3.1", "0.4.0", -1],
    ["0.4.0", "1.0.0", -1],
    ["1.0.0", "1.1.0", -1],
    ["1.1.0", "1.1.0", 0],
    ["0.10.0", "0.9.0", 1], // numeric, not lexical
    ["2.0.0", "1.99.99", 1],
    ["1.0.10", "1.0.9", 1],
  ])("%s vs %s", (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
    expect(Math.sign(compareVersions(b, a))).toBe(0 - sign || 0);
    expect(atLeast(a, b)).toBe(sign >= 0);
  });

  it("orders the supported versions as listed", () => {
    for (let i = 0; i < VERSIONS.length; i++) {
      for (let j = 0; j < VERSIONS.length; j++) {
        expect(Math.sign(compareVersions(VERSIONS[i]!, VERSIONS[j]!))).toBe(Math.sign(i - j));
      }
    }
  });

  it("refuses to compare malformed versions", () => {
    expect(() => compareVersions("1.0", "1.0.0")).toThrow();
    expect(() => compareVersions("1.0.0", "")).toThrow();
  });
});

describe("isSupportedVersion / requireSupportedVersion", () => {
  it.each(VERSIONS.map((v) => [v]))("%s is accepted", (v) => {
    expect(isSupportedVersion(v)).toBe(true);
    expect(requireSupportedVersion(v)).toBe(v);
  });

  it.each([
    ["0.1.0", "0.1.0"],
    ["0.2.0", "0.2.0"],
    ["0.4.1", "0.4.1"],
    ["1.0.1", "1.0.1"],
    ["1.2.0", "1.2.0"],
    ["2.0.0", "2.0.0"],
    ["empty", ""],
    ["missing", undefined],
    ["null", null],
    ["short form", "1.0"],
    ["v prefix", "v1.0.0"],
    ["padded", " 1.0.0"],
    ["number", 1],
    ["float", 1.1],
    ["boolean", true],
    ["array", ["1.0.0"]],
    ["object", { version: "1.0.0" }],
  ])("unknown (%s) is code 1 naming every supported version", (_label, v) => {
    expect(isSupportedVersion(v)).toBe(false);
    const err = cniErrorOf(() => requireSupportedVersion(v));
    expect(err.code).toBe(ErrorCode.IncompatibleVersion);
    for (const s of SUPPORTED_VERSIONS) expect(err.message).toContain(s);
  });

  it("names the offending version in the message", () => {
    expect(cniErrorOf(() => requireSupportedVersion("0.2.0")).message).toContain('"0.2.0"');
    expect(cniErrorOf(() => requireSupportedVersion(undefined)).message).toContain("null");
  });
});

describe("requireVersionForCommand", () => {
  const minimum: Record<string, string | undefined> = {
    ADD: undefined,
    DEL: undefined,
    VERSION: undefined,
    CHECK: "0.4.0",
    GC: "1.1.0",
    STATUS: "1.1.0",
  };
  const cases: [string, string, boolean][] = [];
  for (const command of Object.keys(minimum)) {
    for (const v of VERSIONS) cases.push([command, v, minimum[command] === undefined || atLeast(v, minimum[command]!)]);
  }

  it("the table has the expected refusals", () => {
    const refused = cases.filter(([, , ok]) => !ok).map(([c, v]) => `${c}@${v}`);
    expect(refused).toEqual([
      "CHECK@0.3.0",
      "CHECK@0.3.1",
      "GC@0.3.0",
      "GC@0.3.1",
      "GC@0.4.0",
      "GC@1.0.0",
      "STATUS@0.3.0",
      "STATUS@0.3.1",
      "STATUS@0.4.0",
      "STATUS@1.0.0",
    ]);
  });

  it.each(cases)("%s with config %s allowed=%s", (command, v, ok) => {
    if (ok) {
      expect(() => requireVersionForCommand(command, v)).not.toThrow();
    } else {
      const err = cniErrorOf(() => requireVersionForCommand(command, v));
      expect(err.code).toBe(ErrorCode.IncompatibleVersion);
      expect(err.message).toContain(command);
      expect(err.message).toContain(v);
      expect(err.message).toContain(minimum[command]!);
    }
  });
});
