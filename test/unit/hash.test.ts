import { describe, expect, it } from "vitest";
import { fnv1a64 } from "../../lib/hash";

/** The textbook definition, with BigInt: what the limb arithmetic must equal. */
function reference(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return hash.toString(16).padStart(16, "0");
}

describe("fnv1a64", () => {
  it("matches the published FNV-1a 64 test vectors", () => {
    expect(fnv1a64("")).toBe("cbf29ce484222325");
    expect(fnv1a64("a")).toBe("af63dc4c8601ec8c");
    expect(fnv1a64("foobar")).toBe("85944171f73967e8");
  });

  it("equals the BigInt definition on container IDs, paths, non-ASCII and long input", () => {
    const inputs = ["/etc/cni/spiderpool/pools", "c0ffee\0eth0", "ñandú-🚀", "x".repeat(5000)];
    let seed = 7;
    for (let i = 0; i < 500; i++) {
      let s = "";
      const len = i % 40;
      for (let k = 0; k < len; k++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        s += String.fromCharCode(seed % 0x2ff);
      }
      inputs.push(s);
    }
    for (const s of inputs) expect(fnv1a64(s), JSON.stringify(s)).toBe(reference(s));
  });
});
