// SpiderMultusConfig -> NetworkAttachmentDefinition, in the shape upstream's
// controller generates for cniType ipvlan (spiderpool generateNetAttachDef),
// with our plugin types: ipvlan-attach with a spiderpool-ipam ipam block.
// Pure: documents in, NADs or a CniError naming the file, object and field out.
import type { z } from "zod";
import { CniError, ErrorCode, invalidConfig } from "../cni/errors";
import { interfaceNameProblem } from "../cni/env";
import { SUPPORTED_VERSIONS } from "../cni/version";
import { nestingProblem } from "../nesting";
import { formatPath } from "../ipam/pool-errors";
import { DNS1123_SUBDOMAIN } from "../ipam/pool-schema";
import { coordinatorBlock } from "./coordinator";
import { invalid, unsupported } from "./refusal";
import { SMC_API_VERSION, SMC_KIND, SpiderMultusConfigSchema, type SpiderMultusConfigDoc } from "./schema";

export const NAD_API_VERSION = "k8s.cni.cncf.io/v1";
export const NAD_KIND = "NetworkAttachmentDefinition";
// Upstream's annotations: the CNI version, the NAD's name, the network's name.
export const ANNO_CNI_VERSION = "multus.spidernet.io/cni-version";
export const ANNO_CR_NAME = "multus.spidernet.io/cr-name";
export const ANNO_CNI_CONFIG_NAME = "cni.spidernet.io/cniconfig-name";
export const DEFAULT_CNI_VERSION = "0.3.1";

export const MAIN_PLUGIN_TYPE = "ipvlan-attach";
export const IPAM_PLUGIN_TYPE = "spiderpool-ipam";

export interface NetworkAttachmentDefinition {
  apiVersion: typeof NAD_API_VERSION;
  kind: typeof NAD_KIND;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec: { config: string };
}

export interface SmcDocument {
  source: string;
  doc: unknown;
}

// Upstream fields we cannot honour, and why (refused with code 2, never dropped).
const OTHER_CNI_BLOCKS = ["macvlan", "sriov", "ovs", "ibsriov", "ipoib"] as const;
const WHY_BOND = "a bond is built by upstream's ifacer plugin, which we do not have; create the bond on the node and name it as the single master";
const WHY_RDMA = "RDMA resources are injected by upstream's webhook, which we do not have";
const WHY_CUSTOM = "only used with cniType custom, which is not supported";
// libcni's rule for a network name.
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function label(source: string, doc: unknown): string {
  const md = (doc as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  const name = typeof md?.name === "string" && md.name !== "" ? md.name : "<unnamed>";
  const ns = typeof md?.namespace === "string" && md.namespace !== "" ? `${md.namespace}/` : "";
  return `${source}: ${SMC_KIND} ${ns}${name}`;
}


function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && /received undefined$/.test(issue.message)) return "required field is missing";
  return issue.message.replace(/^Invalid (input|option): /, "");
}

/** Schema check: unknown fields are code 2, everything else code 7. */
function parseDoc(doc: unknown, where: string): SpiderMultusConfigDoc {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw invalid(where, "<document>", `expected a ${SMC_KIND} object, got ${Array.isArray(doc) ? "an array" : typeof doc}`);
  }
  const { apiVersion, kind } = doc as { apiVersion?: unknown; kind?: unknown };
  if (apiVersion !== SMC_API_VERSION || kind !== SMC_KIND) {
    throw invalid(
      where,
      kind !== SMC_KIND ? "kind" : "apiVersion",
      `document is kind ${JSON.stringify(kind)} apiVersion ${JSON.stringify(apiVersion)}; only kind ${SMC_KIND} apiVersion ${SMC_API_VERSION} is accepted`,
    );
  }
  const parsed = SpiderMultusConfigSchema.safeParse(doc);
  if (parsed.success) return parsed.data;
  const unknown = parsed.error.issues.filter((i) => i.code === "unrecognized_keys");
  if (unknown.length > 0) {
    const fields = unknown.flatMap((i) => i.keys.map((k) => formatPath([...i.path, k])));
    throw new CniError(ErrorCode.UnsupportedField, `${where}: ${fields.join(", ")}: unknown field${fields.length > 1 ? "s" : ""}, refused rather than ignored`);
  }
  const issue = parsed.error.issues[0]!;
  throw invalid(where, formatPath(issue.path), describeIssue(issue));
}

