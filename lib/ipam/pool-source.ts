// Reads SpiderIPPool objects from poolDir and the inline `ippools` of the
// config. Every file is read and validated before any pool is used: a bad
// file fails the whole load (code 7, file named), nothing half-loads.
//
// Validation (zod, the webhook rules) is the expensive part of a plugin call,
// so validated pools are cached in dataDir keyed by each file's identity
// (device, inode, size, mtime, ctime), the inline pools and the plugin build.
// While nothing changed, a call costs a readdir and one stat per file.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CniError, ErrorCode } from "../cni/errors";
import { writeFileAtomic } from "../store/atomic";
import { checkPrivateDir } from "../store/store";
import { PROJECT_VERSION } from "../version";
import { parseYamlAll } from "../yaml";
import type { Pool } from "./pool";
import { decodePools, encodePools } from "./pool-codec";
import { parsePoolText } from "./pool-load";

const POOL_FILE = /\.(ya?ml|json)$/;

export interface PoolDocument {
  source: string;
  doc: unknown;
}

/** The pool files of a directory in name order; a missing directory holds none. */
export function listPoolFiles(poolDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(poolDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new CniError(ErrorCode.IoFailure, `cannot read poolDir ${poolDir}: ${(e as Error).message}`);
  }
  checkPrivateDir(poolDir, "poolDir");
  return names.filter((n) => POOL_FILE.test(n) && !n.startsWith(".")).sort().map((n) => join(poolDir, n));
}

export function readPoolFile(file: string): PoolDocument[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
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
  try {
    const st = statSync(file, { bigint: true });
    return `${file}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `cannot read pool file ${file}: ${(e as Error).message}`);
  }
}

function cacheKey(files: string[], inline: unknown[]): string {
  const h = createHash("sha256");
  h.update(PROJECT_VERSION);
  for (const f of files) h.update(fileIdentity(f)).update("\n");
  h.update(JSON.stringify(inline));
  return h.digest("hex");
}

function readCache(file: string, key: string): Pool[] | undefined {
  try {
    const text = readFileSync(file, "utf8");
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
export async function loadPools(poolDir: string, inline: unknown[], cacheDir?: string): Promise<Pool[]> {
  const files = listPoolFiles(poolDir);
  const cacheFile = cacheDir
    ? join(cacheDir, `pools-${createHash("sha256").update(poolDir).digest("hex").slice(0, 16)}.json`)
    : undefined;
  const key = cacheFile ? cacheKey(files, inline) : "";
  if (cacheFile) {
    const cached = readCache(cacheFile, key);
    if (cached) return cached;
  }
  const docs = files.flatMap(readPoolFile);
  inline.forEach((doc, i) => docs.push({ source: `ipam.ippools[${i}]`, doc }));
  const pools = await validatePools(docs);
  if (cacheDir && cacheFile) {
    try {
      mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
      writeFileAtomic(cacheFile, `${key}\n${encodePools(pools)}`, { durable: false });
    } catch {
      /* a cache that cannot be written only costs time */
    }
  }
  return pools;
}
