// Exclusive advisory file locks with flock(2). The kernel drops the lock the
// moment the holder's fd is closed, including when the holder is killed, so a
// crashed plugin never leaves a stale lock behind (unlike mkdir-style locks).
import { CniError, ErrorCode } from "../cni/errors";
import { Errno } from "./errno";
import { LOCK_EX, LOCK_NB, LOCK_UN, O_CREAT, O_RDWR, SysError, sysAlarmAfter, sysClose, sysFlock, sysOpen, sysSigaction } from "./libc";

export interface FileLock {
  /** Unlocks and closes the file; safe to call twice. */
  release(): void;
}

/**
 * Takes an exclusive lock on `path` (created 0600 if missing). Throws
 * CniError code 11 (try again later) after timeoutMs.
 * Synchronous: it blocks the thread while waiting, which a one-shot CNI
 * process can afford and which keeps it usable inside withNetns.
 */
export function lockFile(path: string, { timeoutMs }: { timeoutMs: number }): FileLock {
  const fd = sysOpen(path, O_RDWR | O_CREAT, 0o600);
  try {
    const errno = sysFlock(fd, LOCK_EX | LOCK_NB);
    if (errno === Errno.EWOULDBLOCK) waitForLock(fd, path, timeoutMs);
    else if (errno !== 0) throw new SysError("flock", errno, path);
  } catch (err) {
    sysClose(fd);
    throw err;
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      sysFlock(fd, LOCK_UN);
      sysClose(fd);
    },
  };
}

const SIGALRM = 14;
const SA_RESTART = 0x10000000;
const SA_FLAGS_OFFSET = 136; // of sa_flags in glibc's struct sigaction (x86_64 and aarch64)

/**
 * Waits in a blocking flock, so the kernel hands the lock over the moment
 * it is released (polling left the lock idle between polls: 100 ADDs at once
 * took 4x as long as host-local). The wait is bounded by a SIGALRM that
 * interrupts flock: Bun installs its handler for a listened signal with
 * SA_RESTART, which would restart flock instead, so the flag is cleared for
 * the wait and restored after. The kernel delivers the process's SIGALRM to
 * the main thread, the one blocked here, while it does not block the signal.
 */
function waitForLock(fd: number, path: string, timeoutMs: number): void {
  const deadline = performance.now() + timeoutMs;
  if (process.listenerCount("SIGALRM") === 0) process.on("SIGALRM", ignore);
  const action = new Uint8Array(152);
  sysSigaction(SIGALRM, null, action);
  const flags = new DataView(action.buffer);
  // No handler in place (a runtime that installs it later): an alarm would
  // kill the process, so wait the slow way.
  if (flags.getBigUint64(0, true) <= 1n) return pollForLock(fd, path, deadline, timeoutMs);
  const restartFlags = flags.getInt32(SA_FLAGS_OFFSET, true);
  flags.setInt32(SA_FLAGS_OFFSET, restartFlags & ~SA_RESTART, true);
  sysSigaction(SIGALRM, action, null);
  try {
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) throw lockTimeout(path, timeoutMs);
      sysAlarmAfter(left);
      const errno = sysFlock(fd, LOCK_EX, { retryInterrupted: false });
      if (errno === 0) return;
      if (errno !== Errno.EINTR) throw new SysError("flock", errno, path);
    }
  } finally {
    sysAlarmAfter(0);
    flags.setInt32(SA_FLAGS_OFFSET, restartFlags, true);
    sysSigaction(SIGALRM, action, null);
  }
}

function ignore(): void {}

const lockTimeout = (path: string, timeoutMs: number) =>
  new CniError(ErrorCode.TryAgainLater, `timed out after ${timeoutMs} ms waiting for the lock ${path}`, "another plugin invocation holds it; retry later");

/** The fallback: non-blocking tries with a short back-off. */
function pollForLock(fd: number, path: string, deadline: number, timeoutMs: number): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let wait = 1; ; wait = Math.min(wait * 2, 10)) {
    const errno = sysFlock(fd, LOCK_EX | LOCK_NB);
    if (errno === 0) return;
    if (errno !== Errno.EWOULDBLOCK) throw new SysError("flock", errno, path);
    const left = deadline - performance.now();
    if (left <= 0) throw lockTimeout(path, timeoutMs);
    Atomics.wait(sleeper, 0, 0, Math.min(wait, left));
  }
}