/** Each chained plugin is a JSON object string; upstream puts them after the main plugin. */
function chainedPlugins(list: string[] | undefined, where: string): Record<string, unknown>[] {
  return (list ?? []).map((text, i) => {
    const path = `spec.chainCNIJsonData[${i}]`;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw invalid(where, path, `not JSON: ${(e as Error).message}`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value) || typeof (value as { type?: unknown }).type !== "string") {
      throw invalid(where, path, 'must be a JSON object with a "type"');
    }
    const tooDeep = nestingProblem(value);
    if (tooDeep) throw invalid(where, path, tooDeep);
    return value as Record<string, unknown>;
  });
}

function annotation(annotations: Record<string, string>, key: string, where: string, test: (v: string) => boolean, rule: string): string | undefined {
  const value = annotations[key];
  if (value === undefined) return undefined;
  if (!test(value)) throw invalid(where, `metadata.annotations[${JSON.stringify(key)}]`, `${JSON.stringify(value)} ${rule}`);
  return value;
}

/** One SpiderMultusConfig document to its NetworkAttachmentDefinition. */
export function toNetworkAttachmentDefinition(input: SmcDocument): NetworkAttachmentDefinition {
  const where = label(input.source, input.doc);
  const smc = parseDoc(input.doc, where);
  const { spec, metadata } = smc;

  if (spec.cniType === undefined) throw invalid(where, "spec.cniType", 'required field is missing (only "ipvlan" is supported)');
  if (spec.cniType !== "ipvlan") throw unsupported(where, "spec.cniType", `${JSON.stringify(spec.cniType)}: only "ipvlan" (ipvlan-attach) is supported`);
  for (const block of OTHER_CNI_BLOCKS) {
    if (spec[block] !== undefined) throw unsupported(where, `spec.${block}`, `only the ipvlan block is used (cniType ipvlan)`);
  }
  if (spec.customCNI !== undefined) throw unsupported(where, "spec.customCNI", WHY_CUSTOM);
  const ipvlan = spec.ipvlan;
  if (!ipvlan) throw invalid(where, "spec.ipvlan", "required for cniType ipvlan (at least ipvlan.master)");
  if (ipvlan.bond !== undefined) throw unsupported(where, "spec.ipvlan.bond", WHY_BOND);
  if (ipvlan.master.length > 1) throw unsupported(where, "spec.ipvlan.master", `${ipvlan.master.length} interfaces need a bond: ${WHY_BOND}`);
  if (ipvlan.rdmaResourceName !== undefined) throw unsupported(where, "spec.ipvlan.rdmaResourceName", WHY_RDMA);

  // Upstream's rule: a VLAN ID other than 0 makes the parent "<master>.<vlanID>". The NAD keeps
  // master and vlanID apart; ipvlan-attach derives that name and creates the VLAN link if missing.
  const vlanID = ipvlan.vlanID ?? 0;
  const master = ipvlan.master[0]!;
  const parent = vlanID === 0 ? master : `${master}.${vlanID}`;
  const masterProblem = interfaceNameProblem(parent);
  if (masterProblem) throw invalid(where, vlanID === 0 ? "spec.ipvlan.master[0]" : "spec.ipvlan.vlanID", `interface name ${JSON.stringify(parent)} ${masterProblem}`);

  const disableIPAM = spec.disableIPAM ?? false;
  if (disableIPAM && ipvlan.ippools !== undefined) {
    throw invalid(where, "spec.ipvlan.ippools", "has no effect with spec.disableIPAM: true; remove one of them");
  }

  const annotations = metadata.annotations ?? {};
  const cniVersion =
    annotation(annotations, ANNO_CNI_VERSION, where, (v) => (SUPPORTED_VERSIONS as readonly string[]).includes(v), `is not a CNI version our plugins speak (${SUPPORTED_VERSIONS.join(", ")})`) ??
    DEFAULT_CNI_VERSION;
  const nadName = annotation(annotations, ANNO_CR_NAME, where, (v) => v.length <= 253 && DNS1123_SUBDOMAIN.test(v), "is not a DNS-1123 name") ?? metadata.name;
  const networkName = annotation(annotations, ANNO_CNI_CONFIG_NAME, where, (v) => NETWORK_NAME.test(v), "is not a CNI network name") ?? nadName;

  const plugin: Record<string, unknown> = { type: MAIN_PLUGIN_TYPE, master };
  if (vlanID !== 0) plugin.vlanID = vlanID;
  if (ipvlan.mtu !== undefined) plugin.mtu = ipvlan.mtu;
  // Upstream appends its coordinator plugin; ipvlan-attach does that work itself.
  const coordinator = coordinatorBlock(spec.enableCoordinator, spec.coordinator, where);
  if (coordinator) plugin.coordinator = coordinator;
  if (!disableIPAM) {
    const ipam: Record<string, unknown> = { type: IPAM_PLUGIN_TYPE };
    if (ipvlan.ippools?.ipv4?.length) ipam.default_ipv4_ippool = ipvlan.ippools.ipv4;
    if (ipvlan.ippools?.ipv6?.length) ipam.default_ipv6_ippool = ipvlan.ippools.ipv6;
    plugin.ipam = ipam;
  }
  const config = { cniVersion, name: networkName, plugins: [plugin, ...chainedPlugins(spec.chainCNIJsonData, where)] };

  const nad: NetworkAttachmentDefinition = {
    apiVersion: NAD_API_VERSION,
    kind: NAD_KIND,
    metadata: { name: nadName },
    spec: { config: JSON.stringify(config, null, 2) },
  };
  if (metadata.namespace) nad.metadata.namespace = metadata.namespace;
  // Upstream hands every annotation of the SpiderMultusConfig on to the NAD.
  if (Object.keys(annotations).length > 0) nad.metadata.annotations = { ...annotations };
  return nad;
}

