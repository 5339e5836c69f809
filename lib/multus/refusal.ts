// How a SpiderMultusConfig conversion refuses: the file, the object and the
// field in every message; code 7 for a wrong value, code 2 for a field (or
// value) upstream has but we cannot honour.
import { CniError, ErrorCode, invalidConfig } from "../cni/errors";

export const invalid = (where: string, path: string, what: string) => invalidConfig(`${where}: ${path}: ${what}`);
export const unsupported = (where: string, path: string, what: string) => new CniError(ErrorCode.UnsupportedField, `${where}: ${path}: unsupported: ${what}`);
