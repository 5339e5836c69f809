// Exclusive advisory file locks with flock(2). The kernel drops the lock the
// moment the holder's fd is closed, including when the holder is killed, so a
// crashed plugin never leaves a stale lock behind (unlike mkdir-style locks).
import { Errno } from "./errno";
import { LockTimeoutError, SysError } from "./errors";
import {
  LOCK_EX,
  LOCK_NB,
  LOCK_UN,
  O_CREAT,
  O_RDWR,
  SIG_SETMASK,
  SIG_UNBLOCK,
  sysAlarmAfter,
  sysClose,
  sysFlock,
  sysOpen,
  sysSiginterrupt,
  sysSignalSet,
  sysThreadSigmask,
} from "./libc";

export interface FileLock {
  /** Unlocks and closes the file; safe to call twice. */
  release(): void;
}

/**
 * Takes an exclusive lock on `path` (created 0600 if missing). Throws
 * LockTimeoutError after timeoutMs.
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

/**
 * Waits in a blocking flock, so the kernel hands the lock over the moment it
 * is released, to one waiter at a time. The wait is bounded by a SIGALRM
 * that interrupts flock, and each part of that signal's state a caller may
 * have left behind is set for the wait with libc's own calls:
 * - the mask, which survives exec (a runtime that blocked SIGALRM made the
 *   wait endless): unblocked for this thread, the caller's mask put back after;
 * - the disposition (default: fatal; or ignored): Bun installs its handler
 *   as soon as a listener is added;
 * - SA_RESTART, with which Bun installs the handler and which would restart
 *   flock instead of ending it: cleared by siginterrupt for the wait;
 * - a timer left running across exec: replaced by ours, disarmed after.
 * The kernel gives the process's SIGALRM to the main thread, the one waiting
 * here, while that thread does not block it.
 */
function waitForLock(fd: number, path: string, timeoutMs: number): void {
  const deadline = performance.now() + timeoutMs;
  if (process.listenerCount("SIGALRM") === 0) process.on("SIGALRM", ignore);
  const callerMask = new Uint8Array(128); // a sigset_t
  sysThreadSigmask(SIG_UNBLOCK, sysSignalSet(SIGALRM), callerMask);
  sysSiginterrupt(SIGALRM, true);
  try {
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) throw new LockTimeoutError(path, timeoutMs);
      sysAlarmAfter(left);
      const errno = sysFlock(fd, LOCK_EX, { retryInterrupted: false });
      if (errno === 0) return;
      if (errno !== Errno.EINTR) throw new SysError("flock", errno, path);
    }
  } finally {
    sysAlarmAfter(0);
    sysSiginterrupt(SIGALRM, false);
    sysThreadSigmask(SIG_SETMASK, callerMask, null);
  }
}

function ignore(): void {}
