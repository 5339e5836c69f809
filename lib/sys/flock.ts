// Exclusive advisory file locks with flock(2). The kernel drops the lock the
// moment the holder's fd is closed, including when the holder is killed, so a
// crashed plugin never leaves a stale lock behind (unlike mkdir-style locks).
import { CniError, ErrorCode } from "../cni/errors";
import { Errno } from "./errno";
import { LOCK_EX, LOCK_NB, LOCK_UN, O_CREAT, O_RDWR, SysError, sysClose, sysFlock, sysOpen } from "./libc";

export interface FileLock {
  /** Unlocks and closes the file; safe to call twice. */
  release(): void;
}

const FIRST_WAIT_MS = 2;
const MAX_WAIT_MS = 50;

/**
 * Takes an exclusive lock on `path` (created 0600 if missing), polling with a
 * short backoff. Throws CniError code 11 (try again later) after timeoutMs.
 * Synchronous: it blocks the thread while waiting, which a one-shot CNI
 * process can afford and which keeps it usable inside withNetns.
 */
export function lockFile(path: string, { timeoutMs }: { timeoutMs: number }): FileLock {
  const fd = sysOpen(path, O_RDWR | O_CREAT, 0o600);
  try {
    waitForLock(fd, path, timeoutMs);
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

function waitForLock(fd: number, path: string, timeoutMs: number): void {
  const deadline = performance.now() + timeoutMs;
  let wait = FIRST_WAIT_MS;
  for (;;) {
    const errno = sysFlock(fd, LOCK_EX | LOCK_NB);
    if (errno === 0) return;
    if (errno !== Errno.EWOULDBLOCK) throw new SysError("flock", errno, path);
    const left = deadline - performance.now();
    if (left <= 0) {
      throw new CniError(
        ErrorCode.TryAgainLater,
        `timed out after ${timeoutMs} ms waiting for the lock ${path}`,
        "another plugin invocation holds it; retry later",
      );
    }
    sleepSync(Math.min(wait, left));
    wait = Math.min(wait * 2, MAX_WAIT_MS);
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
