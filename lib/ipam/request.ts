// What one CNI invocation asks of IPAM beyond the config: the pod's identity
// (CNI_ARGS), per-pod pool choice (Multus cni-args carrying the
// ipam.spidernet.io/ippools and ippool annotations) and requested addresses.
import { invalidConfig } from "../cni/errors";
import type { CniRequest } from "../cni/skel";
import type { PoolRequestEntry } from "./select";

/** The pod an attachment is for, from CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID). */
export interface PodRef {
  namespace?: string;
  name?: string;
  uid?: string;
}

export interface IpamRequest {
  pod: PodRef;
  podIPPools?: PoolRequestEntry[];
  podIPPool?: PoolRequestEntry;
  /** Addresses asked for, without prefix length. */
  requestedIPs: string[];
}

type Obj = Record<string, unknown>;

/** Annotation values arrive as JSON text or, from some runtimes, as objects. */
function annotationValue(v: unknown, key: string): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    throw invalidConfig(`args.cni.${key} is not valid JSON: ${JSON.stringify(v)}`);
  }
}

function poolEntry(v: unknown, where: string): PoolRequestEntry {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw invalidConfig(`${where} must be an object`);
  const o = v as Obj;
  const entry: PoolRequestEntry = {};
  for (const [key, value] of Object.entries(o)) {
    switch (key) {
      case "interface":
        if (typeof value !== "string") throw invalidConfig(`${where}.interface must be a string`);
        entry.interface = value;
        break;
      case "ipv4":
      case "ipv6":
        if (value === null) break;
        if (!Array.isArray(value) || value.some((x) => typeof x !== "string")) {
          throw invalidConfig(`${where}.${key} must be a list of pool names`);
        }
        entry[key] = value as string[];
        break;
      case "cleangateway":
        if (typeof value !== "boolean") throw invalidConfig(`${where}.cleangateway must be true or false`);
        entry.cleangateway = value;
        break;
      default:
        throw invalidConfig(`${where} has unknown key ${JSON.stringify(key)} (expected interface, ipv4, ipv6, cleangateway)`);
    }
  }
  return entry;
}

function stripPrefix(ip: string): string {
  const slash = ip.indexOf("/");
  return slash < 0 ? ip : ip.slice(0, slash);
}

export function readIpamRequest(req: CniRequest): IpamRequest {
  const a = req.env.args;
  const pod: PodRef = {};
  const ns = a.get("K8S_POD_NAMESPACE");
  const name = a.get("K8S_POD_NAME");
  const uid = a.get("K8S_POD_UID");
  if (ns) pod.namespace = ns;
  if (name) pod.name = name;
  if (uid) pod.uid = uid;

  const out: IpamRequest = { pod, requestedIPs: [] };
  const args = req.conf.args as Obj | undefined;
  const cni = (args && typeof args === "object" ? args.cni : undefined) as Obj | undefined;
  if (cni && typeof cni === "object") {
    if (cni.ippools !== undefined) {
      const v = annotationValue(cni.ippools, "ippools");
      if (!Array.isArray(v)) throw invalidConfig("args.cni.ippools must be a list of {interface, ipv4, ipv6}");
      out.podIPPools = v.map((e, i) => poolEntry(e, `args.cni.ippools[${i}]`));
    }
    if (cni.ippool !== undefined) out.podIPPool = poolEntry(annotationValue(cni.ippool, "ippool"), "args.cni.ippool");
    if (cni.ips !== undefined) {
      if (!Array.isArray(cni.ips) || cni.ips.some((x) => typeof x !== "string")) throw invalidConfig("args.cni.ips must be a list of addresses");
      out.requestedIPs.push(...(cni.ips as string[]).map(stripPrefix));
    }
  }
  const rc = req.conf.runtimeConfig as Obj | undefined;
  if (rc && typeof rc === "object" && rc.ips !== undefined) {
    if (!Array.isArray(rc.ips) || rc.ips.some((x) => typeof x !== "string")) throw invalidConfig("runtimeConfig.ips must be a list of addresses");
    out.requestedIPs.push(...(rc.ips as string[]).map(stripPrefix));
  }
  const ipArg = a.get("IP");
  if (ipArg) out.requestedIPs.push(...ipArg.split(",").filter((s) => s !== "").map(stripPrefix));
  out.requestedIPs = [...new Set(out.requestedIPs)];
  return out;
}
