// lib/sys's own failures besides a failed system call (SysError, libc.ts).
// Pure (no bun:ffi), so lib/cni's error mapping can recognise them anywhere.

/** The lock on `path` stayed held by another process for the whole wait. */
export class LockTimeoutError extends Error {
  constructor(
    readonly path: string,
    readonly timeoutMs: number,
  ) {
    super(`timed out after ${timeoutMs} ms waiting for the lock ${path}`);
    this.name = "LockTimeoutError";
  }
}

/**
 * A setns back home failed: the thread is in the wrong netns and nothing that
 * depends on "where am I" may run again in this process.
 */
export class StrandedError extends Error {
  constructor(cause: unknown) {
    super("could not return to the original network namespace; refusing to continue", { cause });
    this.name = "StrandedError";
  }
}
