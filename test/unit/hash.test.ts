import { describe, expect, it } from "vitest";
import { fnv1a64 } from "../../lib/hash";

describe("fnv1a64", () => {
  it("matches the published FNV-1a 64 test vectors", () => {
    expect(fnv1a64("")).toBe("cbf29ce484222325");
    expect(fnv1a64("a")).toBe("af63dc4c8601ec8c");
    expect(fnv1a64("foobar")).toBe("85944171f73967e8");
  });

  // Outputs of the earlier 16-bit-limb implementation: pool cache keys and
  // fingerprints written by it stay valid.
  it("gives the same outputs as before on paths, NUL, non-ASCII and long input", () => {
    expect(fnv1a64("/etc/cni/spiderpool/pools")).toBe("9f4a49ac5a8d2f7b");
    expect(fnv1a64("c0ffee\0eth0")).toBe("2ba21fd802e76ba1");
    expect(fnv1a64("ñandú-🚀")).toBe("2aa789d865cb2f49");
    expect(fnv1a64("x".repeat(5000))).toBe("5d45fa080be4e345");
  });
});
