// Crash-safe file writes: a reader sees the old file or the new one, never a
// torn one, and a completed write survives power loss (temp, fsync, rename,
// fsync of the directory).
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync, constants } from "node:fs";
import { basename, dirname, join } from "node:path";

let counter = 0;

export function tempPathFor(path: string): string {
  return join(dirname(path), `.tmp-${basename(path)}-${process.pid}-${++counter}`);
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
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
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    const buf = Buffer.from(data);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off);
    if (durable) fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  if (durable && syncDir) fsyncDir(dirname(path));
}
