import { describe, expect, it } from "vitest";
import { MAX_NESTING, deepNestingPath, jsonMayNestDeeperThan, nestingProblem, nestsDeeperThan } from "../../lib/nesting";
import { parseYamlAll } from "../../lib/yaml";

/** `[[...[]...]]` with `depth` arrays. */
const nested = (depth: number): unknown => {
  let v: unknown = [];
  for (let i = 1; i < depth; i++) v = [v];
  return v;
};

describe("nesting bound", () => {
  it("counts objects and arrays, not scalars, and stops exactly at the bound", () => {
    expect(nestsDeeperThan(7)).toBe(false);
    expect(nestsDeeperThan({ a: 1 }, 1)).toBe(false);
    expect(nestsDeeperThan({ a: [1] }, 1)).toBe(true);
    expect(nestsDeeperThan(nested(MAX_NESTING))).toBe(false);
    expect(nestsDeeperThan(nested(MAX_NESTING + 1))).toBe(true);
    expect(nestsDeeperThan({ a: nested(MAX_NESTING - 1), b: 1 })).toBe(false);
    expect(nestsDeeperThan({ b: 1, a: nested(MAX_NESTING) })).toBe(true);
  });

  it("walks 200,000 levels without recursion", () => {
    expect(nestsDeeperThan(JSON.parse("[".repeat(200_000) + "]".repeat(200_000)))).toBe(true);
  });

  it("walks a value shared along 2^60 paths (a YAML alias bomb) only once per depth", () => {
    let v: unknown = { leaf: true };
    for (let i = 0; i < 60; i++) v = { left: v, right: v };
    expect(nestsDeeperThan(v)).toBe(false);
    expect(nestsDeeperThan(v, 30)).toBe(true);
  });

  it("names where the deep part is", () => {
    const conf = { cniVersion: "1.0.0", ipam: { type: "spiderpool-ipam", ippools: [{ ok: 1 }, nested(200)] } };
    expect(deepNestingPath(conf)).toBe("ipam.ippools[1][0]…");
    expect(nestingProblem(conf)).toBe("nests deeper than 100 levels (at ipam.ippools[1][0]…)");
    expect(nestingProblem({ ipam: { ippools: [] } })).toBeUndefined();
  });

  it("counts brackets in JSON text as a cautious first test", () => {
    const deep = "[".repeat(MAX_NESTING + 1) + "]".repeat(MAX_NESTING + 1);
    expect(jsonMayNestDeeperThan(JSON.stringify({ a: [1, { b: [] }] }))).toBe(false);
    expect(jsonMayNestDeeperThan(deep)).toBe(true);
    // Brackets inside strings count too: a false alarm costs only the exact walk.
    expect(jsonMayNestDeeperThan(JSON.stringify({ a: "[".repeat(MAX_NESTING + 1) }))).toBe(true);
    expect(jsonMayNestDeeperThan(JSON.stringify({ a: nested(MAX_NESTING) }))).toBe(true);
  });
});

describe("parseYamlAll", () => {
  it("refuses a document nested past the bound, naming the document", () => {
    const deep = `kind: x\n---\na: ${"[".repeat(150)}${"]".repeat(150)}\n`;
    expect(() => parseYamlAll(deep)).toThrow("document 2 nests deeper than 100 levels (at a[0][0][0]…)");
  });

  it("reads ordinary nesting", () => {
    expect(parseYamlAll("a: {b: [[1]]}\n---\nc: 2\n")).toEqual([{ a: { b: [[1]] } }, { c: 2 }]);
  });
});
