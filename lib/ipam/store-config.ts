// The `store` object of the ipam configuration: where allocations live.
//   {"type": "local", "sharedPools": "refuse" | "allow"}          (the default: files under dataDir)
//   {"type": "etcd", "endpoints": [...], "prefix": "/spiderpool",
//    "tls": {"caFile", "certFile", "keyFile"}, "timeoutMs": 5000}  (one store for the whole cluster)
// Pure: the object in, settings or a CniError (code 7) out.
import { invalidConfig, unsupportedField } from "../cni/errors";

export interface LocalStoreSettings {
  type: "local";
  /** "allow": a pool that several nodes may use is served anyway (one-node clusters only). */
  sharedPools: "refuse" | "allow";
}

export interface EtcdTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface EtcdStoreSettings {
  type: "etcd";
  endpoints: string[];
  prefix: string;
  tls?: EtcdTlsFiles;
  timeoutMs: number;
}

export type StoreSettings = LocalStoreSettings | EtcdStoreSettings;

export const DEFAULT_ETCD_PREFIX = "/spiderpool";
export const DEFAULT_ETCD_TIMEOUT_MS = 5_000;
/** A call's etcd work is always bounded; a minute is already far beyond any runtime's patience. */
export const MAX_ETCD_TIMEOUT_MS = 60_000;

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function onlyKeys(o: Obj, where: string, known: string[]): void {
  for (const key of Object.keys(o)) {
    if (!known.includes(key)) throw unsupportedField(`${where}.${key}`, o[key], `known keys: ${known.join(", ")}`);
  }
}

function endpoint(v: unknown, i: number): string {
  const where = `ipam.store.endpoints[${i}]`;
  if (typeof v !== "string") throw invalidConfig(`${where} must be a URL string, got ${JSON.stringify(v)}`);
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw invalidConfig(`${where} ${JSON.stringify(v)} is not a URL like https://10.0.0.5:2379`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.pathname !== "/" || url.search || url.hash || url.username) {
    throw invalidConfig(`${where} ${JSON.stringify(v)} must be http(s)://HOST:PORT with nothing after the port`);
  }
  return url.origin;
}

function prefix(v: unknown): string {
  if (v === undefined || v === null) return DEFAULT_ETCD_PREFIX;
  if (typeof v !== "string" || !/^\/[A-Za-z0-9._\/-]*[A-Za-z0-9._-]$/.test(v) || v.includes("//")) {
    throw invalidConfig(`ipam.store.prefix must be a key prefix like "/spiderpool" (starting with "/", no trailing "/"), got ${JSON.stringify(v)}`);
  }
  return v;
}

function tlsFiles(v: unknown): EtcdTlsFiles | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw invalidConfig("ipam.store.tls must be an object with caFile, certFile and keyFile");
  onlyKeys(v, "ipam.store.tls", ["caFile", "certFile", "keyFile"]);
  const files: EtcdTlsFiles = {};
  for (const key of ["caFile", "certFile", "keyFile"] as const) {
    const f = v[key];
    if (f === undefined || f === null) continue;
    if (typeof f !== "string" || !f.startsWith("/")) throw invalidConfig(`ipam.store.tls.${key} must be an absolute path, got ${JSON.stringify(f)}`);
    files[key] = f;
  }
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw invalidConfig("ipam.store.tls needs certFile and keyFile together (a client certificate and its key)");
  }
  return files;
}

function timeoutMs(v: unknown): number {
  if (v === undefined || v === null) return DEFAULT_ETCD_TIMEOUT_MS;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0 || v > MAX_ETCD_TIMEOUT_MS) {
    throw invalidConfig(`ipam.store.timeoutMs must be a positive integer of at most ${MAX_ETCD_TIMEOUT_MS}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function parseStoreSettings(v: unknown): StoreSettings {
  if (v === undefined || v === null) return { type: "local", sharedPools: "refuse" };
  if (!isObject(v)) throw invalidConfig(`ipam.store must be an object like {"type": "local"}, got ${JSON.stringify(v)}`);
  const type = v.type ?? "local";
  if (type === "local") {
    onlyKeys(v, "ipam.store", ["type", "sharedPools"]);
    const shared = v.sharedPools ?? "refuse";
    if (shared !== "refuse" && shared !== "allow") {
      throw invalidConfig(`ipam.store.sharedPools must be "refuse" or "allow", got ${JSON.stringify(shared)}`);
    }
    return { type: "local", sharedPools: shared };
  }
  if (type !== "etcd") throw invalidConfig(`ipam.store.type must be "local" or "etcd", got ${JSON.stringify(type)}`);
  onlyKeys(v, "ipam.store", ["type", "endpoints", "prefix", "tls", "timeoutMs"]);
  const list = v.endpoints;
  if (!Array.isArray(list) || list.length === 0) {
    throw invalidConfig('ipam.store.endpoints must list the etcd client URLs, like ["https://10.0.0.5:2379"]');
  }
  const settings: EtcdStoreSettings = { type: "etcd", endpoints: list.map(endpoint), prefix: prefix(v.prefix), timeoutMs: timeoutMs(v.timeoutMs) };
  const tls = tlsFiles(v.tls);
  if (tls) settings.tls = tls;
  if (tls && settings.endpoints.some((e) => e.startsWith("http:"))) {
    throw invalidConfig("ipam.store.tls is set but an endpoint is plain http://; use https:// endpoints with TLS");
  }
  return settings;
}
