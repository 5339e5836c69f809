import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../lib/cni/errors";
import { buildPools } from "../../lib/ipam/pool";
import { parsePoolText } from "../../lib/ipam/pool-load";
import { SEED_PATH, catchCni, poolDoc, yamlAll } from "../fixtures/pools/helpers";

const SRC = "pools.yaml";
const names = (docs: unknown[]) => docs.map((d) => (d as { metadata: { name: string } }).metadata.name);
const a = poolDoc("a", { subnet: "10.0.0.0/24" });
const b = poolDoc("b", { subnet: "10.1.0.0/24" });

describe("parsePoolText", () => {
  it("reads the seed multi-document YAML stream", () => {
    const docs = parsePoolText(readFileSync(SEED_PATH, "utf8"), SEED_PATH, yamlAll);
    expect(names(docs)).toEqual(["master-v4", "master-v6", "worker1-v4", "worker1-v6"]);
    expect(buildPools(docs.map((doc) => ({ source: SEED_PATH, doc })))).toHaveLength(4);
  });

  it.each([
    ["single YAML document", "apiVersion: spiderpool.spidernet.io/v2beta1\nkind: SpiderIPPool\nmetadata:\n  name: a\nspec:\n  subnet: 10.0.0.0/24\n", ["a"]],
    ["YAML stream with empty documents", "---\n---\n" + "kind: SpiderIPPool\nmetadata: {name: a}\n---\n# only a comment\n---\nkind: SpiderIPPool\nmetadata: {name: b}\n", ["a", "b"]],
    ["JSON object", JSON.stringify(a), ["a"]],
    ["JSON array", JSON.stringify([a, null, b]), ["a", "b"]],
    ["pretty JSON with leading whitespace", `\n  ${JSON.stringify(a, null, 2)}`, ["a"]],
    ["kind List (JSON)", JSON.stringify({ apiVersion: "v1", kind: "List", items: [a, b] }), ["a", "b"]],
    ["kind SpiderIPPoolList (YAML)", `apiVersion: spiderpool.spidernet.io/v2beta1\nkind: SpiderIPPoolList\nitems:\n  - ${JSON.stringify(a)}\n  - ${JSON.stringify(b)}\n`, ["a", "b"]],
    ["empty List", JSON.stringify({ kind: "List", items: [] }), []],
    ["empty file", "", []],
    ["only comments", "# nothing here\n", []],
    ["YAML flow mapping", "{kind: SpiderIPPool, metadata: {name: a}}", ["a"]],
  ])("%s", (_, text, want) => {
    expect(names(parsePoolText(text, SRC, yamlAll))).toEqual(want);
  });

  it.each([
    ["broken YAML", "kind: SpiderIPPool\nmetadata:\n  name: [a\n", ["pools.yaml", "cannot parse pool file as YAML"]],
    ["broken JSON", '{"kind": "SpiderIPPool", ', ["pools.yaml", "cannot parse pool file as JSON"]],
    ["a scalar document", "just a string\n", ["pools.yaml", "document 1 is a string"]],
    ["a scalar in an array", JSON.stringify([a, 42]), ["pools.yaml", "document 1[1] is a number"]],
    ["List items not an array", JSON.stringify({ kind: "List", items: { a: 1 } }), ["pools.yaml", "document 1.items", "must be an array"]],
  ])("%s is code 7 naming the file", (_, text, says) => {
    const err = catchCni(() => parsePoolText(text, SRC, yamlAll));
    expect(err.code).toBe(ErrorCode.InvalidConfig);
    for (const fragment of says) expect(err.message).toContain(fragment);
  });

  it("refuses a JSON document nested 200,000 deep as code 7 naming the file, before walking it", () => {
    const deep = "[".repeat(200_000) + "]".repeat(200_000);
    const err = catchCni(() => parsePoolText(deep, "deep.json", yamlAll));
    expect(err.code).toBe(ErrorCode.InvalidConfig);
    expect(err.message).toBe("deep.json: document 1 nests deeper than 100 levels (at [0][0][0][0]…)");
  });

  it("refuses deep nesting inside a pool document whatever the parser", () => {
    const doc = poolDoc("a", { subnet: "10.0.0.0/24" }, { status: { x: JSON.parse("[".repeat(150) + "]".repeat(150)) } });
    const err = catchCni(() => parsePoolText(JSON.stringify(doc), SRC, yamlAll));
    expect(err.message).toBe("pools.yaml: document 1 nests deeper than 100 levels (at status.x[0][0]…)");
    const viaYaml = catchCni(() => parsePoolText("status: deep\n", SRC, () => [doc]));
    expect(viaYaml.message).toContain("pools.yaml: document 1 nests deeper than 100 levels");
  });

  it("wraps whatever the injected parser throws", () => {
    const err = catchCni(() =>
      parsePoolText("a: b", "x.yaml", () => {
        throw new Error("boom at line 1");
      }),
    );
    expect(err.message).toBe("x.yaml: cannot parse pool file as YAML: boom at line 1");
  });
});
