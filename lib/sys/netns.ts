// Entering a network namespace for a synchronous piece of work.
//
// setns(2) moves only the calling thread. Bun and Node run fs callbacks,
// fs.promises and Bun.file() on other threads that stay in the original netns,
// so inside withNetns only SYNCHRONOUS work is allowed: netlink sockets created
// there, readFileSync/writeFileSync on /proc/sys. (/sys/class/net does not
// follow setns at all: it shows the netns that mounted sysfs.)
import { SysError } from "./errors";
import { CLONE_NEWNET, O_RDONLY, sysClose, sysOpen, sysSetns } from "./libc";
import { Errno } from "./errno";
import { StrandedError } from "./errors";

// Set when a setns back home failed (see StrandedError).
let stranded: StrandedError | undefined;

const pathsByFd = new Map<number, string>();

/** Opens a netns file (e.g. /var/run/netns/x or /proc/<pid>/ns/net) for setns or IFLA_NET_NS_FD. */
export function openNetns(path: string): number {
  try {
    const fd = sysOpen(path, O_RDONLY);
    pathsByFd.set(fd, path);
    return fd;
  } catch (err) {
    if (err instanceof SysError && err.errno === Errno.ENOENT) {
      throw new SysError("open", err.errno, path, `network namespace ${path} does not exist (ENOENT)`);
    }
    throw err;
  }
}

export function closeNetns(fd: number): void {
  pathsByFd.delete(fd);
  sysClose(fd);
}

/** True for the error openNetns throws when the namespace is gone (DEL treats that as done). */
export function isNetnsGone(err: unknown): boolean {
  return err instanceof SysError && err.errno === Errno.ENOENT;
}

/** Throws if an earlier withNetns could not return home. */
export function assertNotStranded(): void {
  if (stranded) throw stranded;
}

/**
 * Runs fn with the current thread inside the netns `fd`, then returns to the
 * original netns even when fn throws. fn must be synchronous (see top of file);
 * a returned Promise is rejected as a programming error.
 */
export function withNetns<T>(fd: number, fn: () => T): T {
  assertNotStranded();
  const home = sysOpen("/proc/thread-self/ns/net", O_RDONLY);
  let result: T;
  try {
    enter(fd);
    try {
      result = fn();
    } finally {
      returnHome(home);
    }
  } finally {
    sysClose(home);
  }
  if (result instanceof Promise) {
    result.catch(() => {}); // whatever follows its first await runs outside the netns: fail loudly here instead
    throw new TypeError("withNetns: the callback must be synchronous (it returned a Promise)");
  }
  return result;
}

function enter(fd: number): void {
  try {
    sysSetns(fd, CLONE_NEWNET);
  } catch (err) {
    if (err instanceof SysError && err.errno === Errno.EINVAL) {
      const path = pathsByFd.get(fd) ?? `fd ${fd}`;
      throw new SysError("setns", err.errno, path, `${path} is not a network namespace (setns: EINVAL)`);
    }
    throw err;
  }
}

function returnHome(home: number): void {
  try {
    sysSetns(home, CLONE_NEWNET);
  } catch (err) {
    stranded = new StrandedError(err);
    throw stranded;
  }
}
