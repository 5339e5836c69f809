// lib/sys's failures: a failed system call (SysError, thrown by libc.ts's
// wrappers), a lock wait that timed out, a thread stranded in another netns.
// Pure (no bun:ffi), so lib/cni's error mapping can recognise them anywhere.
import { errnoMessage, errnoName } from "./errno";

/** A failed system call; `code` is the errno name so CNI error mapping can read it like Node's. */
export class SysError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;

  constructor(syscall: string, errno: number, subject = "", message?: string) {
    super(message ?? `${syscall}${subject ? ` ${subject}` : ""}: ${errnoMessage(errno)} (${errnoName(errno)})`);
    this.name = "SysError";
    this.errno = errno;
    this.code = errnoName(errno);
    this.syscall = syscall;
  }
}

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
