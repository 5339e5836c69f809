import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CniError, ErrorCode } from "../../lib/cni/errors";
import {
  collectDocuments,
  toNetworkAttachmentDefinition,
  toNetworkAttachmentDefinitions,
  type NetworkAttachmentDefinition,
} from "../../lib/multus/spidermultus";
import { yamlAll } from "../fixtures/pools/helpers";

const SEED_SMC = fileURLToPath(new URL("../fixtures/multus/seed-ipvlan-ens5.yaml", import.meta.url));
const SRC = "smc.yaml";

function smc(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderMultusConfig",
    metadata: { name: "ipvlan-ens5", namespace: "kube-system", ...metadata },
    spec,
  };
}

const ipvlan = (fields: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) =>
  smc({ cniType: "ipvlan", ipvlan: { master: ["ens5"], ...fields }, ...spec });

const convert = (doc: unknown) => toNetworkAttachmentDefinition({ source: SRC, doc });
const configOf = (nad: NetworkAttachmentDefinition) => JSON.parse(nad.spec.config) as Record<string, unknown>;
const pluginOf = (doc: unknown) => (configOf(convert(doc)).plugins as Record<string, unknown>[])[0]!;

function refusal(doc: unknown): CniError {
  try {
    convert(doc);
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error("expected the conversion to be refused");
}

describe("the seed's SpiderMultusConfig", () => {
  it("becomes upstream's NAD with our plugin types (no coordinator plugin, cniVersion 0.3.1)", () => {
    const docs = collectDocuments(yamlAll(readFileSync(SEED_SMC, "utf8")), SEED_SMC);
    const [nad, ...rest] = toNetworkAttachmentDefinitions(docs);
    expect(rest).toEqual([]);
    expect(nad).toEqual({
      apiVersion: "k8s.cni.cncf.io/v1",
      kind: "NetworkAttachmentDefinition",
      metadata: { name: "ipvlan-ens5", namespace: "kube-system" },
      spec: { config: expect.any(String) },
    });
    expect(configOf(nad!)).toEqual({
      cniVersion: "0.3.1",
      name: "ipvlan-ens5",
      plugins: [{ type: "ipvlan-attach", master: "ens5", ipam: { type: "spiderpool-ipam" } }],
    });
  });

  it("keeps upstream's key order in the config text", () => {
    const text = convert(ipvlan({ vlanID: 100, mtu: 9000, ippools: { ipv4: ["a"], ipv6: ["b"] } }, { enableCoordinator: true })).spec.config;
    const keys = [...text.matchAll(/"([A-Za-z_0-9]+)":/g)].map((m) => m[1]);
    expect(keys).toEqual(["cniVersion", "name", "plugins", "type", "master", "vlanID", "mtu", "coordinator", "enabled", "ipam", "type", "default_ipv4_ippool", "default_ipv6_ippool"]);
  });
});

describe("fields carried into the config", () => {
  it("ippools become default_ipv4_ippool / default_ipv6_ippool", () => {
    expect(pluginOf(ipvlan({ ippools: { ipv4: ["master-v4"], ipv6: ["master-v6", "v6-*"] } })).ipam).toEqual({
      type: "spiderpool-ipam",
      default_ipv4_ippool: ["master-v4"],
      default_ipv6_ippool: ["master-v6", "v6-*"],
    });
    expect(pluginOf(ipvlan({ ippools: { ipv4: [] } })).ipam).toEqual({ type: "spiderpool-ipam" });
  });

  it("vlanID is passed on beside the master (ipvlan-attach uses <master>.<vlanID>); 0 means none", () => {
    expect(pluginOf(ipvlan({ vlanID: 100 }))).toMatchObject({ master: "ens5", vlanID: 100 });
    const none = pluginOf(ipvlan({ vlanID: 0 }));
    expect(none.master).toBe("ens5");
    expect(none).not.toHaveProperty("vlanID");
  });

  it("mtu is passed on when given, 0 included (inherit)", () => {
    expect(pluginOf(ipvlan({ mtu: 1500 })).mtu).toBe(1500);
    expect(pluginOf(ipvlan({ mtu: 0 })).mtu).toBe(0);
    expect(pluginOf(ipvlan())).not.toHaveProperty("mtu");
  });

  it("spec.coordinator becomes ipvlan-attach's coordinator block (test/unit/multus-coordinator.test.ts has every field)", () => {
    expect(pluginOf(ipvlan({}, { coordinator: { mode: "underlay", detectIPConflict: true, detectGateway: true } })).coordinator).toEqual({
      enabled: true,
      detectIPConflict: true,
      detectGateway: true,
    });
  });

  it("enableCoordinator becomes coordinator.enabled only when given", () => {
    expect(pluginOf(ipvlan({}, { enableCoordinator: false })).coordinator).toEqual({ enabled: false });
    expect(pluginOf(ipvlan({}, { enableCoordinator: true })).coordinator).toEqual({ enabled: true });
    expect(pluginOf(ipvlan())).not.toHaveProperty("coordinator");
  });

  it("disableIPAM: true leaves the ipam block out", () => {
    expect(pluginOf(ipvlan({}, { disableIPAM: true }))).toEqual({ type: "ipvlan-attach", master: "ens5" });
    expect(pluginOf(ipvlan({}, { disableIPAM: false })).ipam).toEqual({ type: "spiderpool-ipam" });
  });

  it("chainCNIJsonData plugins follow ipvlan-attach, in order", () => {
    const conf = configOf(convert(ipvlan({}, { chainCNIJsonData: ['{"type":"tuning","sysctl":{"net.ipv4.conf.all.rp_filter":"0"}}', '{"type":"bandwidth"}'] })));
    expect((conf.plugins as { type: string }[]).map((p) => p.type)).toEqual(["ipvlan-attach", "tuning", "bandwidth"]);
  });

  it("annotations: cni-version, cr-name and cniconfig-name as upstream; all are carried to the NAD", () => {
    const annotations = {
      "multus.spidernet.io/cni-version": "1.0.0",
      "multus.spidernet.io/cr-name": "ens5-net",
      "cni.spidernet.io/cniconfig-name": "ens5_net",
      "example.com/owner": "team \"net\"",
    };
    const nad = convert(ipvlan({}, {}));
    expect(nad.metadata).not.toHaveProperty("annotations");
    const named = convert({ ...ipvlan(), metadata: { name: "ipvlan-ens5", namespace: "kube-system", annotations } });
    expect(named.metadata).toEqual({ name: "ens5-net", namespace: "kube-system", annotations });
    expect(configOf(named)).toMatchObject({ cniVersion: "1.0.0", name: "ens5_net" });
  });

  it("a namespace is optional; labels and server fields of an exported object do no harm", () => {
    const doc = ipvlan();
    doc.metadata = { name: "n1", labels: { a: "b" }, uid: "1234", resourceVersion: "7" };
    expect(convert(doc).metadata).toEqual({ name: "n1" });
  });
});

describe("refused by name, never dropped", () => {
  it.each([
    ["another cniType", smc({ cniType: "macvlan", macvlan: { master: ["ens5"] } }), ErrorCode.UnsupportedField, 'spec.cniType: unsupported: "macvlan"'],
    ["sriov cniType", smc({ cniType: "sriov", sriov: { resourceName: "x" } }), ErrorCode.UnsupportedField, 'spec.cniType: unsupported: "sriov"'],
    ["custom cniType", smc({ cniType: "custom", customCNI: "{}" }), ErrorCode.UnsupportedField, 'spec.cniType: unsupported: "custom"'],
    ["a macvlan block beside ipvlan", ipvlan({}, { macvlan: { master: ["ens6"] } }), ErrorCode.UnsupportedField, "spec.macvlan: unsupported"],
    ["an sriov block beside ipvlan", ipvlan({}, { sriov: { resourceName: "x" } }), ErrorCode.UnsupportedField, "spec.sriov: unsupported"],
    ["a bond", ipvlan({ master: ["ens5", "ens6"], bond: { name: "bond0", mode: 1 } }), ErrorCode.UnsupportedField, "spec.ipvlan.bond: unsupported"],
    ["two masters", ipvlan({ master: ["ens5", "ens6"] }), ErrorCode.UnsupportedField, "spec.ipvlan.master: unsupported: 2 interfaces need a bond"],
    ["rdmaResourceName", ipvlan({ rdmaResourceName: "rdma/ens5" }), ErrorCode.UnsupportedField, "spec.ipvlan.rdmaResourceName: unsupported"],
    ["the coordinator's overlay mode", ipvlan({}, { coordinator: { mode: "overlay" } }), ErrorCode.UnsupportedField, 'spec.coordinator.mode: unsupported: "overlay"'],
    ["customCNI with ipvlan", ipvlan({}, { customCNI: "{}" }), ErrorCode.UnsupportedField, "spec.customCNI: unsupported"],
    ["an unknown ipvlan field", ipvlan({ mode: "l3" }), ErrorCode.UnsupportedField, "spec.ipvlan.mode: unknown field"],
    ["an unknown spec field", ipvlan({}, { foo: 1 }), ErrorCode.UnsupportedField, "spec.foo: unknown field"],
    ["an unknown ippools field", ipvlan({ ippools: { ipv4: ["a"], matchMasterSubnet: true } }), ErrorCode.UnsupportedField, "spec.ipvlan.ippools.matchMasterSubnet: unknown field"],
  ])("%s (code 2)", (_, doc, code, text) => {
    const err = refusal(doc);
    expect(err.code).toBe(code);
    expect(err.message).toContain(`${SRC}: SpiderMultusConfig kube-system/ipvlan-ens5: ${text}`);
  });

  it.each([
    ["vlanID above 4094", ipvlan({ vlanID: 4095 }), "spec.ipvlan.vlanID"],
    ["negative vlanID", ipvlan({ vlanID: -1 }), "spec.ipvlan.vlanID"],
    ["fractional vlanID", ipvlan({ vlanID: 1.5 }), "spec.ipvlan.vlanID"],
    ["mtu 67", ipvlan({ mtu: 67 }), "spec.ipvlan.mtu: must be 0"],
    ["no master", ipvlan({ master: [] }), "spec.ipvlan.master: needs at least one interface"],
    ["missing ipvlan", smc({ cniType: "ipvlan" }), "spec.ipvlan: required for cniType ipvlan"],
    ["missing cniType", smc({ ipvlan: { master: ["ens5"] } }), "spec.cniType: required field is missing"],
    ["a master name that is not an interface name", ipvlan({ master: ["bad/name"] }), "spec.ipvlan.master[0]: interface name"],
    ["a VLAN master name over 15 bytes", ipvlan({ master: ["enp129s0f1np1"], vlanID: 4000 }), 'spec.ipvlan.vlanID: interface name "enp129s0f1np1.4000" is longer than 15 bytes'],
    ["ippools with disableIPAM", ipvlan({ ippools: { ipv4: ["a"] } }, { disableIPAM: true }), "spec.ipvlan.ippools: has no effect with spec.disableIPAM: true"],
    ["a CNI version we do not speak", { ...ipvlan(), metadata: { name: "ipvlan-ens5", namespace: "kube-system", annotations: { "multus.spidernet.io/cni-version": "0.2.0" } } }, 'metadata.annotations["multus.spidernet.io/cni-version"]: "0.2.0" is not a CNI version'],
    ["a bad cr-name", { ...ipvlan(), metadata: { name: "ipvlan-ens5", namespace: "kube-system", annotations: { "multus.spidernet.io/cr-name": "Bad_Name" } } }, 'metadata.annotations["multus.spidernet.io/cr-name"]: "Bad_Name" is not a DNS-1123 name'],
    ["chainCNIJsonData that is not a plugin", ipvlan({}, { chainCNIJsonData: ["[1]"] }), 'spec.chainCNIJsonData[0]: must be a JSON object with a "type"'],
    ["chainCNIJsonData that is not JSON", ipvlan({}, { chainCNIJsonData: ["{"] }), "spec.chainCNIJsonData[0]: not JSON"],
    ["a pool name that is empty", ipvlan({ ippools: { ipv6: [""] } }), "spec.ipvlan.ippools.ipv6[0]: a pool name may not be empty"],
  ])("%s (code 7)", (_, doc, text) => {
    const err = refusal(doc);
    expect(err.code).toBe(ErrorCode.InvalidConfig);
    expect(err.message).toContain(`SpiderMultusConfig kube-system/ipvlan-ens5: ${text}`);
  });

  it("names the wrong kind, e.g. a pool file given by mistake", () => {
    const err = refusal({ apiVersion: "spiderpool.spidernet.io/v2beta1", kind: "SpiderIPPool", metadata: { name: "master-v4" }, spec: {} });
    expect(err.code).toBe(ErrorCode.InvalidConfig);
    expect(err.message).toContain('SpiderMultusConfig master-v4: kind: document is kind "SpiderIPPool"');
  });

  it("names an invalid object name", () => {
    expect(refusal({ ...ipvlan(), metadata: { name: "Ipvlan_Ens5" } }).message).toContain("metadata.name: must be a DNS-1123 name");
  });
});

describe("several documents", () => {
  it("Lists are unwrapped and each document converted in order", () => {
    const a = ipvlan();
    const b = { ...ipvlan(), metadata: { name: "ipvlan-ens6", namespace: "kube-system" } };
    const docs = collectDocuments([{ apiVersion: "v1", kind: "List", items: [a, null] }, b], SRC);
    expect(toNetworkAttachmentDefinitions(docs).map((n) => n.metadata.name)).toEqual(["ipvlan-ens5", "ipvlan-ens6"]);
  });

  it("two documents making one NAD are refused, naming both", () => {
    const renamed = { ...ipvlan(), metadata: { name: "other", namespace: "kube-system", annotations: { "multus.spidernet.io/cr-name": "ipvlan-ens5" } } };
    expect(() => toNetworkAttachmentDefinitions(collectDocuments([ipvlan(), renamed], SRC))).toThrow(
      "smc.yaml: SpiderMultusConfig kube-system/other: makes the same NetworkAttachmentDefinition kube-system/ipvlan-ens5 as smc.yaml: SpiderMultusConfig kube-system/ipvlan-ens5",
    );
  });
});
