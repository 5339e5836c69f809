// Converts results between the internal 1.1.0 shape and what a runtime asked
// for. Down-conversion drops fields the older spec lacks and adds
// ips[].version for 0.3.x/0.4.0; up-conversion (for prevResult) does the reverse.
import type { CniIPConfig, CniInterface, CniResult, CniRoute } from "./types";
import { CniError, ErrorCode } from "./errors";
import { atLeast, isSupportedVersion, SUPPORTED_VERSIONS } from "./version";

export interface LegacyIPConfig extends CniIPConfig {
  version?: "4" | "6";
}

function pick<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

const IFACE_1_0 = ["name", "mac", "sandbox"] as const;
const IFACE_1_1 = ["name", "mac", "mtu", "sandbox", "socketPath", "pciID"] as const;
const ROUTE_1_0 = ["dst", "gw"] as const;
const ROUTE_1_1 = ["dst", "gw", "mtu", "advmss", "priority", "table", "scope"] as const;

const familyOf = (address: string): "4" | "6" => (address.includes(":") ? "6" : "4");

/** Renders an internal result for the requested cniVersion, with keys in spec order. */
export function convertResult(result: CniResult, toVersion: string): Record<string, unknown> {
  if (!isSupportedVersion(toVersion)) {
    throw new CniError(ErrorCode.IncompatibleVersion, `cannot convert result to unsupported version ${toVersion}`);
  }
  const is11 = atLeast(toVersion, "1.1.0");
  const legacy = !atLeast(toVersion, "1.0.0");
  const out: Record<string, unknown> = { cniVersion: toVersion };
  if (result.interfaces) {
    out.interfaces = result.interfaces.map((i) => pick(i, is11 ? IFACE_1_1 : IFACE_1_0));
  }
  if (result.ips) {
    out.ips = result.ips.map((ip) => {
      const o: LegacyIPConfig = legacy ? { version: familyOf(ip.address), address: ip.address } : { address: ip.address };
      if (ip.interface !== undefined) o.interface = ip.interface;
      if (ip.gateway !== undefined) o.gateway = ip.gateway;
      return o;
    });
  }
  if (result.routes) out.routes = result.routes.map((r) => pick(r, is11 ? ROUTE_1_1 : ROUTE_1_0));
  if (result.dns && Object.keys(result.dns).length > 0) out.dns = result.dns;
  return out;
}

function asArray(value: unknown, field: string): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new CniError(ErrorCode.DecodeFailure, `prevResult.${field} must be an array`);
  return value;
}

function asObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CniError(ErrorCode.DecodeFailure, `${field} must be an object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Reads a prevResult of any supported version into the internal shape.
 * Unknown keys are ignored, as the spec asks of consumers.
 */
export function parseResult(raw: unknown, declaredVersion: string): CniResult {
  const obj = asObject(raw, "prevResult");
  const version = typeof obj.cniVersion === "string" ? obj.cniVersion : declaredVersion;
  if (!isSupportedVersion(version)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `prevResult version ${JSON.stringify(version)} is not one of [${SUPPORTED_VERSIONS.join(", ")}]`,
    );
  }
  const result: CniResult = { cniVersion: version };
  const interfaces = asArray(obj.interfaces, "interfaces");
  if (interfaces) {
    result.interfaces = interfaces.map((v, i) => {
      const o = asObject(v, `prevResult.interfaces[${i}]`);
      if (typeof o.name !== "string") throw new CniError(ErrorCode.DecodeFailure, `prevResult.interfaces[${i}].name must be a string`);
      return pick(o as unknown as CniInterface, IFACE_1_1);
    });
  }
  const ips = asArray(obj.ips, "ips");
  if (ips) {
    result.ips = ips.map((v, i) => {
      const o = asObject(v, `prevResult.ips[${i}]`);
      if (typeof o.address !== "string") throw new CniError(ErrorCode.DecodeFailure, `prevResult.ips[${i}].address must be a string`);
      const ip: CniIPConfig = { address: o.address };
      if (typeof o.gateway === "string") ip.gateway = o.gateway;
      if (typeof o.interface === "number") ip.interface = o.interface;
      return ip;
    });
  }
  const routes = asArray(obj.routes, "routes");
  if (routes) {
    result.routes = routes.map((v, i) => {
      const o = asObject(v, `prevResult.routes[${i}]`);
      if (typeof o.dst !== "string") throw new CniError(ErrorCode.DecodeFailure, `prevResult.routes[${i}].dst must be a string`);
      return pick(o as unknown as CniRoute, ROUTE_1_1);
    });
  }
  if (obj.dns !== undefined && obj.dns !== null) result.dns = asObject(obj.dns, "prevResult.dns");
  return result;
}
