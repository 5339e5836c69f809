// `pools discover --imds [--url URL] [--node NAME] [-o FILE|-] [--dry-run]`:
// this node's SpiderIPPools from the AWS instance metadata service (one pool
// per ENI and family, see lib/ipam/discover.ts). With -o FILE, the file is
// replaced atomically, and only when no address still allocated in this
// node's store would leave every pool. Reading the metadata is
// lib/cloud/aws-imds.ts; what changes and what is held, lib/ipam/discover-diff.ts.
//
// With the local store the check and the write hold the store's lock, and an
// ADD that loaded the old pools notices the replaced file under that lock. With
// the etcd store the check reads etcd's claims without a lock: an ADD that had
// loaded the old pools and committed between the check and the write keeps a
// removed address (`pools` and the next discover show it).
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { CniError, ErrorCode, invalidConfig } from "../../../lib/cni/errors";
import { DEFAULT_IMDS_URL, readEnis, type EniMetadata } from "../../../lib/cloud/aws-imds";
import { discoverPools, discoveryYaml, type Discovery } from "../../../lib/ipam/discover";
import { diffPools, heldRemovals, holderText, refusalMessage, removedAddresses, type HeldAddress, type PoolChange, type Removal } from "../../../lib/ipam/discover-diff";
import { localHeldIn } from "../../../lib/store/held";
import { AllocationStore } from "../../../lib/store/store";
import { lockFile } from "../../../lib/sys/flock";
import type { Pool } from "../../../lib/ipam/pool";
import { parsePoolText } from "../../../lib/ipam/pool-load";
import { listPoolFiles, readPoolFile, validatePools, type PoolDocument } from "../../../lib/ipam/pool-source";
import { writeFileAtomic } from "../../../lib/sys/atomic";
import { parseYamlAll } from "../../../lib/yaml";
import { flag, type ParsedArgs } from "./args";
import { cliStore, type CliStore } from "./dirs";

const DEFAULT_TIMEOUT_MS = 2000;
const MAX_TIMEOUT_MS = 60_000;

function timeoutOf(args: ParsedArgs): number {
  const text = flag(args, "timeout-ms");
  if (text === undefined) return DEFAULT_TIMEOUT_MS;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0 || n > MAX_TIMEOUT_MS) throw invalidConfig(`--timeout-ms must be an integer from 1 to ${MAX_TIMEOUT_MS}, got ${JSON.stringify(text)}`);
  return n;
}

function urlOf(args: ParsedArgs): string {
  const text = flag(args, "url") ?? DEFAULT_IMDS_URL;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidConfig(`--url ${JSON.stringify(text)} is not a URL`);
  }
  // The service speaks plain HTTP on a link-local address; the path is ours to add.
  if (url.protocol !== "http:" || (url.pathname !== "/" && url.pathname !== "") || url.search || url.hash || url.username) {
    throw invalidConfig(`--url ${text}: expected http://HOST[:PORT] (the metadata service's base, e.g. ${DEFAULT_IMDS_URL})`);
  }
  return `http://${url.host}`;
}

export async function discoverCommand(args: ParsedArgs): Promise<number> {
  if (!args.flags.has("imds")) throw invalidConfig("pools discover needs a source: --imds (the AWS instance metadata service, IMDSv2)");
  const target = cliStore(args);
  const url = urlOf(args);
  const timeoutMs = timeoutOf(args);
  const output = flag(args, "o", "output") ?? "-";
  const multusName = flag(args, "multus-name")?.split(",").filter((s) => s !== "") ?? [];

  let enis: EniMetadata[];
  try {
    enis = await readEnis({ url, timeoutMs });
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `instance metadata: ${(e as Error).message}`);
  }
  const { discovery, text } = poolsOf(enis, target.nodeName, multusName, url);
  for (const note of discovery.notes) process.stderr.write(`note: ${note}\n`);
  if (discovery.pools.length === 0) throw invalidConfig(`node ${target.nodeName}: no ENI has a delegated prefix or a secondary address; nothing to make pools of`);

  if (output === "-") {
    await validatePools(documentsOf(text, "<discovered>"));
    process.stdout.write(text);
    return 0;
  }
  return writePoolFile(resolve(output), text, target, args.flags.has("dry-run"));
}

/** The pools and their YAML; metadata that does not add up is a configuration error naming its path. */
function poolsOf(enis: EniMetadata[], node: string, multusName: string[], url: string): { discovery: Discovery; text: string } {
  try {
    const discovery = discoverPools(enis, { node, multusName });
    return { discovery, text: discoveryYaml(discovery, url) };
  } catch (e) {
    throw invalidConfig(`instance metadata: ${(e as Error).message}`);
  }
}

/** The documents of the text about to be written: what is validated is exactly what the plugin will read. */
function documentsOf(text: string, source: string): PoolDocument[] {
  return parsePoolText(text, source, parseYamlAll).map((doc) => ({ source, doc }));
}

