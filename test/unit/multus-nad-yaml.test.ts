import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { nadToYaml, nadsToYaml } from "../../lib/multus/nad-yaml";
import { toNetworkAttachmentDefinition, type NetworkAttachmentDefinition } from "../../lib/multus/spidermultus";
import { yamlAll } from "../fixtures/pools/helpers";

const seed = toNetworkAttachmentDefinition({
  source: "seed",
  doc: {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderMultusConfig",
    metadata: { name: "ipvlan-ens5", namespace: "kube-system" },
    spec: { cniType: "ipvlan", ipvlan: { master: ["ens5"] } },
  },
});

describe("nadToYaml", () => {
  it("prints the seed's NAD with the config as a literal block", () => {
    expect(nadToYaml(seed)).toBe(
      [
        "apiVersion: k8s.cni.cncf.io/v1",
        "kind: NetworkAttachmentDefinition",
        "metadata:",
        "  name: ipvlan-ens5",
        "  namespace: kube-system",
        "spec:",
        "  config: |-",
        "    {",
        '      "cniVersion": "0.3.1",',
        '      "name": "ipvlan-ens5",',
        '      "plugins": [',
        "        {",
        '          "type": "ipvlan-attach",',
        '          "master": "ens5",',
        '          "ipam": {',
        '            "type": "spiderpool-ipam"',
        "          }",
        "        }",
        "      ]",
        "    }",
        "",
      ].join("\n"),
    );
  });

  it("round-trips through a YAML parser: metadata exactly, the config as the same JSON", () => {
    const nad: NetworkAttachmentDefinition = {
      ...seed,
      metadata: {
        name: "n",
        annotations: { "a/b": 'quote " back\\slash: # not a comment', "yes": "no", "line": "one\ntwo", "c1": "\u0085\u2028\u00e9" },
      },
      spec: { config: JSON.stringify({ name: "x", text: "tab\there \u2028 \u0085 #: - [", n: 1 }, null, 2) },
    };
    const back = parse(nadToYaml(nad)) as NetworkAttachmentDefinition;
    expect(back.metadata).toEqual(nad.metadata);
    // Characters YAML may not hold raw are \u-escaped inside the JSON: the same value.
    expect(JSON.parse(back.spec.config)).toEqual(JSON.parse(nad.spec.config));
    expect(parse(nadToYaml(seed))).toEqual(seed);
  });

  it("separates several NADs as documents of one stream", () => {
    const other = { ...seed, metadata: { name: "ipvlan-ens6", namespace: "kube-system" } };
    const docs = yamlAll(nadsToYaml([seed, other])) as NetworkAttachmentDefinition[];
    expect(docs.map((d) => d.metadata.name)).toEqual(["ipvlan-ens5", "ipvlan-ens6"]);
    expect(JSON.parse(docs[1]!.spec.config)).toEqual(JSON.parse(seed.spec.config));
  });
});
