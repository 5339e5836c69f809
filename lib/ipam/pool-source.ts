// Reads SpiderIPPool objects from poolDir and the inline `ippools` of the
// config. Every file is read and validated before any pool is used: a bad
// file fails the whole load (code 7, file named), nothing half-loads.
//
// Validation (zod, the webhook rules) is the expensive part of a plugin call,
// so validated pools are cached in dataDir keyed by each file's identity
// (device, inode, size, mtime, ctime), the inline pools and the plugin build.
// While nothing changed, a call costs a readdir and one stat per file. The key
// is kept as plain text and compared whole, not hashed with node:crypto (kept
// off the call path: docs/performance.md).
import { O_NONBLOCK, O_RDONLY, closeFile, fstatFile, listDir, makeDirs, openFile, readAll, readText, statPath, type FileStat } from "../sys/fs";
import { dirName as dirname, joinPath as join } from "../sys/path";
import { CniError, ErrorCode } from "../cni/errors";
import { writeFileAtomic } from "../sys/atomic";
import { checkPrivateDir, checkTrustedPath } from "./private-dir";
import { PROJECT_VERSION } from "../version";
import { parseYamlAll } from "../yaml";
import type { Pool } from "./pool";
import { POOL_CODEC_VERSION, decodePools, encodePools } from "./pool-codec";
import { parsePoolText } from "./pool-load";
import { fnv1a64 } from "../hash";
import { nestingProblem } from "../nesting";

/** *.yaml, *.yml, *.json, not hidden. */
const isPoolFileName = (name: string): boolean => /^[^.].*\.(ya?ml|json)$/s.test(name);

export interface PoolDocument {
  source: string;
  doc: unknown;
}

/** The pool files of a directory in name order; a missing directory holds none. */
export function listPoolFiles(poolDir: string): string[] {
  checkTrustedPath(poolDir, "poolDir");
  let names: string[];
  try {
    names = listDir(poolDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new CniError(ErrorCode.IoFailure, `cannot read poolDir ${poolDir}: ${(e as Error).message}`);
  }
  checkPrivateDir(poolDir, "poolDir");
  const files: string[] = [];
  for (const name of names.sort()) if (isPoolFileName(name)) files.push(join(poolDir, name));
  return files;
}

/**
 * A pool file the plugin may trust: a regular file (a FIFO would block the
 * plugin, a device would be read forever), owned by this user or root, not
 * writable by group or others. Symbolic links are followed: only the owner of
 * the private poolDir can have made them.
 */
function checkPoolFile(file: string, st: Pick<FileStat, "isFile" | "uid" | "mode">): void {
  if (!st.isFile()) throw new CniError(ErrorCode.InvalidConfig, `pool file ${file} is not a regular file; refusing to read it`);
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
    throw new CniError(ErrorCode.InvalidConfig, `pool file ${file} is owned by uid ${st.uid}, not by this user or root; refusing to use it`);
  }
  if (st.mode & 0o022) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      `pool file ${file} is writable by group or others (mode ${(st.mode & 0o777).toString(8)}); refusing to use it (chmod go-w)`,
    );
  }
}

/** Reads a pool file of poolDir after checking it (one open, so the check is of what is read). */
function readTrustedPoolFile(file: string): PoolDocument[] {
  let text: string;
  let fd: number | undefined;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    fd = openFile(file, O_RDONLY | O_NONBLOCK);
    checkPoolFile(file, fstatFile(fd));
    text = readAll(fd);
  } catch (e) {
    if (e instanceof CniError) throw e;
    throw new CniError(ErrorCode.IoFailure, `cannot read pool file ${file}: ${(e as Error).message}`);
  } finally {
    if (fd !== undefined) closeFile(fd);
  }
  return parsePoolText(text, file, parseYamlAll).map((doc) => ({ source: file, doc }));
}

/** Reads any pool file (the `validate` command: a person's own file, no ownership rules). */
export function readPoolFile(file: string): PoolDocument[] {
  let text: string;
  try {
    text = readText(file);
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `cannot read pool file ${file}: ${(e as Error).message}`);
  }
  return parsePoolText(text, file, parseYamlAll).map((doc) => ({ source: file, doc }));
}

