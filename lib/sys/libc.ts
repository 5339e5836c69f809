// The one module that touches libc through bun:ffi. Everything above it gets
// small typed wrappers that throw SysError instead of returning -1.
// libc is opened lazily: a command that never locks or talks netlink pays nothing.
import { dlopen, FFIType, read } from "bun:ffi";
import { errnoMessage, errnoName, Errno } from "./errno";

export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_CLOEXEC = 0o2000000;
export const CLONE_NEWNET = 0x40000000;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_TRUNC = 0x20;
export const SOL_SOCKET = 1;
export const SO_RCVTIMEO = 20;

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

function load() {
  return dlopen("libc.so.6", {
    open: { args: ["cstring", "i32", "u32"], returns: "i32" },
    close: { args: ["i32"], returns: "i32" },
    socket: { args: ["i32", "i32", "i32"], returns: "i32" },
    bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
    setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
    send: { args: ["i32", "ptr", "u64", "i32"], returns: FFIType.i64_fast },
    recv: { args: ["i32", "ptr", "u64", "i32"], returns: FFIType.i64_fast },
    setns: { args: ["i32", "i32"], returns: "i32" },
    flock: { args: ["i32", "i32"], returns: "i32" },
    __errno_location: { args: [], returns: "ptr" },
  }).symbols;
}

let symbols: ReturnType<typeof load> | undefined;
const libc = () => (symbols ??= load());

/** errno of the call that just failed; must be read before any other libc call on this thread. */
function lastErrno(): number {
  const where = libc().__errno_location();
  return where === null ? 0 : read.i32(where, 0);
}

/** Runs a raw call, retrying on EINTR, and throws SysError on -1. */
function check(syscall: string, subject: string, call: () => number | bigint): number {
  for (;;) {
    const rc = Number(call());
    if (rc !== -1) return rc;
    const errno = lastErrno();
    if (errno !== Errno.EINTR) throw new SysError(syscall, errno, subject);
  }
}

export function sysOpen(path: string, flags: number, mode = 0): number {
  return check("open", path, () => libc().open(path, flags | O_CLOEXEC, mode));
}

export function sysClose(fd: number): void {
  // No EINTR retry: on Linux the fd is released even when close reports EINTR.
  if (libc().close(fd) === -1) throw new SysError("close", lastErrno());
}

export function sysSocket(domain: number, type: number, protocol: number): number {
  return check("socket", "", () => libc().socket(domain, type | SOCK_CLOEXEC, protocol));
}

export function sysBind(fd: number, address: Uint8Array): void {
  check("bind", "", () => libc().bind(fd, address, address.byteLength));
}

export function sysSetsockopt(fd: number, level: number, option: number, value: Uint8Array): void {
  check("setsockopt", `${level}/${option}`, () => libc().setsockopt(fd, level, option, value, value.byteLength));
}

export function sysSend(fd: number, data: Uint8Array, flags = 0): number {
  return check("send", "", () => libc().send(fd, data, data.byteLength, flags));
}

/** Fills `buffer` from the start; with MSG_TRUNC the return value is the datagram's full length. */
export function sysRecv(fd: number, buffer: Uint8Array, flags = 0): number {
  return check("recv", "", () => libc().recv(fd, buffer, buffer.byteLength, flags));
}

export function sysSetns(fd: number, nstype: number): void {
  check("setns", "", () => libc().setns(fd, nstype));
}

/** flock without retry policy: returns the errno (0 on success) so callers can poll on EWOULDBLOCK. */
export function sysFlock(fd: number, operation: number): number {
  for (;;) {
    if (libc().flock(fd, operation) === 0) return 0;
    const errno = lastErrno();
    if (errno !== Errno.EINTR) return errno;
  }
}
