// Kernel parameters under /proc/sys, with SYNCHRONOUS fs only: inside withNetns
// that is what makes net.* writes land in the pod's netns (async fs runs on
// other threads that stay in the original netns).
import { SysError } from "../sys/errors";
import { readText, writeText } from "../sys/fs";
import { NetInputError } from "./errors";

/** "net/ipv6/conf/eth0/disable_ipv6" (slashes: interface names may contain dots) or a full /proc/sys path. */
function sysctlPath(key: string): string {
  const relative = key.startsWith("/proc/sys/") ? key.slice("/proc/sys/".length) : key;
  if (relative === "" || relative.startsWith("/") || relative.split("/").some((p) => p === ".." || p === "." || p === "")) {
    throw new NetInputError(`invalid sysctl path "${key}"`);
  }
  return `/proc/sys/${relative}`;
}

/** The failed read or write, named by its sysctl key. */
function failure(verb: string, key: string, err: unknown): unknown {
  if (!(err instanceof SysError)) return err;
  const why = err.code === "ENOENT" ? "no such sysctl (is the interface in this netns?)" : err.message;
  return new SysError(err.syscall, err.errno, key, `${verb} sysctl ${key}: ${why}`);
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
