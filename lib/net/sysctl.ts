// Kernel parameters under /proc/sys, with SYNCHRONOUS fs only: inside withNetns
// that is what makes net.* writes land in the pod's netns (async fs runs on
// other threads that stay in the original netns).
import { readText, writeText } from "../sys/fs";
import { CniError, ErrorCode } from "../cni/errors";

/** "net/ipv6/conf/eth0/disable_ipv6" (slashes: interface names may contain dots) or a full /proc/sys path. */
function sysctlPath(key: string): string {
  const relative = key.startsWith("/proc/sys/") ? key.slice("/proc/sys/".length) : key;
  if (relative === "" || relative.startsWith("/") || relative.split("/").some((p) => p === ".." || p === "." || p === "")) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid sysctl path "${key}"`);
  }
  return `/proc/sys/${relative}`;
}

function failure(verb: string, key: string, err: unknown): CniError {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  const why = code === "ENOENT" ? "no such sysctl (is the interface in this netns?)" : (err as Error).message;
  return new CniError(ErrorCode.IoFailure, `${verb} sysctl ${key}: ${why}`, code);
}

export function writeSysctl(key: string, value: string | number): void {
  const path = sysctlPath(key);
  try {
    writeText(path, String(value));
  } catch (err) {
    throw failure("write", key, err);
  }
}

/** The value without its trailing newline. */
export function readSysctl(key: string): string {
  const path = sysctlPath(key);
  try {
    return readText(path).trimEnd();
  } catch (err) {
    throw failure("read", key, err);
  }
}
