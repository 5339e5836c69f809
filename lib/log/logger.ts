// A tiny structured logger: one JSON line per event in a 0600 file in a 0700
// directory, rotated by size. (Errors also reach stderr through the
// dispatcher.) Logging never fails an invocation.
//
// The plugin runs as root and the log path may sit in a directory others can
// write to (/tmp): the file is opened without following a symbolic link, and
// written only when it is a regular file of ours with no other hard link, so
// the log can never be turned into a write to another file.
import { closeSync, constants, fchmodSync, fstatSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level: LogLevel;
  filePath?: string;
  maxSizeMB?: number;
  maxCount?: number;
  component: string;
}

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

function rotate(file: string, maxCount: number): void {
  try {
    unlinkSync(`${file}.${maxCount}`);
  } catch {
    /* nothing that old */
  }
  for (let i = maxCount - 1; i >= 1; i--) {
    try {
      renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    } catch {
      /* gap in the series */
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
  const maxBytes = (opts.maxSizeMB ?? 100) * 1024 * 1024;
  const maxCount = opts.maxCount ?? 10;
  return {
    log(level, msg, fields = {}) {
      if (RANK[level] < min) return;
      const file = opts.filePath;
      if (!file) return;
      try {
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        try {
          if (statSync(file).size >= maxBytes) rotate(file, maxCount);
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
