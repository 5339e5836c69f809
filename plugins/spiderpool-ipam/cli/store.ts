// `store check` and `store repair`: what an operator runs when the plugin
// reports a damaged store file (code 5), or to audit a node's store.
//
// check lists every problem, read-only: unreadable files, entries the plugin
// never wrote, claims without a record, records listing addresses they do not
// hold, stray temp files of killed writers, loose permissions.
//
// repair fixes what can be fixed without ever letting one address be handed
// out twice. Its rule: a claim file is never removed. A claim's existence is
// what keeps an address from being given again, so
//   - a damaged claim is replaced (never removed) by a readable one, owned by
//     the one record that lists the address, or else held by a record of its
//     own, `repair-held-<time>`, that an operator releases once sure;
//   - a claim whose record is gone gets its record rebuilt from the claim, so
//     the runtime's DEL or GC releases it the normal way;
//   - a damaged record is set aside and rebuilt from the claims naming it.
// What is removed holds no address: stray temp files, empty directories, and
// records that hold none of the addresses they list (a killed ADD or DEL).
// Damaged and replaced files are moved to dataDir/damaged/<time>/, not deleted.
// Everything happens under the store lock, so no plugin call runs meanwhile.
import { copyFileSync, chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, unlinkSync, existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { isValidContainerId } from "../../../lib/cni/env";
import { CniError, ErrorCode } from "../../../lib/cni/errors";
import { formatIP, parseIP } from "../../../lib/ip/address";
import { rangeListContains } from "../../../lib/ip/range";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../../../lib/ipam/config";
import type { Pool } from "../../../lib/ipam/pool";
import { loadPools } from "../../../lib/ipam/pool-source";
import { fsyncDir, writeFileAtomic } from "../../../lib/store/atomic";
import { safeName, storeLayout, TEMP_PREFIX, type StoreLayout } from "../../../lib/store/layout";
import { canonicalAddress, parseClaim, StoreDamage, type AttachmentRecord, type ClaimRecord } from "../../../lib/store/records";
import { checkPrivateDir, readAttachmentAt, STRAY_CACHE_AGE_MS } from "../../../lib/store/store";
import { lockFile } from "../../../lib/sys/flock";
import { flag, type ParsedArgs } from "./args";
import { cliDirs } from "./dirs";

export type ProblemKind =
  | "damaged-record"
  | "damaged-claim"
  | "unexpected-entry"
  | "claim-without-record"
  | "claim-not-listed"
  | "address-not-held"
  | "stray-temp-file"
  | "empty-directory"
  | "permissions";

export interface Problem {
  kind: ProblemKind;
  /** Relative to dataDir. */
  path: string;
  message: string;
}

type Key = string; // "containerID/ifname"
const keyOf = (o: { containerID: string; ifname: string }): Key => `${o.containerID}/${o.ifname}`;

interface RecordEntry {
  record: AttachmentRecord;
  file: string;
}
interface ClaimEntry {
  claim: ClaimRecord;
  file: string;
}
interface DamagedEntry {
  file: string;
  why: string;
}

/** Everything one pass over the store found. */
interface Scan {
  records: Map<Key, RecordEntry>;
  damagedRecords: Map<Key, DamagedEntry & { containerID: string; ifname: string }>;
  claims: Map<string, ClaimEntry>;
  /** Claim files that cannot be read as a claim; keyed by address. */
  damagedClaims: Map<string, DamagedEntry>;
  /** Entries the plugin never writes (names, kinds); set aside by repair. */
  unexpected: DamagedEntry[];
  strays: string[];
  emptyDirs: string[];
  loose: { file: string; mode: number; want: number }[];
  foreign: { file: string; uid: number }[];
  setAside: number;
}

const errMsg = (e: unknown) => (e instanceof CniError ? e.message : (e as Error).message);

/** The reason parse* gave, without the advice around it. */
const reasonOf = (e: unknown) => (e instanceof StoreDamage ? e.reason : errMsg(e));

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

function scanStore(l: StoreLayout): Scan {
  const scan: Scan = {
    records: new Map(),
    damagedRecords: new Map(),
    claims: new Map(),
    damagedClaims: new Map(),
    unexpected: [],
    strays: [],
    emptyDirs: [],
    loose: [],
    foreign: [],
    setAside: 0,
  };
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  const mode = (file: string, isDir: boolean, st: { mode: number; uid: number }) => {
    const want = isDir ? 0o700 : 0o600;
    if (st.mode & 0o077) scan.loose.push({ file, mode: st.mode & 0o777, want });
    if (uid !== undefined && st.uid !== uid) scan.foreign.push({ file, uid: st.uid });
  };
  for (const dir of [l.root, l.attachments, l.claims, l.hints, l.cache]) {
    try {
      const st = lstatSync(dir);
      if (st.isDirectory()) mode(dir, true, st);
      else scan.unexpected.push({ file: dir, why: "not a directory" });
    } catch {
      /* missing: nothing stored there yet */
    }
  }

  // attachments/<containerID>/<ifname>
  for (const id of list(l.attachments)) {
    const dir = join(l.attachments, id);
    if (id.startsWith(TEMP_PREFIX)) {
      scan.strays.push(dir);
      continue;
    }
    const st = lstatSync(dir);
    if (!st.isDirectory() || id.startsWith(".") || !isValidContainerId(id)) {
      scan.unexpected.push({ file: dir, why: st.isDirectory() ? "not a container ID the plugin accepts" : "not a directory" });
      continue;
    }
    mode(dir, true, st);
    const names = list(dir);
    if (names.length === 0) scan.emptyDirs.push(dir);
    for (const ifname of names) {
      const file = join(dir, ifname);
      if (ifname.startsWith(TEMP_PREFIX)) {
        scan.strays.push(file);
        continue;
      }
      const fst = lstatSync(file);
      if (ifname.startsWith(".") || !fst.isFile()) {
        scan.unexpected.push({ file, why: fst.isFile() ? "a hidden name the plugin never writes" : "not a regular file" });
        continue;
      }
      mode(file, false, fst);
      try {
        const record = readAttachmentAt(readFileSync(file, "utf8"), file, id, ifname);
        scan.records.set(keyOf(record), { record, file });
      } catch (e) {
        scan.damagedRecords.set(`${id}/${ifname}`, { file, why: reasonOf(e), containerID: id, ifname });
      }
    }
  }

  // ips/<address>
  for (const name of list(l.claims)) {
    const file = join(l.claims, name);
    if (name.startsWith(TEMP_PREFIX)) {
      scan.strays.push(file);
      continue;
    }
    const address = canonicalAddress(name);
    const st = lstatSync(file);
    if (address === undefined) {
      scan.unexpected.push({ file, why: "not the canonical form of an address: the plugin never reads it" });
      continue;
    }
    if (!st.isFile()) {
      // It still makes the address "used" (the plugin tests existence).
      scan.damagedClaims.set(address, { file, why: "not a regular file" });
      continue;
    }
    mode(file, false, st);
    try {
      scan.claims.set(address, { claim: parseClaim(readFileSync(file, "utf8"), file), file });
    } catch (e) {
      scan.damagedClaims.set(address, { file, why: reasonOf(e) });
    }
  }

  for (const name of list(l.hints)) if (name.startsWith(TEMP_PREFIX)) scan.strays.push(join(l.hints, name));
  for (const name of list(l.cache)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const file = join(l.cache, name);
    try {
      if (Date.now() - lstatSync(file).mtimeMs > STRAY_CACHE_AGE_MS) scan.strays.push(file);
    } catch {
      /* gone meanwhile */
    }
  }
  const countFiles = (dir: string): number =>
    list(dir).reduce((n, name) => {
      const p = join(dir, name);
      return n + (lstatSync(p).isDirectory() ? countFiles(p) : 1);
    }, 0);
  scan.setAside = countFiles(l.damaged);
  return scan;
}

/** Cross-checks records against claims and returns every problem, in a stable order. */
function problemsOf(scan: Scan, l: StoreLayout): Problem[] {
  const rel = (file: string) => relative(l.root, file) || ".";
  const out: Problem[] = [];
  for (const d of scan.damagedRecords.values()) {
    out.push({ kind: "damaged-record", path: rel(d.file), message: `attachment record cannot be read (${d.why})` });
  }
  for (const [address, d] of scan.damagedClaims) {
    out.push({ kind: "damaged-claim", path: rel(d.file), message: `claim on ${address} cannot be read (${d.why}); the address stays in use` });
  }
  for (const u of scan.unexpected) out.push({ kind: "unexpected-entry", path: rel(u.file), message: u.why });
  for (const [address, { claim, file }] of scan.claims) {
    const owner = keyOf(claim);
    const record = scan.records.get(owner);
    if (record) {
      if (!record.record.ips.some((e) => e.address === address)) {
        out.push({ kind: "claim-not-listed", path: rel(file), message: `claimed by ${owner}, whose record does not list ${address}` });
      }
    } else if (!scan.damagedRecords.has(owner)) {
      out.push({ kind: "claim-without-record", path: rel(file), message: `claimed by ${owner}, which has no attachment record` });
    }
  }
  for (const { record, file } of scan.records.values()) {
    for (const e of record.ips) {
      const claim = scan.claims.get(e.address);
      if (scan.damagedClaims.has(e.address)) continue; // reported above
      if (!claim) {
        out.push({ kind: "address-not-held", path: rel(file), message: `lists ${e.address}, which nothing claims (left by a killed ADD or DEL)` });
      } else if (keyOf(claim.claim) !== keyOf(record)) {
        out.push({ kind: "address-not-held", path: rel(file), message: `lists ${e.address}, which is claimed by ${keyOf(claim.claim)}` });
      }
    }
  }
  for (const s of scan.strays) out.push({ kind: "stray-temp-file", path: rel(s), message: "temp file of a writer that was killed" });
  for (const d of scan.emptyDirs) out.push({ kind: "empty-directory", path: rel(d), message: "container directory without records" });
  for (const f of scan.foreign) out.push({ kind: "permissions", path: rel(f.file), message: `owned by uid ${f.uid}, not by this user` });
  for (const f of scan.loose) {
    out.push({ kind: "permissions", path: rel(f.file), message: `mode ${f.mode.toString(8)}, expected ${f.want.toString(8)}` });
  }
  return out;
}

/** Records held by repair for addresses whose owner could not be told. */
function heldNotices(scan: Scan): string[] {
  return [...scan.records.values()]
    .filter(({ record }) => record.containerID.startsWith(HELD_PREFIX))
    .map(
      ({ record }) =>
        `${record.ips.map((e) => e.address).join(", ")} held by ${keyOf(record)} (set by store repair, owner unknown): ` +
        `free with \`spiderpool-ipam release --container-id ${record.containerID}\` once no pod uses it`,
    );
}

const HELD_PREFIX = "repair-held-";

function withStoreLock<T>(l: StoreLayout, timeoutMs: number, fn: () => T): T {
  const lock = lockFile(l.lock, { timeoutMs });
  try {
    return fn();
  } finally {
    lock.release();
  }
}

function lockTimeout(args: ParsedArgs): number {
  const text = flag(args, "lock-timeout-ms");
  if (text === undefined) return DEFAULT_LOCK_TIMEOUT_MS;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new CniError(ErrorCode.InvalidConfig, `--lock-timeout-ms must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

async function checkCommand(args: ParsedArgs): Promise<number> {
  const dirs = cliDirs(args);
  const l = storeLayout(dirs.dataDir);
  const json = (flag(args, "o", "output") ?? "text") === "json";
  if (!existsSync(l.root)) {
    if (json) process.stdout.write(JSON.stringify({ dataDir: l.root, exists: false, problems: [], notices: [] }, null, 2) + "\n");
    else process.stdout.write(`no store at ${l.root}: nothing to check\n`);
    return 0;
  }
  const { problems, notices, setAside } = withStoreLock(l, lockTimeout(args), () => {
    const scan = scanStore(l);
    return { problems: problemsOf(scan, l), notices: heldNotices(scan), setAside: scan.setAside };
  });
  if (setAside > 0) notices.push(`${setAside} file(s) set aside by earlier repairs under damaged/ (kept for inspection; the plugin never reads them)`);
  if (json) {
    process.stdout.write(JSON.stringify({ dataDir: l.root, exists: true, problems, notices }, null, 2) + "\n");
  } else {
    for (const p of problems) process.stdout.write(`${p.kind}  ${p.path}  ${p.message}\n`);
    for (const n of notices) process.stdout.write(`note: ${n}\n`);
    process.stdout.write(
      problems.length === 0
        ? `store ${l.root}: no problems\n`
        : `store ${l.root}: ${problems.length} problem(s); \`spiderpool-ipam store repair --dry-run\` shows what repair would do\n`,
    );
  }
  return problems.length === 0 ? 0 : 1;
}

