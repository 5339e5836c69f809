// Crash-safe file writes: a reader sees the old file or the new one, never a
// torn one, and a completed write survives power loss (temp, fsync, rename,
// fsync of the directory).
//
// A temp file is held open, with flock(LOCK_EX) on it, from its creation
// until it is renamed into place or removed, so a sweeper can tell a live
// writer's temp file from a dead one's: it is stray only when its lock can be
// taken. The kernel drops the lock when the writer dies, whatever PID
// namespace it ran in and however its PID is reused, which a PID and start
// time written into the name could not promise; it costs one flock per file.
import {
  O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY, closeFile, fsyncFile, isMissing, openFile, renamePath,
  tryLockFile, unlinkQuietly, writeAll,
} from "./fs";
import { baseName, dirName, joinPath } from "./path";

let counter = 0;

/** A fresh temporary name for `path`, in its directory or in `dir` (same file system). */
export function tempPathFor(path: string, dir = dirName(path)): string {
  return joinPath(dir, `.tmp-${baseName(path)}-${process.pid}-${++counter}`);
}

export function fsyncDir(dir: string): void {
  const fd = openFile(dir, O_RDONLY | O_DIRECTORY);
  try {
    fsyncFile(fd);
  } finally {
    closeFile(fd);
  }
}

/** A file written under a temporary name beside its final path, not yet in place. */
export interface StagedFile {
  tmp: string;
  path: string;
  /** The temp file, open and locked until it is published or discarded. */
  fd: number;
}

function release(staged: StagedFile): void {
  if (staged.fd < 0) return;
  closeFile(staged.fd);
  staged.fd = -1;
}

/**
 * First half of an atomic write: each file's data in a temporary file beside
 * its path (or in its `tmpDir`, on the same file system), fsynced when
 * `durable`. All are created and written before the first fsync, so one
 * journal commit makes every one of them durable (an fsync between two
 * creations would cost a commit each). Each stays open and locked until
 * publishFile or discardStaged.
 */
export function stageFiles(
  files: { path: string; data: string; tmpDir?: string }[],
  { mode = 0o600, durable = true }: { mode?: number; durable?: boolean } = {},
): StagedFile[] {
  const staged: StagedFile[] = [];
  try {
    for (const f of files) {
      const tmp = tempPathFor(f.path, f.tmpDir);
      const fd = openFile(tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
      staged.push({ tmp, path: f.path, fd });
      // Not ours if a sweeper took it between the creation and here: give up on it.
      if (!tryLockFile(fd)) throw new Error(`temp file ${tmp} was taken by a sweeper`);
      writeAll(fd, f.data);
    }
    if (durable) for (const s of staged) fsyncFile(s.fd);
  } catch (e) {
    for (const s of staged) discardStaged(s);
    throw e;
  }
  return staged;
}

/** Second half: the staged file replaces `path` in one rename (the directory fsync is the caller's). */
export function publishFile(staged: StagedFile): void {
  try {
    renamePath(staged.tmp, staged.path);
  } catch (e) {
    unlinkQuietly(staged.tmp);
    throw e;
  } finally {
    release(staged);
  }
}

/** Drops a staged file that will not be published. */
export function discardStaged(staged: StagedFile): void {
  unlinkQuietly(staged.tmp);
  release(staged);
}

/**
 * Removes a temp file whose writer is gone (nobody holds its lock); false
 * when a live writer holds it, or it is already gone. Anything else under a
 * temp name (a FIFO, a link: stageFiles never makes one) is removed too.
 */
export function removeIfAbandoned(tmp: string): boolean {
  let fd: number;
  try {
    fd = openFile(tmp, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
  } catch (e) {
    return !isMissing(e) && unlinkQuietly(tmp);
  }
  try {
    // Removed while holding the lock: its writer cannot be between its check and ours.
    return tryLockFile(fd) && unlinkQuietly(tmp);
  } finally {
    closeFile(fd);
  }
}

/** Whether a temp file is a dead writer's (read-only: for `store check`). */
export function isAbandoned(tmp: string): boolean {
  let fd: number;
  try {
    fd = openFile(tmp, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
  } catch (e) {
    return !isMissing(e);
  }
  try {
    return tryLockFile(fd);
  } finally {
    closeFile(fd);
  }
}

/**
 * Writes `data` to `path` atomically. `durable: false` skips the fsyncs for
 * files that are only hints. The directory fsync is left to the caller when
 * `syncDir` is false, so a batch of writes in one directory pays it once.
 */
export function writeFileAtomic(
  path: string,
  data: string,
  opts: { mode?: number; durable?: boolean; syncDir?: boolean } = {},
): void {
  const { mode = 0o600, durable = true, syncDir = true } = opts;
  publishFile(stageFiles([{ path, data }], { mode, durable })[0]!);
  if (durable && syncDir) fsyncDir(dirName(path));
}
