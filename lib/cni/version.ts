// CNI spec versions this project speaks, and the rules that depend on them.
import { CniError, ErrorCode } from "./errors";

export const SUPPORTED_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export const LATEST_VERSION = "1.1.0";

/** Parses "a.b.c" into a comparable tuple; undefined when malformed. */
export function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) throw new Error(`cannot compare versions ${a} and ${b}`);
  for (let i = 0; i < 3; i++) {
    const d = pa[i]! - pb[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

export const atLeast = (v: string, min: string) => compareVersions(v, min) >= 0;

export function isSupportedVersion(v: unknown): v is string {
  return typeof v === "string" && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Throws code 1 unless the config's cniVersion is one we speak. */
export function requireSupportedVersion(v: unknown): string {
  if (isSupportedVersion(v)) return v;
  throw new CniError(
    ErrorCode.IncompatibleVersion,
    `incompatible CNI versions: config is ${JSON.stringify(v ?? null)}, plugin supports [${SUPPORTED_VERSIONS.join(", ")}]`,
  );
}

/** Commands newer than some spec versions must be refused for older configs (code 1). */
export function requireVersionForCommand(command: string, v: string): void {
  const minimum = command === "CHECK" ? "0.4.0" : command === "GC" || command === "STATUS" ? "1.1.0" : undefined;
  if (minimum && !atLeast(v, minimum)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `config version ${v} does not allow ${command} (needs ${minimum} or later)`,
    );
  }
}
