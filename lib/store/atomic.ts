// Crash-safe file writes: a reader sees the old file or the new one, never a
// torn one, and a completed write survives power loss (temp, fsync, rename,
// fsync of the directory).
import { O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_WRONLY, closeFile, fsyncFile, openFile, renamePath, unlinkQuietly, writeAll } from "../sys/fs";
import { baseName, dirName, joinPath } from "../sys/path";

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
}

/**
 * First half of an atomic write: each file's data in a temporary file beside
 * its path (or in its `tmpDir`, on the same file system), fsynced when
 * `durable`. All are created and written before the first fsync, so one
 * journal commit makes every one of them durable (an fsync between two
 * creations would cost a commit each).
 */
export function stageFiles(
  files: { path: string; data: string; tmpDir?: string }[],
  { mode = 0o600, durable = true }: { mode?: number; durable?: boolean } = {},
): StagedFile[] {
  const open: { fd: number; staged: StagedFile }[] = [];
  try {
    for (const f of files) {
      const tmp = tempPathFor(f.path, f.tmpDir);
      const fd = openFile(tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
      open.push({ fd, staged: { tmp, path: f.path } });
      writeAll(fd, f.data);
    }
    if (durable) for (const o of open) fsyncFile(o.fd);
  } catch (e) {
    for (const o of open) {
      closeFile(o.fd);
      unlinkQuietly(o.staged.tmp);
    }
    throw e;
  }
  for (const o of open) closeFile(o.fd);
  return open.map((o) => o.staged);
}

/** Second half: the staged file replaces `path` in one rename (the directory fsync is the caller's). */
export function publishFile(staged: StagedFile): void {
  try {
    renamePath(staged.tmp, staged.path);
  } catch (e) {
    unlinkQuietly(staged.tmp);
    throw e;
  }
}

/** Drops a staged file that will not be published. */
export function discardStaged(staged: StagedFile): void {
  unlinkQuietly(staged.tmp);
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