/** One step of a repair: what is printed, and what is done unless --dry-run. */
interface Action {
  text: string;
  run(): void;
}

function planRepair(l: StoreLayout, scan: Scan, pools: Pool[] | undefined, stamp: string): { actions: Action[]; left: string[] } {
  const actions: Action[] = [];
  const left: string[] = [];
  const rel = (file: string) => relative(l.root, file);
  const asideRoot = join(l.damaged, stamp);
  const asidePath = (file: string) => join(asideRoot, rel(file));
  const prepareAside = (file: string) => mkdirSync(dirname(asidePath(file)), { recursive: true, mode: 0o700 });
  /** Moves a file (or directory) out of the store, atomically. */
  const moveAside = (file: string, why: string) =>
    actions.push({
      text: `set aside ${rel(file)} -> ${rel(asidePath(file))} (${why})`,
      run: () => {
        prepareAside(file);
        renameSync(file, asidePath(file));
        // A container directory left empty goes too (as DEL would remove it).
        const parent = dirname(file);
        if (dirname(parent) === l.attachments) {
          try {
            rmdirSync(parent);
          } catch {
            /* other interfaces remain */
          }
        }
      },
    });
  /** Keeps a copy of a file that is about to be replaced atomically. */
  const copyAside = (file: string) => {
    prepareAside(file);
    if (lstatSync(file).isFile()) copyFileSync(file, asidePath(file));
  };
  const writeJson = (file: string, value: unknown) => {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileAtomic(file, JSON.stringify(value) + "\n");
  };

  // Records as they will be after the repair (rebuilt ones included).
  const records = new Map<Key, AttachmentRecord>([...scan.records].map(([k, v]) => [k, v.record]));
  // Owner of each claim after the repair.
  const owners = new Map<string, Key>([...scan.claims].map(([a, c]) => [a, keyOf(c.claim)]));
  const held: AttachmentRecord = {
    containerID: `${HELD_PREFIX}${stamp}`,
    ifname: "held",
    network: "",
    pod: {},
    ips: [],
    created: new Date().toISOString(),
  };
  const poolOf = (address: string, fallback?: string): string => {
    if (fallback) return fallback;
    const ip = parseIP(address);
    const pool = ip && pools?.find((p) => p.family === ip.family && rangeListContains(p.usable, ip));
    return pool ? pool.name : "unknown";
  };
  const entryFor = (address: string, pool?: string) => {
    const ip = parseIP(address)!;
    return { pool: poolOf(address, pool), address: formatIP(ip), family: ip.family };
  };
  const recordFile = (containerID: string, ifname: string) => join(l.attachments, containerID, ifname);
  const claimFor = (r: AttachmentRecord, pool: string): ClaimRecord => ({
    containerID: r.containerID,
    ifname: r.ifname,
    network: r.network,
    pool,
    pod: r.pod,
    created: r.created,
  });
  const storable = (containerID: string, ifname: string) => {
    try {
      safeName(containerID, "container ID");
      safeName(ifname, "interface name");
      return isValidContainerId(containerID);
    } catch {
      return false;
    }
  };

  // 0. Permissions first (what is moved or removed later is fixed harmlessly).
  for (const f of scan.loose) {
    actions.push({ text: `chmod ${f.want.toString(8)} ${rel(f.file) || "."} (was ${f.mode.toString(8)})`, run: () => chmodSync(f.file, f.want) });
  }

  // 1. Entries the plugin never writes: out of the way first (a file where a
  //    container directory belongs would block a rebuilt record).
  for (const u of scan.unexpected) {
    if (u.file === l.root || u.file === l.attachments || u.file === l.claims) {
      left.push(`${rel(u.file) || "."}: ${u.why}; fix by hand`);
      continue;
    }
    moveAside(u.file, u.why);
  }

  // 2. Claims grouped by their owner, for rebuilding records.
  const claimsBy = new Map<Key, { address: string; claim: ClaimRecord }[]>();
  for (const [address, { claim }] of scan.claims) {
    const k = keyOf(claim);
    claimsBy.set(k, [...(claimsBy.get(k) ?? []), { address, claim }]);
  }
  const rebuild = (containerID: string, ifname: string, owned: { address: string; claim: ClaimRecord }[]): AttachmentRecord => {
    const first = owned[0]!.claim;
    const r: AttachmentRecord = {
      containerID,
      ifname,
      network: first.network,
      pod: first.pod ?? {},
      ips: owned.map((o) => entryFor(o.address, o.claim.pool)),
      created: first.created ?? new Date().toISOString(),
    };
    records.set(keyOf(r), r);
    return r;
  };
  const toHold = new Map<string, string | undefined>(); // address -> pool, kept by the held record

  // 3. Damaged records: set aside; rebuilt from the claims that name them.
  for (const [k, d] of scan.damagedRecords) {
    const owned = claimsBy.get(k) ?? [];
    if (owned.length === 0) {
      moveAside(d.file, `${d.why}; no claim names it, so it holds no address`);
      continue;
    }
    const r = rebuild(d.containerID, d.ifname, owned);
    actions.push({
      text: `rebuild ${rel(d.file)} (${d.why}) from the claims naming it: ${r.ips.map((e) => e.address).join(", ")}; the damaged file -> ${rel(asidePath(d.file))}`,
      run: () => {
        copyAside(d.file);
        writeJson(d.file, r);
      },
    });
  }

  // 4. Claims whose record is gone: the record comes back from the claims.
  for (const [k, owned] of claimsBy) {
    if (scan.records.has(k) || scan.damagedRecords.has(k)) continue;
    const { containerID, ifname } = owned[0]!.claim;
    if (!storable(containerID, ifname)) {
      for (const o of owned) toHold.set(o.address, o.claim.pool);
      continue;
    }
    const r = rebuild(containerID, ifname, owned);
    actions.push({
      text: `rebuild the missing record ${rel(recordFile(containerID, ifname))} from its claims: ${r.ips.map((e) => e.address).join(", ")} (so DEL or GC of ${k} releases them)`,
      run: () => {
        mkdirSync(join(l.attachments, containerID), { recursive: true, mode: 0o700 });
        writeJson(recordFile(containerID, ifname), r);
        fsyncDir(l.attachments);
      },
    });
  }

  // 5. Claims their owner's record does not list: kept, held by repair.
  for (const [address, { claim }] of scan.claims) {
    const r = scan.records.get(keyOf(claim));
    if (r && !r.record.ips.some((e) => e.address === address)) toHold.set(address, claim.pool);
  }

  // 6. Damaged claims: replaced by a readable claim, never removed.
  const noDamagedRecords = scan.damagedRecords.size === 0;
  for (const [address, d] of scan.damagedClaims) {
    const listing = [...records.values()].filter((r) => r.ips.some((e) => e.address === address));
    const isFile = lstatSync(d.file).isFile();
    if (listing.length === 1 && noDamagedRecords) {
      const r = listing[0]!;
      const claim = claimFor(r, r.ips.find((e) => e.address === address)!.pool);
      owners.set(address, keyOf(r));
      actions.push({
        text: `rewrite the claim ${rel(d.file)} (${d.why}) for ${keyOf(r)}, the one record listing ${address}; the damaged file -> ${rel(asidePath(d.file))}`,
        run: () => {
          if (isFile) copyAside(d.file);
          else {
            prepareAside(d.file);
            renameSync(d.file, asidePath(d.file));
          }
          writeJson(d.file, claim);
        },
      });
    } else {
      toHold.set(address, listing[0]?.ips.find((e) => e.address === address)?.pool);
    }
  }

  // 7. Addresses kept by a record of repair's own, released only by a person.
  if (toHold.size > 0) {
    held.ips = [...toHold].map(([address, pool]) => entryFor(address, pool));
    const heldKey = keyOf(held);
    for (const e of held.ips) owners.set(e.address, heldKey);
    records.set(heldKey, held);
    actions.push({
      text:
        `keep ${held.ips.map((e) => e.address).join(", ")} in use under ${heldKey}: no single owner can be told ` +
        `(free with \`spiderpool-ipam release --container-id ${held.containerID}\` once no pod uses ${held.ips.length > 1 ? "them" : "it"})`,
      run: () => {
        // The record first, then the claims: as ADD writes them.
        mkdirSync(join(l.attachments, held.containerID), { recursive: true, mode: 0o700 });
        writeJson(recordFile(held.containerID, held.ifname), held);
        fsyncDir(l.attachments);
        for (const e of held.ips) {
          const file = join(l.claims, e.address);
          const damagedClaim = scan.damagedClaims.get(e.address);
          if (damagedClaim && !lstatSync(file).isFile()) {
            // A directory cannot be replaced atomically by a file: write the
            // claim next to it first, so the gap is two renames long.
            const tmp = join(l.claims, `${TEMP_PREFIX}repair-${e.address}`);
            writeFileAtomic(tmp, JSON.stringify(claimFor(held, e.pool)) + "\n");
            prepareAside(file);
            renameSync(file, asidePath(file));
            renameSync(tmp, file);
          } else {
            if (existsSync(file)) copyAside(file);
            writeJson(file, claimFor(held, e.pool));
          }
        }
        fsyncDir(l.claims);
      },
    });
  }

  // 8. Records holding none of the addresses they list: they hold nothing.
  for (const { record, file } of scan.records.values()) {
    const k = keyOf(record);
    const holds = record.ips.filter((e) => owners.get(e.address) === k);
    if (holds.length === record.ips.length) continue;
    if (holds.length > 0) {
      left.push(`${rel(file)} holds ${holds.map((e) => e.address).join(", ")} but not all it lists: left for the runtime's DEL or a retried ADD`);
      continue;
    }
    moveAside(file, `holds none of ${record.ips.map((e) => e.address).join(", ") || "its addresses"}`);
  }

  // 9. Leftovers of killed writers.
  for (const s of scan.strays) {
    actions.push({
      text: `remove stray temp file ${rel(s)}`,
      run: () => {
        try {
          unlinkSync(s);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        }
      },
    });
  }
  for (const d of scan.emptyDirs) {
    actions.push({
      text: `remove empty directory ${rel(d)}`,
      run: () => {
        try {
          rmdirSync(d);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT" && (e as NodeJS.ErrnoException).code !== "ENOTEMPTY") throw e;
        }
      },
    });
  }
  return { actions, left };
}

