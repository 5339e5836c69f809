// Exclusive advisory file locks with flock(2). The kernel drops the lock the
// moment the holder's fd is closed, including when the holder is killed, so a
// crashed plugin never leaves a stale lock behind (unlike mkdir-style locks).
import { Errno } from "./errno";
import { LockTimeoutError } from "./errors";
import {
  IN_CLOEXEC,
  IN_CLOSE_NOWRITE,
  IN_CLOSE_WRITE,
  IN_NONBLOCK,
  LOCK_EX,
  LOCK_NB,
  LOCK_UN,
  O_CREAT,
  O_RDWR,
  POLLIN,
  SysError,
  sysClose,
  sysFlock,
  sysInotifyAddWatch,
  sysInotifyInit,
  sysInotifyRmWatch,
  sysOpen,
  sysPoll,
  sysRead,
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
  let watch: CloseWatch | undefined;
  try {
    if (!tryLock(fd, path)) watch = waitForLock(fd, path, timeoutMs);
  } catch (err) {
    sysClose(fd);
    throw err;
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      // Unlock before closing: the close is what wakes the waiters.
      sysFlock(fd, LOCK_UN);
      sysClose(fd);
      watch?.close();
    },
  };
}

/** One non-blocking attempt; false while someone else holds the lock. */
function tryLock(fd: number, path: string): boolean {
  const errno = sysFlock(fd, LOCK_EX | LOCK_NB);
  if (errno === 0) return true;
  if (errno !== Errno.EWOULDBLOCK) throw new SysError("flock", errno, path);
  return false;
}

/**
 * Longest sleep between two attempts while watching for closes. A holder
 * that is killed (rather than unlocking first) closes its fd a moment before
 * the kernel drops its lock, so the attempt woken by that close can still
 * find the lock held; this bounds the wait that follows.
 */
const WATCHED_RETRY_MS = 50;
/** Longest sleep between two attempts when closes cannot be watched. */
const UNWATCHED_RETRY_MS = 10;

/**
 * Waits with non-blocking attempts, sleeping in between until the lock file
 * is closed by anyone (inotify): a holder closes it when it releases the
 * lock or dies, so a waiter tries again right away. Nothing here depends on
 * signals, so a caller that blocked or ignored any of them cannot make the
 * wait outlast timeoutMs (a blocking flock bounded by SIGALRM could).
 * Returns the watch once the lock is taken, for release() to close.
 */
function waitForLock(fd: number, path: string, timeoutMs: number): CloseWatch | undefined {
  const deadline = performance.now() + timeoutMs;
  // Watched before the next attempt, so a close between the two is not missed.
  const watch = watchCloses(fd);
  try {
    for (let backoff = 1; ; backoff = Math.min(backoff * 2, UNWATCHED_RETRY_MS)) {
      if (tryLock(fd, path)) {
        watch?.stop();
        return watch;
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new LockTimeoutError(path, timeoutMs);
      if (watch) watch.wait(Math.min(WATCHED_RETRY_MS, left));
      else sleep(Math.min(backoff, left));
    }
  } catch (err) {
    watch?.close();
    throw err;
  }
}

interface CloseWatch {
  /** Sleeps until the file is closed by anyone, or for at most `ms`. */
  wait(ms: number): void;
  /** Stops reporting closes; the fd stays open. */
  stop(): void;
  close(): void;
}

/**
 * An inotify watch reporting every close of the file open as `fd`, or
 * undefined when none can be had (no inotify instance to spare under
 * max_user_instances, no /proc): the wait then polls with a short back-off,
 * slower but as sound.
 *
 * Closing an inotify fd waits for the kernel to retire its watches (an SRCU
 * grace period, several milliseconds), so the fd is closed only after the
 * lock is released, and the watch is removed as soon as the lock is taken,
 * for the kernel to retire it while the lock is in use.
 */
function watchCloses(fd: number): CloseWatch | undefined {
  let inotify = -1;
  let wd: number;
  try {
    inotify = sysInotifyInit(IN_NONBLOCK | IN_CLOEXEC);
    // Through /proc/self/fd: the very file that is locked, whatever its path names now.
    wd = sysInotifyAddWatch(inotify, `/proc/self/fd/${fd}`, IN_CLOSE_WRITE | IN_CLOSE_NOWRITE);
  } catch (err) {
    if (!(err instanceof SysError)) throw err;
    if (inotify >= 0) sysClose(inotify);
    return undefined;
  }
  const pollFds = new Uint8Array(8); // struct pollfd { int fd; short events; short revents; }
  const pollFd = new DataView(pollFds.buffer);
  pollFd.setInt32(0, inotify, true);
  pollFd.setInt16(4, POLLIN, true);
  const events = new Uint8Array(4096);
  let open = true;
  return {
    wait(ms) {
      // The fd is non-blocking: the read drains the events that woke poll.
      if (sysPoll(pollFds, Math.ceil(ms)) > 0) sysRead(inotify, events);
    },
    stop() {
      sysInotifyRmWatch(inotify, wd);
    },
    close() {
      if (open) sysClose(inotify);
      open = false;
    },
  };
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
