// The one module that touches libc, through bun:ffi. Everything above it gets
// small typed wrappers that throw SysError instead of returning -1.
// libc is opened lazily, and the plugins' call paths do their file work
// through lib/sys/fs.ts over these rather than node:fs, which costs a Bun
// executable far more to load (docs/performance.md).
import { dlopen, FFIType, read } from "bun:ffi";
import { Errno } from "./errno";
import { SysError } from "./errors";

// JavaScript strings go to `cstring` arguments; typed arrays or null to `ptr`.
const { i32, u32, i64, u64, ptr, cstring, i64_fast } = FFIType;

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const CLONE_NEWNET = 0x40000000;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const AF_PACKET = 17;
export const POLLIN = 0x1;
export const SOL_SOCKET = 1;
export const SO_RCVTIMEO = 20;

// Groups of symbols, each opened on first use: every symbol opened costs
// start-up time (docs/performance.md), and an IPAM call run by a runtime
// uses none of the netlink socket calls, the calls that only a contended
// lock wait makes, or the process calls of a delegated call.
function load() {
  return dlopen("libc.so.6", {
    open: { args: [cstring, i32, u32], returns: i32 },
    close: { args: [i32], returns: i32 },
    flock: { args: [i32, i32], returns: i32 },
    read: { args: [i32, ptr, u64], returns: i64_fast },
    write: { args: [i32, ptr, u64], returns: i64_fast },
    pwrite: { args: [i32, ptr, u64, i64], returns: i64_fast },
    fsync: { args: [i32], returns: i32 },
    rename: { args: [cstring, cstring], returns: i32 },
    unlink: { args: [cstring], returns: i32 },
    rmdir: { args: [cstring], returns: i32 },
    mkdir: { args: [cstring, u32], returns: i32 },
    access: { args: [cstring, i32], returns: i32 },
    statx: { args: [i32, cstring, i32, u32, ptr], returns: i32 },
    getdents64: { args: [i32, ptr, u64], returns: i64_fast },
    gethostname: { args: [ptr, u64], returns: i32 },
    __errno_location: { args: [], returns: ptr },
  }).symbols;
}

function loadNetworkCalls() {
  return dlopen("libc.so.6", {
    socket: { args: [i32, i32, i32], returns: i32 },
    bind: { args: [i32, ptr, u32], returns: i32 },
    setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
    send: { args: [i32, ptr, u64, i32], returns: i64_fast },
    recv: { args: [i32, ptr, u64, i32], returns: i64_fast },
    setns: { args: [i32, i32], returns: i32 },
  }).symbols;
}

// Only ipvlan-attach's ARP probe waits on a socket with a deadline (lib/sys/packet.ts).
function loadPollCalls() {
  return dlopen("libc.so.6", {
    poll: { args: [ptr, u64, i32], returns: i32 },
  }).symbols;
}

// A contended lock wait bounds a blocking flock with SIGALRM (lib/sys/flock.ts).
function loadSignalCalls() {
  return dlopen("libc.so.6", {
    sigemptyset: { args: [ptr], returns: i32 },
    sigaddset: { args: [ptr, i32], returns: i32 },
    pthread_sigmask: { args: [i32, ptr, ptr], returns: i32 },
    siginterrupt: { args: [i32, i32], returns: i32 },
    setitimer: { args: [i32, ptr, ptr], returns: i32 },
  }).symbols;
}

// A delegated IPAM call binds its life to the plugin that started it (lib/cni/delegator.ts).
function loadProcessCalls() {
  return dlopen("libc.so.6", {
    prctl: { args: [i32, u64, u64, u64, u64], returns: i32 },
    getppid: { args: [], returns: i32 },
  }).symbols;
}

