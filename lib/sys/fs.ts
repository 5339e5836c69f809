// Synchronous file operations over libc, for what the plugins do on every
// call (stdin, pool files, the store, /proc/sys, state files), without
// node:fs (kept off the call path: docs/performance.md).
//
// Synchronous on purpose: inside withNetns only the calling thread is in the
// pod's netns. Failures throw SysError, whose `code` ("ENOENT", ...) reads
// like Node's, so callers test `code` the same way.
import {
  LOCK_EX, LOCK_NB, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_TRUNC, O_WRONLY, sysAccess, sysClose,
  sysFlock, sysFsync, sysGetdents, sysGethostname, sysMkdir, sysOpen, sysOpenIfExists, sysPwrite, sysRead, sysRename, sysRmdir,
  sysChmod, sysReadlink, sysStatx, sysUnlink, sysWrite,
} from "./libc";
import { Errno } from "./errno";
import { SysError } from "./errors";
import { dirName } from "./path";

export { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_TRUNC, O_WRONLY };

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_BASIC_STATS = 0x7ff;
const S_IFMT = 0o170000;
const F_OK = 0;
const X_OK = 1;

// ignoreBOM keeps a leading U+FEFF in the text, as readFileSync did: a
// configuration starting with a BOM is not JSON (the Go plugins refuse it too).
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();
// Grown on demand: most reads (stdin, records, claims, the pool cache) are small.
let scratch = new Uint8Array(16 * 1024);

export function openFile(path: string, flags: number, mode = 0): number {
  return sysOpen(path, flags, mode);
}

export const closeFile = sysClose;
export const fsyncFile = sysFsync;

/** All bytes of an open file (or pipe) as UTF-8 text. */
export function readAll(fd: number): string {
  let used = 0;
  for (;;) {
    if (used === scratch.byteLength) {
      const bigger = new Uint8Array(scratch.byteLength * 2);
      bigger.set(scratch);
      scratch = bigger;
    }
    const n = sysRead(fd, scratch, used);
    if (n === 0) return decoder.decode(scratch.subarray(0, used));
    used += n;
  }
}

/**
 * A path that is there but is not a regular file: a FIFO would block a read
 * (or a write) forever, a device or a directory is never what a file of ours
 * should be. `code` reads like an errno name, for callers that test codes.
 */
export class NotRegularFileError extends Error {
  readonly code = "ENOTREG";
  constructor(
    readonly path: string,
    readonly kind: string,
  ) {
    super(`${path} is a ${kind}, not a regular file`);
    this.name = "NotRegularFileError";
  }
}

/** What kind of file a mode says, in words (for messages). */
export function fileKind(mode: number): string {
  switch (mode & S_IFMT) {
    case 0o100000:
      return "regular file";
    case 0o040000:
      return "directory";
    case 0o120000:
      return "symbolic link";
    case 0o010000:
      return "FIFO";
    case 0o020000:
      return "character device";
    case 0o060000:
      return "block device";
    case 0o140000:
      return "socket";
    default:
      return "file of unknown type";
  }
}

/** Closes `fd` and throws unless it is a regular file. */
function requireRegular(fd: number, path: string): void {
  const st = fstatFile(fd);
  if (st.isFile()) return;
  sysClose(fd);
  throw new NotRegularFileError(path, fileKind(st.mode));
}

/** Reads all of an open regular file, then closes it. */
function readRegular(fd: number, path: string): string {
  requireRegular(fd, path);
  try {
    return readAll(fd);
  } finally {
    sysClose(fd);
  }
}

/**
 * A regular file's text. Opened with O_NONBLOCK so that a FIFO (or a
 * device) in its place cannot block the open, then refused by fstat
 * (NotRegularFileError). `flags` adds e.g. O_NOFOLLOW.
 */
export function readText(path: string, flags = 0): string {
  return readRegular(sysOpen(path, O_RDONLY | O_NONBLOCK | flags), path);
}

