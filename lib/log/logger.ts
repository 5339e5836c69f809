// A tiny structured logger: one JSON line per event in a 0600 file in a 0700
// directory, rotated by size; rotation also removes copies older than the
// maximum age, when one is set. (Errors also reach stderr through the
// dispatcher.) Logging never fails an invocation.
//
// The plugin runs as root and the log path may sit in a directory others can
// write to (/tmp): the file is opened without following a symbolic link, and
// written only when it is a regular file of ours with no other hard link, so
// the log can never be turned into a write to another file.
import { closeSync, constants, fchmodSync, fstatSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { LOG_DEFAULTS } from "./settings";

export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level: LogLevel;
  filePath?: string;
  maxSizeMB?: number;
  maxCount?: number;
  /** Rotated copies last modified longer ago than this go at the next rotation. */
  maxAgeDays?: number;
  component: string;
}

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

/** The rotated copies of `file` in its directory ("<name>.<n>", n >= 1), highest number first. */
function rotatedCopies(file: string): { path: string; n: number }[] {
  const prefix = `${basename(file)}.`;
  const copies: { path: string; n: number }[] = [];
  for (const name of readdirSync(dirname(file))) {
    const suffix = name.slice(prefix.length);
    if (name.startsWith(prefix) && /^[1-9][0-9]*$/.test(suffix)) copies.push({ path: join(dirname(file), name), n: Number(suffix) });
  }
  return copies.sort((a, b) => b.n - a.n);
}

/**
 * file.<n> becomes file.<n+1>, highest first so nothing is overwritten, and
 * file becomes file.1; copies that would be numbered beyond maxCount go, and
 * those older than maxAgeDays. One listing of the directory: the work follows
 * the copies there are, not the count allowed.
 */
function rotate(file: string, maxCount: number, maxAgeDays?: number): void {
  const oldest = maxAgeDays === undefined ? 0 : Date.now() - maxAgeDays * 86_400_000;
  for (const { path, n } of rotatedCopies(file)) {
    try {
      if (n >= maxCount || statSync(path).mtimeMs < oldest) unlinkSync(path);
      else renameSync(path, `${file}.${n + 1}`);
    } catch {
      /* raced with another rotation */
    }
  }
  try {
    renameSync(file, `${file}.1`);
  } catch {
    /* raced with another rotation */
  }
}

function appendPrivate(file: string, text: string): void {
  const fd = openSync(
    file,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    0o600,
  );
  try {
    const st = fstatSync(fd);
    const uid = typeof process.getuid === "function" ? process.getuid() : st.uid;
    if (!st.isFile() || st.uid !== uid || st.nlink !== 1) return; // not a log file of ours
    if (st.mode & 0o077) fchmodSync(fd, 0o600);
    const buf = Buffer.from(text);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off);
  } finally {
    closeSync(fd);
  }
}

export function createLogger(opts: LoggerOptions): Logger {
  const min = RANK[opts.level];
  const maxBytes = (opts.maxSizeMB ?? LOG_DEFAULTS.maxSizeMB) * 1024 * 1024;
  const maxCount = opts.maxCount ?? LOG_DEFAULTS.maxCount;
  return {
    log(level, msg, fields = {}) {
      if (RANK[level] < min) return;
      const file = opts.filePath;
      if (!file) return;
      try {
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        try {
          if (statSync(file).size >= maxBytes) rotate(file, maxCount, opts.maxAgeDays);
        } catch {
          /* no file yet */
        }
        const line = JSON.stringify({ time: new Date().toISOString(), level, component: opts.component, msg, ...fields });
        appendPrivate(file, line + "\n");
      } catch {
        /* a full or read-only log disk must not break networking */
      }
    },
  };
}