// Each wrapper below makes its call and checks it inline. Not through shared
// helpers (an accessor and a checker taking a closure): a function run at
// every system call is called often enough for the JIT to compile it, CPU
// a one-shot process never earns back (docs/performance.md).
// Calls a plugin makes rarely or never: reading a symbolic link met on a
// checked path (lib/sys/trusted-path.ts), chmod for `store repair`.
function loadRareFileCalls() {
  return dlopen("libc.so.6", {
    readlink: { args: [cstring, ptr, u64], returns: i64_fast },
    chmod: { args: [cstring, u32], returns: i32 },
  }).symbols;
}
let rareFileSymbols: ReturnType<typeof loadRareFileCalls> | undefined;

let symbols: ReturnType<typeof load> | undefined;
let moreSymbols: ReturnType<typeof loadNetworkCalls> | undefined;
let processSymbols: ReturnType<typeof loadProcessCalls> | undefined;
let signalSymbols: ReturnType<typeof loadSignalCalls> | undefined;
let pollSymbols: ReturnType<typeof loadPollCalls> | undefined;

/** errno of the call that just failed; must be read before any other libc call on this thread. */
function lastErrno(): number {
  const where = (symbols ??= load()).__errno_location();
  return where === null ? 0 : read.i32(where, 0);
}

/** After a call returned -1: throws SysError, except for EINTR (the caller then retries). */
function failUnlessInterrupted(syscall: string, subject: string): void {
  const errno = lastErrno();
  if (errno !== Errno.EINTR) throw new SysError(syscall, errno, subject);
}

export function sysOpen(path: string, flags: number, mode = 0): number {
  for (;;) {
    const fd = (symbols ??= load()).open(path, flags | O_CLOEXEC, mode);
    if (fd !== -1) return fd;
    failUnlessInterrupted("open", path);
  }
}

/**
 * open(2) of a file that may well be absent: -1 for ENOENT or ENOTDIR
 * instead of an error. The common "not there" of a plugin call (no record
 * yet, no hint yet) then builds no exception; an error would also bring in
 * the errno table to name it.
 */
export function sysOpenIfExists(path: string, flags: number): number {
  for (;;) {
    const fd = (symbols ??= load()).open(path, flags | O_CLOEXEC, 0);
    if (fd !== -1) return fd;
    const errno = lastErrno();
    if (errno === Errno.ENOENT || errno === Errno.ENOTDIR) return -1;
    if (errno !== Errno.EINTR) throw new SysError("open", errno, path);
  }
}

export function sysClose(fd: number): void {
  // No EINTR retry: on Linux the fd is released even when close reports EINTR.
  if ((symbols ??= load()).close(fd) === -1) throw new SysError("close", lastErrno());
}

export function sysSocket(domain: number, type: number, protocol: number): number {
  for (;;) {
    const fd = (moreSymbols ??= loadNetworkCalls()).socket(domain, type | SOCK_CLOEXEC, protocol);
    if (fd !== -1) return fd;
    failUnlessInterrupted("socket", "");
  }
}

export function sysBind(fd: number, address: Uint8Array): void {
  while ((moreSymbols ??= loadNetworkCalls()).bind(fd, address, address.byteLength) === -1) failUnlessInterrupted("bind", "");
}

export function sysSetsockopt(fd: number, level: number, option: number, value: Uint8Array): void {
  while ((moreSymbols ??= loadNetworkCalls()).setsockopt(fd, level, option, value, value.byteLength) === -1) {
    failUnlessInterrupted("setsockopt", `${level}/${option}`);
  }
}

export function sysSend(fd: number, data: Uint8Array, flags = 0): number {
  for (;;) {
    const n = Number((moreSymbols ??= loadNetworkCalls()).send(fd, data, data.byteLength, flags));
    if (n !== -1) return n;
    failUnlessInterrupted("send", "");
  }
}

/** Fills `buffer` from the start; with MSG_TRUNC the return value is the datagram's full length. */
export function sysRecv(fd: number, buffer: Uint8Array, flags = 0): number {
  for (;;) {
    const n = Number((moreSymbols ??= loadNetworkCalls()).recv(fd, buffer, buffer.byteLength, flags));
    if (n !== -1) return n;
    failUnlessInterrupted("recv", "");
  }
}