/** Validates documents; loads the validator only when it is needed. */
export async function validatePools(docs: PoolDocument[]): Promise<Pool[]> {
  const { buildPools } = await import("./pool");
  return buildPools(docs);
}

function fileIdentity(file: string): string {
  let st;
  try {
    st = statPath(file);
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `cannot read pool file ${file}: ${(e as Error).message}`);
  }
  checkPoolFile(file, st);
  return `${st.dev}:${st.ino}:${st.size}:${st.mtime}:${st.ctime}`;
}

/**
 * What the cached pools were made from, as one line of JSON (JSON escapes
 * newlines, so it stays one line whatever the file names hold): the build,
 * the cache encoding, each file with its identity, and the inline pools.
 */
function cacheKey(files: string[], inline: unknown[]): string {
  const parts: unknown[] = [PROJECT_VERSION, POOL_CODEC_VERSION];
  for (const f of files) parts.push(f, fileIdentity(f));
  parts.push(inline);
  return JSON.stringify(parts);
}

function readCache(file: string, key: string): Pool[] | undefined {
  try {
    const text = readText(file);
    const nl = text.indexOf("\n");
    if (nl < 0 || text.slice(0, nl) !== key) return undefined;
    return decodePools(text.slice(nl + 1));
  } catch {
    return undefined; // missing or unreadable: validate afresh
  }
}

/**
 * Pools from poolDir plus inline pools. With cacheDir, validated pools are
 * reused while the files are unchanged.
 */
/**
 * The cache is used only inside a directory the store would trust (the cache
 * is read without validation, so whoever can write it chooses the pools):
 * its parent (dataDir) and itself, when present, must be private. Otherwise
 * pools are validated afresh and nothing is written; opening the store then
 * reports the problem.
 */
function trustedCacheDir(cacheDir: string | undefined): string | undefined {
  if (!cacheDir) return undefined;
  try {
    checkPrivateDir(dirname(cacheDir), "dataDir");
  } catch {
    return undefined;
  }
  try {
    checkPrivateDir(cacheDir, "pool cache");
  } catch (e) {
    if ((e as CniError).details !== "ENOENT") return undefined;
  }
  return cacheDir;
}

/**
 * The pool directory's identity and last change: files replaced in it (by
 * rename, as `pools discover`, editors and ConfigMap updates do), added or
 * removed change it. An edit in place of a file's content does not.
 */
export function poolDirStamp(poolDir: string): string {
  try {
    const st = statPath(poolDir);
    return `${st.dev} ${st.ino} ${st.mtime} ${st.ctime}`;
  } catch {
    return "missing";
  }
}

/**
 * `readOnly`: use a valid cache but never write one (the `pools` CLI: it
 * reports on the store and changes nothing there).
 */
export async function loadPools(
  poolDir: string,
  inline: unknown[],
  untrustedCacheDir?: string,
  { readOnly = false }: { readOnly?: boolean } = {},
): Promise<Pool[]> {
  // The cache key serialises the inline pools: bound them before that recursion.
  inline.forEach((doc, i) => {
    const tooDeep = nestingProblem(doc);
    if (tooDeep) throw new CniError(ErrorCode.InvalidConfig, `ipam.ippools[${i}]: inline pool ${tooDeep}`);
  });
  const files = listPoolFiles(poolDir);
  const cacheDir = trustedCacheDir(untrustedCacheDir);
  const cacheFile = cacheDir
    ? join(cacheDir, `pools-${fnv1a64(poolDir)}.json`)
    : undefined;
  const key = cacheFile ? cacheKey(files, inline) : "";
  if (cacheFile) {
    const cached = readCache(cacheFile, key);
    if (cached) return cached;
  }
  const docs = files.flatMap(readTrustedPoolFile);
  inline.forEach((doc, i) => docs.push({ source: `ipam.ippools[${i}]`, doc }));
  const pools = await validatePools(docs);
  if (cacheDir && cacheFile && !readOnly) {
    try {
      makeDirs(cacheDir, 0o700);
      writeFileAtomic(cacheFile, `${key}\n${encodePools(pools)}`, { durable: false });
    } catch {
      /* a cache that cannot be written only costs time */
    }
  }
  return pools;
}
