// Messages for pool validation failures. Every message names the file, the pool and the
// field path ("spec.ips[2]") so a user can find the line to fix.

import { CniError, ErrorCode, invalidConfig } from "../cni/errors";

export type FieldPath = readonly PropertyKey[];

/** ["spec", "ips", 2] -> "spec.ips[2]" */
export function formatPath(path: FieldPath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "<document>" : out;
}

export function poolLabel(source: string, name: string | undefined): string {
  return `${source}: pool ${name ?? "<unnamed>"}`;
}

/** Code 7: the pool is wrong. */
export function poolInvalid(source: string, name: string | undefined, path: string, what: string): CniError {
  return invalidConfig(`${poolLabel(source, name)}: ${path}: ${what}`);
}

/** Code 2: a field we will not honour (unknown, or removed upstream). */
export function poolUnsupported(source: string, name: string | undefined, path: string, what: string): CniError {
  return new CniError(ErrorCode.UnsupportedField, `${poolLabel(source, name)}: ${path}: ${what}`);
}