/** recv(2) that never blocks: -1 when nothing is queued (EAGAIN). */
export function sysRecvIfQueued(fd: number, buffer: Uint8Array): number {
  for (;;) {
    const n = Number((moreSymbols ??= loadNetworkCalls()).recv(fd, buffer, buffer.byteLength, MSG_DONTWAIT));
    if (n !== -1) return n;
    const errno = lastErrno();
    if (errno === Errno.EAGAIN) return -1;
    if (errno !== Errno.EINTR) throw new SysError("recv", errno);
  }
}

/**
 * poll(2) for input on one fd, at most `timeoutMs`: true when readable. An
 * interrupted wait resumes with the time that is left, so a signal neither
 * fails nor lengthens it.
 */
export function sysPollIn(fd: number, timeoutMs: number): boolean {
  const pollfd = new Uint8Array(8); // struct pollfd { int fd; short events; short revents }
  const view = new DataView(pollfd.buffer);
  view.setInt32(0, fd, true);
  view.setInt16(4, POLLIN, true);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const left = Math.max(0, Math.ceil(deadline - performance.now()));
    const n = (pollSymbols ??= loadPollCalls()).poll(pollfd, 1, left);
    if (n > 0) return true;
    if (n === 0) return false;
    failUnlessInterrupted("poll", "");
  }
}

export function sysSetns(fd: number, nstype: number): void {
  while ((moreSymbols ??= loadNetworkCalls()).setns(fd, nstype) === -1) failUnlessInterrupted("setns", "");
}

/**
 * flock returning the errno (0 on success) for the caller to act on
 * (EWOULDBLOCK with LOCK_NB; EINTR when retryInterrupted is false).
 */
export function sysFlock(fd: number, operation: number, { retryInterrupted = true } = {}): number {
  for (;;) {
    if ((symbols ??= load()).flock(fd, operation) === 0) return 0;
    const errno = lastErrno();
    if (errno !== Errno.EINTR || !retryInterrupted) return errno;
  }
}

export function sysRead(fd: number, buffer: Uint8Array, offset = 0): number {
  const view = offset === 0 ? buffer : buffer.subarray(offset);
  for (;;) {
    const n = Number((symbols ??= load()).read(fd, view, view.byteLength));
    if (n !== -1) return n;
    failUnlessInterrupted("read", "");
  }
}

export function sysWrite(fd: number, data: Uint8Array): number {
  for (;;) {
    const n = Number((symbols ??= load()).write(fd, data, data.byteLength));
    if (n !== -1) return n;
    failUnlessInterrupted("write", "");
  }
}

export function sysPwrite(fd: number, data: Uint8Array, offset: number): number {
  for (;;) {
    const n = Number((symbols ??= load()).pwrite(fd, data, data.byteLength, offset));
    if (n !== -1) return n;
    failUnlessInterrupted("pwrite", "");
  }
}

export function sysFsync(fd: number): void {
  while ((symbols ??= load()).fsync(fd) === -1) failUnlessInterrupted("fsync", "");
}

export function sysRename(from: string, to: string): void {
  while ((symbols ??= load()).rename(from, to) === -1) failUnlessInterrupted("rename", `${from} -> ${to}`);
}

export function sysUnlink(path: string): void {
  while ((symbols ??= load()).unlink(path) === -1) failUnlessInterrupted("unlink", path);
}

export function sysRmdir(path: string): void {
  while ((symbols ??= load()).rmdir(path) === -1) failUnlessInterrupted("rmdir", path);
}

export function sysMkdir(path: string, mode: number): void {
  while ((symbols ??= load()).mkdir(path, mode) === -1) failUnlessInterrupted("mkdir", path);
}

/** access(2); returns the errno (0 when allowed) instead of throwing. */
export function sysAccess(path: string, mode: number): number {
  if ((symbols ??= load()).access(path, mode) === 0) return 0;
  return lastErrno();
}