/** True for "it is not there" (a missing file, or a path through a non-directory). */
export const isMissing = (e: unknown): boolean => {
  const code = (e as { code?: unknown } | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
};

/** readText, or undefined when the file is not there. */
export function readTextIfExists(path: string, flags = 0): string | undefined {
  const fd = sysOpenIfExists(path, O_RDONLY | O_NONBLOCK | flags);
  return fd === -1 ? undefined : readRegular(fd, path);
}

/** Writes all of `text`, retrying short writes. */
export function writeAll(fd: number, text: string | Uint8Array): void {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  let off = 0;
  while (off < bytes.byteLength) off += sysWrite(fd, off === 0 ? bytes : bytes.subarray(off));
}

/**
 * Overwrites the start of a file (created `mode` if missing) in place: no
 * truncation, no rename, so ext4 starts no writeback. Only for data where a
 * torn write is harmless.
 */
export function overwriteStart(path: string, text: string, mode: number): void {
  // Non-blocking and not through a symbolic link: only a regular file of ours is written.
  const fd = sysOpen(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_NOFOLLOW, mode);
  requireRegular(fd, path);
  try {
    const bytes = encoder.encode(text);
    let off = 0;
    while (off < bytes.byteLength) off += sysPwrite(fd, bytes.subarray(off), off);
  } finally {
    sysClose(fd);
  }
}

/** Replaces a file's contents (for /proc/sys: one write of the whole value). */
export function writeText(path: string, text: string): void {
  const fd = sysOpen(path, O_WRONLY | O_TRUNC);
  try {
    writeAll(fd, text);
  } finally {
    sysClose(fd);
  }
}

export const renamePath = sysRename;
export const chmodPath = sysChmod;
export const unlinkPath = sysUnlink;
export const removeDir = sysRmdir;

/** unlink that never throws (already gone, or not ours to remove); true when the file was removed. */
export function unlinkQuietly(path: string): boolean {
  try {
    sysUnlink(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Tries to take flock(LOCK_EX) on an open file without waiting: true when
 * taken (it is dropped when every descriptor of that open file is closed).
 */
export function tryLockFile(fd: number): boolean {
  const errno = sysFlock(fd, LOCK_EX | LOCK_NB);
  if (errno === 0) return true;
  if (errno === Errno.EWOULDBLOCK) return false;
  throw new SysError("flock", errno);
}

/** mkdir unless the path exists; true when this call made it (one made meanwhile by another process counts as there). */
export function makeDirIfMissing(path: string, mode: number): boolean {
  if (sysAccess(path, F_OK) === 0) return false;
  try {
    sysMkdir(path, mode);
    return true;
  } catch (e) {
    if ((e as SysError).errno === Errno.EEXIST) return false;
    throw e;
  }
}

/** mkdir -p: creates missing parents with `mode`; an existing directory is fine. */
export function makeDirs(path: string, mode: number): void {
  if (sysAccess(path, F_OK) === 0 && statPath(path).isDirectory()) return;
  try {
    sysMkdir(path, mode);
    return;
  } catch (e) {
    const errno = (e as SysError).errno;
    if (errno === Errno.EEXIST) {
      if (statPath(path).isDirectory()) return;
      throw e;
    }
    if (errno !== Errno.ENOENT) throw e;
  }
  const parent = dirName(path);
  if (parent === path) throw new SysError("mkdir", Errno.ENOENT, path);
  makeDirs(parent, mode);
  try {
    sysMkdir(path, mode);
  } catch (e) {
    if ((e as SysError).errno !== Errno.EEXIST) throw e;
  }
}

export const exists = (path: string): boolean => sysAccess(path, F_OK) === 0;

/**
 * Whether a directory entry of that name exists, whatever it is (a dangling
 * symbolic link too): exists() follows links. Anything but "not there" counts
 * as there.
 */
export function entryExists(path: string): boolean {
  try {
    lstatPath(path);
    return true;
  } catch (e) {
    return !isMissing(e);
  }
}
export const isExecutable = (path: string): boolean => sysAccess(path, X_OK) === 0;

export interface FileStat {
  mode: number;
  uid: number;
  size: number;
  /** "major:minor" */
  dev: string;
  /** Identity strings, compared whole (BigInt arithmetic costs a cold process more than the call). */
  ino: string;
  /** "seconds.nanoseconds" */
  mtime: string;
  ctime: string;
  mtimeMs: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

const statBuffer = new Uint8Array(256);
const statView = new DataView(statBuffer.buffer);

/** A 64-bit field as a number (exact below 2^53: sizes and seconds; timestamps are signed). */
const u64 = (offset: number): number => statView.getUint32(offset + 4, true) * 2 ** 32 + statView.getUint32(offset, true);
const s64 = (offset: number): number => statView.getInt32(offset + 4, true) * 2 ** 32 + statView.getUint32(offset, true);

function decodeStatx(): FileStat {
  // struct statx (linux/stat.h), the same on every architecture.
  const mode = statView.getUint16(28, true);
  const type = mode & S_IFMT;
  const mtimeSec = s64(112);
  const mtimeNsec = statView.getUint32(120, true);
  return {
    mode,
    uid: statView.getUint32(20, true),
    size: u64(40),
    dev: `${statView.getUint32(136, true)}:${statView.getUint32(140, true)}`,
    ino: `${statView.getUint32(36, true)}:${statView.getUint32(32, true)}`,
    mtime: `${mtimeSec}.${mtimeNsec}`,
    ctime: `${s64(96)}.${statView.getUint32(104, true)}`,
    mtimeMs: mtimeSec * 1000 + Math.floor(mtimeNsec / 1_000_000),
    isFile: () => type === 0o100000,
    isDirectory: () => type === 0o040000,
    isSymbolicLink: () => type === 0o120000,
  };
}

/** stat(2): follows symbolic links. */
export function statPath(path: string): FileStat {
  sysStatx(AT_FDCWD, path, 0, STATX_BASIC_STATS, statBuffer);
  return decodeStatx();
}

/** lstat(2): a symbolic link is reported as itself. */
export function lstatPath(path: string): FileStat {
  sysStatx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, statBuffer);
  return decodeStatx();
}

/** lstat(2), or undefined when nothing is there. */
export function lstatIfExists(path: string): FileStat | undefined {
  try {
    return lstatPath(path);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

export function fstatFile(fd: number): FileStat {
  sysStatx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, statBuffer);
  return decodeStatx();
}

/** The names in a directory (no "." or ".."), in the file system's order. `flags` adds e.g. O_NOFOLLOW. */
export function listDir(path: string, flags = 0): string[] {
  return namesIn(sysOpen(path, O_RDONLY | O_DIRECTORY | flags), path);
}

/**
 * The names in a directory, or undefined when it is not there (without an
 * exception). With O_NOFOLLOW a symbolic link in its place is not followed:
 * it lists as undefined, like any other non-directory.
 */
export function listDirIfExists(path: string, flags = 0): string[] | undefined {
  const fd = sysOpenIfExists(path, O_RDONLY | O_DIRECTORY | flags);
  return fd === -1 ? undefined : namesIn(fd, path);
}

/**
 * Whether a listed name may not be the entry's real name. Listings decode
 * names as UTF-8 with U+FFFD for each invalid sequence, so a path built from
 * such a name names another file, or none. The plugin never writes a name
 * holding U+FFFD (lib/cni/env.ts refuses it from the runtime).
 */
export const isLossyName = (name: string): boolean => name.includes("\uFFFD");

/** Reads the entries of an open directory, then closes it. */
function namesIn(fd: number, path: string): string[] {
  const names: string[] = [];
  try {
    const view = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
    for (;;) {
      const n = sysGetdents(fd, scratch, path);
      if (n === 0) return names;
      // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, name NUL-terminated.
      for (let off = 0; off < n; ) {
        const reclen = view.getUint16(off + 16, true);
        let end = off + 19;
        while (scratch[end] !== 0) end++;
        const name = decoder.decode(scratch.subarray(off + 19, end));
        if (name !== "." && name !== "..") names.push(name);
        off += reclen;
      }
    }
  } finally {
    sysClose(fd);
  }
}

/**
 * Copies a regular file's bytes (not through a symbolic link) to a new file
 * `to` (which must not exist), fsynced.
 */
export function copyFile(from: string, to: string, mode = 0o600): void {
  const src = sysOpen(from, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
  requireRegular(src, from);
  try {
    const dst = sysOpen(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
    try {
      const chunk = new Uint8Array(64 * 1024);
      for (let n = sysRead(src, chunk); n > 0; n = sysRead(src, chunk)) writeAll(dst, chunk.subarray(0, n));
      sysFsync(dst);
    } finally {
      sysClose(dst);
    }
  } finally {
    sysClose(src);
  }
}

/** A symbolic link's target, as stored in the link. */
export function readLink(path: string): string {
  const buffer = new Uint8Array(4096); // PATH_MAX
  const n = sysReadlink(path, buffer);
  return decoder.decode(buffer.subarray(0, n));
}

/** This host's name (what uname -n says in this UTS namespace). */
export function hostName(): string {
  const buffer = new Uint8Array(256);
  sysGethostname(buffer);
  const end = buffer.indexOf(0);
  return decoder.decode(buffer.subarray(0, end < 0 ? buffer.byteLength : end));
}
