import { describe, expect, it } from "vitest";
import { formatExposition, type MetricFamily } from "../../lib/metrics/exposition";
import { ippoolFamilies } from "../../lib/metrics/ippool";
import { seedPools } from "../fixtures/pools/helpers";
import { parseExposition, sampleValue } from "../helpers/prometheus";

const family = (over: Partial<MetricFamily> = {}): MetricFamily => ({ name: "x_total", help: "Things.", type: "gauge", samples: [], ...over });

describe("formatExposition", () => {
  it("puts HELP and TYPE before each family's samples", () => {
    const text = formatExposition([
      family({ name: "a", samples: [{ labels: { k: "1" }, value: 1 }, { labels: { k: "2" }, value: 2 }] }),
      family({ name: "b", type: "counter", samples: [{ labels: {}, value: 0 }] }),
    ]);
    expect(text).toBe(
      ["# HELP a Things.", "# TYPE a gauge", 'a{k="1"} 1', 'a{k="2"} 2', "# HELP b Things.", "# TYPE b counter", "b 0", ""].join("\n"),
    );
    expect([...parseExposition(text).keys()]).toEqual(["a", "b"]);
  });

  it("escapes backslash, double quote and newline in label values, backslash and newline in HELP", () => {
    const value = 'a\\b"c\nd';
    const text = formatExposition([family({ help: "x\\y\nz", samples: [{ labels: { pool: value }, value: 1 }] })]);
    expect(text).toContain('x_total{pool="a\\\\b\\"c\\nd"} 1');
    expect(text).toContain("# HELP x_total x\\\\y\\nz");
    const parsed = parseExposition(text).get("x_total")!;
    expect(parsed.samples[0]!.labels.pool).toBe(value);
    expect(parsed.help).toBe("x\\y\nz");
  });

  it("prints big integers exactly, and the special floats as Prometheus spells them", () => {
    const big = 2n ** 112n - 1n;
    const text = formatExposition([
      family({
        samples: [
          { labels: { v: "big" }, value: big },
          { labels: { v: "nan" }, value: NaN },
          { labels: { v: "inf" }, value: Infinity },
          { labels: { v: "-inf" }, value: -Infinity },
          { labels: { v: "frac" }, value: 0.5 },
        ],
      }),
    ]);
    const parsed = parseExposition(text);
    expect(sampleValue(parsed, "x_total", { v: "big" })).toBe("5192296858534827628530496329220095");
    expect(["nan", "inf", "-inf", "frac"].map((v) => sampleValue(parsed, "x_total", { v }))).toEqual(["NaN", "+Inf", "-Inf", "0.5"]);
  });

  it("refuses names the format cannot carry", () => {
    expect(() => formatExposition([family({ name: "bad-name" })])).toThrow("invalid metric name");
    expect(() => formatExposition([family({ samples: [{ labels: { "bad-label": "x" }, value: 1 } ] })])).toThrow("invalid metric label name");
    expect(() => formatExposition([family({ samples: [{ labels: { __reserved: "x" }, value: 1 }] })])).toThrow("invalid metric label name");
  });
});

describe("ippoolFamilies", () => {
  it("reports each pool's total, allocated, quarantined, default and disabled, and the attachments, labelled by node", () => {
    const pools = seedPools().filter((p) => p.nodeName.includes("master"));
    const text = formatExposition(ippoolFamilies({ node: "master", pools, allocated: new Map([["master-v4", 3]]), conflicts: new Map([["master-v4", 1]]), attachments: 3 }));
    const parsed = parseExposition(text);
    expect([...parsed.keys()]).toEqual([
      "spiderpool_ippool_total_ips",
      "spiderpool_ippool_allocated_ips",
      "spiderpool_ippool_conflict_ips",
      "spiderpool_ippool_default",
      "spiderpool_ippool_disabled",
      "spiderpool_attachments_total",
    ]);
    for (const f of parsed.values()) expect(f.type).toBe("gauge");
    const v4 = { pool: "master-v4", ipversion: "4", node: "master" };
    const v6 = { pool: "master-v6", ipversion: "6", node: "master" };
    expect(sampleValue(parsed, "spiderpool_ippool_total_ips", v4)).toBe("16");
    expect(sampleValue(parsed, "spiderpool_ippool_total_ips", v6)).toBe("16");
    expect(sampleValue(parsed, "spiderpool_ippool_allocated_ips", v4)).toBe("3");
    expect(sampleValue(parsed, "spiderpool_ippool_allocated_ips", v6)).toBe("0");
    expect(sampleValue(parsed, "spiderpool_ippool_conflict_ips", v4)).toBe("1");
    expect(sampleValue(parsed, "spiderpool_ippool_conflict_ips", v6)).toBe("0");
    expect(sampleValue(parsed, "spiderpool_ippool_default", v4)).toBe("1");
    expect(sampleValue(parsed, "spiderpool_ippool_disabled", v6)).toBe("0");
    expect(sampleValue(parsed, "spiderpool_attachments_total", { node: "master" })).toBe("3");
  });
});