/** Several documents; two that would make the same NAD are refused. */
export function toNetworkAttachmentDefinitions(docs: SmcDocument[]): NetworkAttachmentDefinition[] {
  const seen = new Map<string, string>();
  return docs.map((input) => {
    const nad = toNetworkAttachmentDefinition(input);
    const key = nad.metadata.namespace ? `${nad.metadata.namespace}/${nad.metadata.name}` : nad.metadata.name;
    const before = seen.get(key);
    if (before) throw invalidConfig(`${label(input.source, input.doc)}: makes the same ${NAD_KIND} ${key} as ${before}`);
    seen.set(key, label(input.source, input.doc));
    return nad;
  });
}

const LIST_KINDS = new Set(["List", "SpiderMultusConfigList"]);

/** The documents of a parsed YAML stream, with List / SpiderMultusConfigList unwrapped. */
export function collectDocuments(values: unknown[], source: string): SmcDocument[] {
  return values.flatMap((value) => {
    const kind = (value as { kind?: unknown } | null)?.kind;
    if (typeof kind === "string" && LIST_KINDS.has(kind)) {
      const items = (value as { items?: unknown }).items ?? [];
      if (!Array.isArray(items)) throw invalidConfig(`${source}: items of kind ${kind} must be a list`);
      return items.filter((item) => item !== null && item !== undefined).map((doc) => ({ source, doc }));
    }
    return [{ source, doc: value }];
  });
}
