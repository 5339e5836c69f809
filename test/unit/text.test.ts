import { describe, expect, it } from "vitest";
import { parseVersion } from "../../lib/cni/version";
import { interfaceNameProblem } from "../../lib/cni/env";
import { hasSlashColonNulOrSpace, isDigits, isDnsSubdomainName, isLowerHex, isNameToken } from "../../lib/text";

// The named checks, parseVersion and interfaceNameProblem against the
// regular expressions that define them, on many generated inputs.
const ALPHABET = ["0", "1", "9", "a", "f", "z", "A", "F", "Z", "_", ".", "-", ":", "/", "g", " ", "\t", "\0", "é", "٣", "\u0085", "\u00a0", "\u2028", "\ufeff", "\u3000"];

/** xorshift32: repeatable, and its low bits are not periodic (unlike a power-of-two LCG's). */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function* inputs(): Generator<string> {
  yield "";
  for (const a of ALPHABET) yield a;
  const next = random(11);
  for (let i = 0; i < 6000; i++) {
    let s = "";
    // mostly the first 15 characters (the plausible ones), so matches are common
    for (let k = 1 + (i % 20); k > 0; k--) s += ALPHABET[next() % (i % 4 === 0 ? ALPHABET.length : 15)]!;
    yield s;
  }
  const hex = "0123456789abcdefAg";
  for (let i = 0; i < 300; i++) {
    let s = "";
    // 15 to 17 characters; every other string may hold an uppercase A or a g
    for (let k = 15 + (i % 3); k > 0; k--) s += hex[next() % (i % 2 ? hex.length : 16)]!;
    yield s;
  }
  for (let i = 0; i < 500; i++) {
    let s = "";
    for (let k = 1 + (i % 9); k > 0; k--) s += "01.9"[next() % 4]!;
    yield s; // version-like
  }
}

const versionRe = (v: string) => {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
};

const cases: [string, (s: string) => unknown, (s: string) => unknown][] = [
  ["isDigits", isDigits, (s) => /^\d+$/.test(s)],
  ["isLowerHex(16)", (s) => isLowerHex(s, 16), (s) => /^[0-9a-f]{16}$/.test(s)],
  ["isNameToken", isNameToken, (s) => /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(s)],
  ["isDnsSubdomainName", isDnsSubdomainName, (s) => /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(s)],
  ["hasSlashColonNulOrSpace", hasSlashColonNulOrSpace, (s) => /[/:\s\0\u0085]/.test(s)],
  ["parseVersion", parseVersion, versionRe],
  ["interfaceNameProblem (characters)", (s) => interfaceNameProblem(s) === "may not contain '/', ':', NUL or whitespace", (s) => {
    // the earlier checks (length, "." and "..") come first and are unchanged
    const earlier = s.length === 0 || new TextEncoder().encode(s).length > 15 || s === "." || s === "..";
    return !earlier && /[/:\s\0\u0085]/.test(s);
  }],
];

describe("the token checks agree with their defining regular expressions", () => {
  for (const [name, ours, regex] of cases) {
    it(name, () => {
      let accepted = 0;
      for (const s of inputs()) {
        const expected = regex(s);
        expect(ours(s), JSON.stringify(s)).toEqual(expected);
        if (expected) accepted++;
      }
      expect(accepted).toBeGreaterThan(5); // the inputs reach the accepting side too
    });
  }

  it("interfaceNameProblem refuses every /\\s/ character", () => {
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      if (!/\s/.test(ch)) continue;
      expect(interfaceNameProblem(`a${ch}b`), `U+${c.toString(16)}`).toBe("may not contain '/', ':', NUL or whitespace");
    }
    expect(interfaceNameProblem("eth0")).toBeUndefined();
  });
});
