import { describe, expect, it } from "vitest";
import { describeSelector, matchesSelector } from "../../lib/ipam/labels";
import type { LabelSelector } from "../../lib/ipam/pool-schema";
import { isWildcard, wildcardMatch } from "../../lib/ipam/wildcard";

const labels = { zone: "a", tier: "web", gpu: "" };

describe("matchesSelector", () => {
  it.each<[string, LabelSelector, boolean]>([
    ["empty selector matches everything", {}, true],
    ["matchLabels equal", { matchLabels: { zone: "a" } }, true],
    ["matchLabels differ", { matchLabels: { zone: "b" } }, false],
    ["matchLabels key missing", { matchLabels: { rack: "1" } }, false],
    ["matchLabels empty value present", { matchLabels: { gpu: "" } }, true],
    ["all matchLabels must hold", { matchLabels: { zone: "a", tier: "db" } }, false],
    ["In hit", { matchExpressions: [{ key: "tier", operator: "In", values: ["db", "web"] }] }, true],
    ["In miss", { matchExpressions: [{ key: "tier", operator: "In", values: ["db"] }] }, false],
    ["In on a missing key", { matchExpressions: [{ key: "rack", operator: "In", values: [""] }] }, false],
    ["NotIn miss", { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["db"] }] }, true],
    ["NotIn hit", { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["web"] }] }, false],
    ["NotIn on a missing key holds", { matchExpressions: [{ key: "rack", operator: "NotIn", values: ["1"] }] }, true],
    ["Exists", { matchExpressions: [{ key: "gpu", operator: "Exists" }] }, true],
    ["Exists missing", { matchExpressions: [{ key: "rack", operator: "Exists" }] }, false],
    ["DoesNotExist", { matchExpressions: [{ key: "rack", operator: "DoesNotExist" }] }, true],
    ["DoesNotExist present", { matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] }, false],
    [
      "labels and expressions together",
      { matchLabels: { zone: "a" }, matchExpressions: [{ key: "tier", operator: "In", values: ["web"] }, { key: "gpu", operator: "Exists" }] },
      true,
    ],
    ["inherited keys are not labels", { matchExpressions: [{ key: "toString", operator: "Exists" }] }, false],
  ])("%s", (_, selector, want) => {
    expect(matchesSelector(selector, labels)).toBe(want);
  });

  it("describeSelector", () => {
    expect(
      describeSelector({
        matchLabels: { zone: "a" },
        matchExpressions: [
          { key: "t", operator: "In", values: ["x", "y"] },
          { key: "g", operator: "Exists" },
          { key: "h", operator: "DoesNotExist" },
        ],
      }),
    ).toBe("zone=a, t in (x,y), g, !h");
    expect(describeSelector({})).toBe("<everything>");
  });
});

describe("wildcardMatch", () => {
  it.each([
    ["master-v4", "master-v4", true],
    ["master-v4", "master-v6", false],
    ["master-*", "master-v4", true],
    ["*-v4", "worker1-v4", true],
    ["*-v4", "worker1-v6", false],
    ["*", "anything", true],
    ["worker?-v4", "worker1-v4", true],
    ["worker?-v4", "worker12-v4", false],
    ["worker[12]-v6", "worker2-v6", true],
    ["worker[12]-v6", "worker3-v6", false],
    ["worker[0-9]-*", "worker7-v4", true],
    ["worker[!1]-v4", "worker1-v4", false],
    ["worker[!1]-v4", "worker2-v4", true],
    ["worker[^1]-v4", "worker2-v4", true],
    ["pool.a", "poolxa", false], // "." is literal, not a regex dot
    ["a[b", "a[b", true], // unterminated class is literal
    ["[z-a]", "m", false], // bad class matches nothing
    ["(x|y)*", "x", false],
  ])("%s ~ %s = %s", (pattern, name, want) => {
    expect(wildcardMatch(pattern, name)).toBe(want);
  });

  it("isWildcard", () => {
    expect(isWildcard("master-v4")).toBe(false);
    expect(isWildcard("master-*")).toBe(true);
    expect(isWildcard("a?")).toBe(true);
    expect(isWildcard("[ab]")).toBe(true);
  });
});