/** statx(2) into `buffer` (256 bytes). */
export function sysStatx(dirfd: number, path: string, flags: number, mask: number, buffer: Uint8Array): void {
  while ((symbols ??= load()).statx(dirfd, path, flags, mask, buffer) === -1) failUnlessInterrupted("statx", path);
}

export function sysGetdents(fd: number, buffer: Uint8Array, subject: string): number {
  for (;;) {
    const n = Number((symbols ??= load()).getdents64(fd, buffer, buffer.byteLength));
    if (n !== -1) return n;
    failUnlessInterrupted("getdents64", subject);
  }
}

/** A sigset_t holding `signal` alone, built by libc (glibc's sigset_t is 128 bytes). */
export function sysSignalSet(signal: number): Uint8Array {
  const set = new Uint8Array(128);
  (signalSymbols ??= loadSignalCalls()).sigemptyset(set);
  if (signalSymbols.sigaddset(set, signal) === -1) throw new SysError("sigaddset", lastErrno(), String(signal));
  return set;
}

export const SIG_UNBLOCK = 1;
export const SIG_SETMASK = 2;

/** pthread_sigmask(3) for the calling thread; `old` (128 bytes) receives the mask it had. */
export function sysThreadSigmask(how: number, set: Uint8Array | null, old: Uint8Array | null): void {
  const errno = (signalSymbols ??= loadSignalCalls()).pthread_sigmask(how, set, old);
  if (errno !== 0) throw new SysError("pthread_sigmask", errno);
}

/** siginterrupt(3): the handler of `signal` interrupts system calls (SA_RESTART cleared) or restarts them. */
export function sysSiginterrupt(signal: number, interrupt: boolean): void {
  if ((signalSymbols ??= loadSignalCalls()).siginterrupt(signal, interrupt ? 1 : 0) === -1) {
    throw new SysError("siginterrupt", lastErrno(), String(signal));
  }
}

/** Arms (or with 0, disarms) the one-shot ITIMER_REAL timer: SIGALRM after `ms`. */
export function sysAlarmAfter(ms: number): void {
  const value = new BigInt64Array(4); // struct itimerval: interval {0, 0}, value {sec, usec}
  const us = BigInt(Math.max(0, Math.ceil(ms * 1000)));
  value[2] = us / 1_000_000n;
  value[3] = us % 1_000_000n;
  while ((signalSymbols ??= loadSignalCalls()).setitimer(0, value, null) === -1) failUnlessInterrupted("setitimer", "");
}

const PR_SET_PDEATHSIG = 1;

/** prctl(PR_SET_PDEATHSIG): the kernel sends `signal` when the thread that started this process ends. */
export function sysSetParentDeathSignal(signal: number): void {
  while ((processSymbols ??= loadProcessCalls()).prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0) === -1) {
    failUnlessInterrupted("prctl", "PR_SET_PDEATHSIG");
  }
}

/** getppid(2): 1 (or a subreaper's pid) once the parent has exited. */
export function sysGetppid(): number {
  return (processSymbols ??= loadProcessCalls()).getppid();
}

export function sysGethostname(buffer: Uint8Array): void {
  while ((symbols ??= load()).gethostname(buffer, buffer.byteLength) === -1) failUnlessInterrupted("gethostname", "");
}

/** readlink(2) into `buffer`; returns the target's length in bytes (not NUL-terminated). */
export function sysReadlink(path: string, buffer: Uint8Array): number {
  for (;;) {
    const n = Number((rareFileSymbols ??= loadRareFileCalls()).readlink(path, buffer, buffer.byteLength));
    if (n !== -1) return n;
    failUnlessInterrupted("readlink", path);
  }
}

export function sysChmod(path: string, mode: number): void {
  while ((rareFileSymbols ??= loadRareFileCalls()).chmod(path, mode) === -1) failUnlessInterrupted("chmod", path);
}