/** The pools FILE holds now (none when it does not exist); a file that does not validate is not overwritten. */
async function currentPools(file: string, node: string): Promise<{ text?: string; pools: Pool[] }> {
  if (!existsSync(file)) return { pools: [] };
  let pools: Pool[];
  try {
    pools = await validatePools(readPoolFile(file));
  } catch (e) {
    throw invalidConfig(`${file} does not hold valid pools (${(e as Error).message}); discover never replaces a file it cannot read: move it aside first`);
  }
  // The file is discover's for this node: another node's pool, or a shared one, would be lost.
  const foreign = pools.find((p) => p.nodeName.length !== 1 || p.nodeName[0] !== node);
  if (foreign) {
    throw invalidConfig(
      `${file} holds pool ${foreign.name} (nodeName [${foreign.nodeName.join(", ")}]), which is not node ${node}'s alone; ` +
        `discover replaces the whole file, so write this node's pools to a file of their own (e.g. ${dirname(file)}/${node}-imds.yaml)`,
    );
  }
  return { text: readFileSync(file, "utf8"), pools };
}

/** The new pools, validated with the other pool files of poolDir when FILE is in it (as the plugin will load them). */
async function nextPools(file: string, text: string, poolDir: string): Promise<Pool[]> {
  const docs = documentsOf(text, file);
  if (resolve(poolDir) !== dirname(file)) return validatePools(docs);
  const others = listPoolFiles(poolDir).filter((f) => resolve(f) !== file).flatMap(readPoolFile);
  const all = await validatePools([...others, ...docs]);
  return all.filter((p) => p.source === file);
}

/** The node's local store (created as the plugin would), for its lock. */
const localStoreLock = (target: CliStore) =>
  AllocationStore.open({ dataDir: target.dataDir, lockTimeoutMs: target.lockTimeoutMs, acquireLock: (path, timeoutMs) => lockFile(path, { timeoutMs }) });

/** Who holds the addresses the removals cover, in the store this node's plugin uses. */
async function heldIn(target: CliStore, removals: Removal[]): Promise<HeldAddress[]> {
  if (removals.length === 0) return [];
  if (target.store.type === "etcd") {
    const { EtcdStore } = await import("../../../lib/store/etcd/store");
    const claims = await EtcdStore.open({ settings: target.store, nodeName: target.nodeName }).claimsIn(removals.flatMap((r) => r.ranges));
    return claims.map((c) => ({ address: c.address, holder: holderText(c) }));
  }
  return localHeldIn(target.dataDir, removals);
}

const SIGN: Record<PoolChange["kind"], string> = { added: "+", removed: "-", changed: "~", unchanged: "=" };

function printChanges(changes: PoolChange[]): void {
  for (const c of changes) {
    process.stdout.write(`${SIGN[c.kind]} pool ${c.name}: ${c.kind}\n`);
    for (const d of c.details) process.stdout.write(`    ${d}\n`);
  }
}

async function writePoolFile(file: string, text: string, target: CliStore, dryRun: boolean): Promise<number> {
  const before = await currentPools(file, target.nodeName);
  const after = await nextPools(file, text, target.poolDir);
  const changes = diffPools(before.pools, after);
  printChanges(changes);
  const removals = removedAddresses(before.pools, after);
  /** Refuses while a removed address is held, else writes; "unchanged" and dry runs write nothing. */
  const decide = (held: HeldAddress[]): boolean => {
    const conflicts = heldRemovals(removals, held);
    if (conflicts.length > 0) throw new CniError(ErrorCode.InvalidConfig, refusalMessage(file, conflicts));
    if (before.text === text) {
      process.stdout.write(`${file}: unchanged\n`);
      return false;
    }
    if (dryRun) {
      process.stdout.write(`dry run: ${file} not written\n`);
      return false;
    }
    const dir = dirname(file);
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o755 });
    // The file's own mode is kept (never group/world-writable: the plugin refuses those).
    const mode = before.text === undefined ? 0o644 : statSync(file).mode & 0o755;
    writeFileAtomic(file, text, { mode });
    return true;
  };
  // With the local store, the check and the write happen under the store's
  // lock: no ADD commits in between, and one that loaded the old pools sees
  // the pool directory changed when it gets the lock, and chooses again.
  const wrote =
    target.store.type === "local" && !dryRun
      ? localStoreLock(target).withLock(() => decide(localHeldIn(target.dataDir, removals)))
      : decide(await heldIn(target, removals));
  if (!wrote) return 0;
  process.stdout.write(`wrote ${file}: ${after.length} pool(s) of node ${target.nodeName}\n`);
  if (target.store.type === "etcd") {
    for (const c of changes.filter((c) => c.kind === "changed" && c.details.some((d) => /^(ips|subnet|gateway) /.test(d)))) {
      process.stdout.write(
        `note: etcd store: pool ${c.name} changed; once every node has the new file, remove its old definition: ` +
          `etcdctl del ${target.store.prefix}/pools/${c.name} (docs/etcd-store.md, "Changing a shared pool")\n`,
      );
    }
  }
  return 0;
}