async function repairCommand(args: ParsedArgs): Promise<number> {
  const dirs = cliDirs(args);
  const l = storeLayout(dirs.dataDir);
  const dryRun = args.flags.has("dry-run");
  if (!existsSync(l.root)) {
    process.stdout.write(`no store at ${l.root}: nothing to repair\n`);
    return 0;
  }
  // A store others can write to cannot be trusted enough to repair: its owner decides.
  checkPrivateDir(l.root, "dataDir");
  for (const dir of [l.attachments, l.claims]) if (existsSync(dir)) checkPrivateDir(dir, "store directory");
  let pools: Pool[] | undefined;
  try {
    pools = await loadPools(dirs.poolDir, []);
  } catch {
    pools = undefined; // only used to name the pool of a held address
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const { done, left, remaining } = withStoreLock(l, lockTimeout(args), () => {
    const scan = scanStore(l);
    if (scan.foreign.length > 0) {
      throw new CniError(
        ErrorCode.InvalidConfig,
        `store entries owned by another user (${scan.foreign.map((f) => relative(l.root, f.file)).join(", ")}); refusing to repair: check who wrote them`,
      );
    }
    const plan = planRepair(l, scan, pools, stamp);
    const done: string[] = [];
    for (const a of plan.actions) {
      if (!dryRun) a.run();
      done.push(a.text);
      // Printed as it happens: a repair that fails half-way shows what it did.
      process.stdout.write(`${dryRun ? "plan" : "done"}: ${a.text}\n`);
    }
    if (!dryRun && existsSync(join(l.damaged, stamp))) {
      chmodSync(l.damaged, 0o700);
    }
    const remaining = dryRun ? [] : problemsOf(scanStore(l), l);
    return { done, left: plan.left, remaining };
  });
  for (const x of left) process.stdout.write(`left: ${x}\n`);
  if (dryRun) {
    process.stdout.write(`dry run: ${done.length} action(s) planned, nothing changed\n`);
    return 0;
  }
  process.stdout.write(
    done.length === 0 ? `store ${l.root}: nothing to repair\n` : `store ${l.root}: ${done.length} action(s) done; ${remaining.length} problem(s) left\n`,
  );
  for (const p of remaining) process.stdout.write(`still: ${p.kind}  ${p.path}  ${p.message}\n`);
  return 0;
}

export async function storeCommand(args: ParsedArgs): Promise<number> {
  const sub = args.positional[1];
  switch (sub) {
    case "check":
      return checkCommand(args);
    case "repair":
      return repairCommand(args);
    default:
      process.stderr.write(`store needs a subcommand: check or repair (got ${sub === undefined ? "none" : JSON.stringify(sub)}); see --help\n`);
      return 2;
  }
}
