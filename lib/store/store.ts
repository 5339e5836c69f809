// The allocation store: one file per attachment and one claim file per used
// address, under one kernel lock. Cost per operation does not grow with the
// number of allocations (a lookup is one open, a free address is found from a
// per-pool hint).
//
// Crash safety comes from write order, not from a journal:
//   ADD writes the attachment record first, then the claims;
//   DEL lowers the pool hint, removes the claims it owns, then the record.
// A process killed in between leaves either a record whose listed addresses are
// not (all) claimed — harmless, DEL or a retried ADD cleans it — or claims
// still listed by their record, which DEL releases. A claim is never written
// without a durable record naming it, so nothing is lost or given twice.
// A quarantined address (ipvlan-attach reported a conflict on it) keeps its
// claim, named by a conflict record under conflicts/ written before the
// release; releases leave such a claim, and only the end of the quarantine
// (ADD or GC once the hold is over, `release --conflicts`) removes it.
// Temp files of a killed writer are removed by DEL (its container's directory)
// and GC (everywhere); listings never read them. A live writer keeps a lock
// on each of its temp files (lib/sys/atomic.ts), so an ADD's claims pre-staged before
// the store lock are never taken for a dead writer's.
//
// Every store file is opened non-blocking and must be a regular file (a FIFO
// in its place would hang the call while it holds the lock), and no symbolic
// link is followed below dataDir; dataDir's own path is checked from "/"
// (lib/sys/trusted-path.ts).
import {
  entryExists, exists, fileKind, isLossyName, isMissing, listDir, listDirIfExists, lstatIfExists, lstatPath, makeDirIfMissing, makeDirs, O_NOFOLLOW, overwriteStart, readTextIfExists,
  removeDir, unlinkPath, unlinkQuietly,
} from "../sys/fs";
import { joinPath as join } from "../sys/path";
import { CniError, ErrorCode } from "../cni/errors";
import { checkPrivateDir, checkTrustedPath } from "../ipam/private-dir";
import { discardStaged, fsyncDir, publishFile, removeIfAbandoned, stageFiles, writeFileAtomic, type StagedFile } from "../sys/atomic";
import { safeName, storeLayout, TEMP_PREFIX, type StoreLayout } from "./layout";
import {
  damaged, encodeAttachment, encodeClaim, encodeConflict, keptBy, parseAttachment, parseClaim, parseConflict, StoreDamage, type AttachmentRecord, type ClaimRecord,
  type ConflictRecord,
} from "./records";
import { isDigits } from "../text";

export interface StoreLock {
  release(): void;
}
export type LockAcquirer = (path: string, timeoutMs: number) => StoreLock;

export interface StoreOptions {
  dataDir: string;
  lockTimeoutMs: number;
  acquireLock: LockAcquirer;
}

function storeIo(e: unknown, what: string): CniError {
  if (e instanceof CniError) return e;
  const err = e as NodeJS.ErrnoException;
  const hint = err.code === "ENOSPC" ? " (no space left on the device holding dataDir)" : "";
  return new CniError(ErrorCode.IoFailure, `store: cannot ${what}: ${err.message}${hint}`, err.code ?? "");
}

/** A store file's text (undefined when missing); a FIFO, device or link in its place is code 5 naming it. */
function readIfExists(file: string): string | undefined {
  try {
    return readTextIfExists(file, O_NOFOLLOW);
  } catch (e) {
    throw storeIo(e, `read ${file}`);
  }
}

/**
 * A listed name that may be one of the store's entries: not hidden (temp
 * files), and its real name (an invalid UTF-8 name decodes to another one:
 * such entries are left alone, and `store check` lists them).
 */
const isStoreName = (name: string): boolean => !name.startsWith(".") && !isLossyName(name);

export class AllocationStore {
  readonly layout: StoreLayout;
  private readonly opts: StoreOptions;

  /** Paths and reads without the lock, for what ADD and DEL prepare before taking it. */
  private readonly unlocked: StoreTx;

  private constructor(opts: StoreOptions) {
    this.opts = opts;
    this.layout = storeLayout(opts.dataDir);
    this.unlocked = new StoreTx(this.layout);
  }

  /**
   * The store under dataDir as it is, for inspection (`store check`): nothing
   * is created or refused; only the lock is taken.
   */
  static inspect(opts: StoreOptions): AllocationStore {
    return new AllocationStore(opts);
  }

  /** Opens (creating 0700 directories as needed) the store under dataDir. */
  static open(opts: StoreOptions): AllocationStore {
    const store = new AllocationStore(opts);
    const l = store.layout;
    // Before creating anything: mkdir would follow a replaced component.
    checkTrustedPath(l.root, "dataDir");
    try {
      makeDirs(l.root, 0o700);
    } catch (e) {
      throw storeIo(e, `create dataDir ${l.root}`);
    }
    checkPrivateDir(l.root, "dataDir");
    for (const dir of [l.attachments, l.claims, l.hints]) {
      // Created once; every later call only inspects it (checkPrivateDir).
      try {
        makeDirIfMissing(dir, 0o700);
      } catch (e) {
        throw storeIo(e, `create ${dir}`);
      }
      // dataDir may be searchable by others (0755): a subdirectory writable by
      // them would let them add or remove claims.
      checkPrivateDir(dir, "store directory");
    }
    return store;
  }

  /**
   * Before the lock (ADD): the container's directory, made durable, and a
   * claim file per likely pool, written and fsynced under a temporary name
   * in that directory. commit() then only renames them into ips/: the lock
   * is held across fewer disk flushes, which is what serialises a burst of
   * ADDs. Best effort: on any failure nothing is kept and commit() stages
   * the claims itself; what a killed process leaves is swept by DEL and GC
   * like any temp file of the container's directory. The files stay locked
   * while this process lives, so a sweeper running before the lock is ours
   * leaves them alone.
   */
  prestageClaims(owner: ClaimOwner, pools: string[]): PrestagedClaims {
    const staged: PrestagedClaims = new Map();
    const dir = this.unlocked.containerDir(owner.containerID);
    let createdDir = false;
    try {
      createdDir = makeDirIfMissing(dir, 0o700);
      this.unlocked.checkContainerDir(owner.containerID);
      // The address is chosen under the lock; the path given here only names the temp file.
      const contents = pools.map((pool) => encodeClaim(owner, pool));
      const files = stageFiles(contents.map((data) => ({ path: join(dir, "claim"), data, tmpDir: dir })));
      pools.forEach((pool, i) => staged.set(pool, { ...files[i]!, content: contents[i]! }));
      // Already in the journal commit of the fsyncs above: costs no second one.
      if (createdDir) fsyncDir(this.layout.attachments);
    } catch {
      discardPrestaged(staged);
      if (createdDir) {
        try {
          removeDir(dir);
        } catch {
          /* left empty: DEL or GC removes it */
        }
      }
    }
    return staged;
  }

  /** Whether an attachment is recorded (a hint read without the lock: decide under it). */
  recorded(containerID: string, ifname: string): boolean {
    return exists(this.unlocked.attachmentFile(containerID, ifname));
  }

  /** Removes a container's directory if it is empty (after a failed ADD that pre-staged into it). */
  removeEmptyContainerDir(containerID: string): void {
    try {
      removeDir(this.unlocked.containerDir(containerID));
    } catch {
      /* not empty, or gone */
    }
  }

  /** Runs fn holding the store lock; the kernel drops the lock if we die. */
  withLock<T>(fn: (tx: StoreTx) => T): T {
    const lock = this.opts.acquireLock(this.layout.lock, this.opts.lockTimeoutMs);
    try {
      return fn(new StoreTx(this.layout));
    } finally {
      lock.release();
    }
  }
}

export class StoreTx {
  constructor(readonly layout: StoreLayout) {}

  containerDir(containerID: string): string {
    return join(this.layout.attachments, safeName(containerID, "container ID"));
  }

  attachmentFile(containerID: string, ifname: string): string {
    return join(this.containerDir(containerID), safeName(ifname, "interface name"));
  }

  claimFile(address: string): string {
    return join(this.layout.claims, safeName(address, "address"));
  }

  conflictFile(address: string): string {
    return join(this.layout.conflicts, safeName(address, "address"));
  }

  /**
   * The container's directory, refused (code 5, named) when something else
   * is in its place: a symbolic link there would put records and temp files
   * outside dataDir. A missing directory is fine (nothing recorded).
   */
  checkContainerDir(containerID: string): string {
    const dir = this.containerDir(containerID);
    let st;
    try {
      st = lstatIfExists(dir);
    } catch (e) {
      throw storeIo(e, `inspect ${dir}`);
    }
    if (st && !st.isDirectory()) {
      throw new CniError(
        ErrorCode.IoFailure,
        `store: ${dir} is a ${fileKind(st.mode)}, not a directory; refusing to use it (it is not what the plugin writes: ` +
          "`spiderpool-ipam store check` lists it, `spiderpool-ipam store repair` sets it aside)",
      );
    }
    return dir;
  }

  attachment(containerID: string, ifname: string): AttachmentRecord | undefined {
    this.checkContainerDir(containerID);
    const file = this.attachmentFile(containerID, ifname);
    const text = readIfExists(file);
    return text === undefined ? undefined : readAttachmentAt(text, file, containerID, ifname);
  }

  /** Every interface of one container (for `release --container-id`). */
  attachmentsOf(containerID: string): AttachmentRecord[] {
    const dir = this.checkContainerDir(containerID);
    let names: string[];
    try {
      names = listDirIfExists(dir, O_NOFOLLOW) ?? [];
    } catch (e) {
      throw storeIo(e, `list ${dir}`);
    }
    return names.filter(isStoreName).map((n) => {
      const file = join(dir, n);
      return readAttachmentAt(readIfExists(file) ?? "", file, containerID, n);
    });
  }

  listAttachments(): AttachmentRecord[] {
    let ids: string[];
    try {
      ids = listDir(this.layout.attachments);
    } catch (e) {
      throw storeIo(e, `list ${this.layout.attachments}`);
    }
    return ids.filter(isStoreName).flatMap((id) => this.attachmentsOf(id));
  }

  /** Any entry named for the address holds it, even one that is not a readable claim (a link, a FIFO): never handed out over it. */
  isUsed(address: string): boolean {
    return entryExists(this.claimFile(address));
  }

  claim(address: string): ClaimRecord | undefined {
    const file = this.claimFile(address);
    const text = readIfExists(file);
    return text === undefined ? undefined : parseClaim(text, file);
  }

  listClaims(): { address: string; claim: ClaimRecord }[] {
    let names: string[];
    try {
      names = listDir(this.layout.claims);
    } catch (e) {
      throw storeIo(e, `list ${this.layout.claims}`);
    }
    return names
      .filter(isStoreName)
      .map((address) => {
        const file = join(this.layout.claims, address);
        return { address, claim: parseClaim(readIfExists(file) ?? "", file) };
      });
  }

  /** The quarantine of one address, if any. */
  conflict(address: string): ConflictRecord | undefined {
    const file = this.conflictFile(address);
    const text = readIfExists(file);
    return text === undefined ? undefined : parseConflict(text, file, address);
  }

  /**
   * Every quarantined address, with its record (undefined when the file
   * cannot be read: `damage` says why; its address stays held by its claim).
   * conflicts/ exists once something was quarantined; it must be private like
   * ips/: a forged record there could free someone else's claim.
   */
  listConflicts(): { address: string; conflict?: ConflictRecord; damage?: StoreDamage }[] {
    let names: string[] | undefined;
    try {
      names = listDirIfExists(this.layout.conflicts, O_NOFOLLOW);
    } catch (e) {
      throw storeIo(e, `list ${this.layout.conflicts}`);
    }
    if (!names) return [];
    checkPrivateDir(this.layout.conflicts, "store directory");
    return names.filter(isStoreName).map((address) => {
      const file = join(this.layout.conflicts, address);
      try {
        return { address, conflict: parseConflict(readIfExists(file) ?? "", file, address) };
      } catch (e) {
        if (e instanceof StoreDamage) return { address, damage: e };
        throw e;
      }
    });
  }

  /**
   * Quarantines addresses of an attachment that is about to be released:
   * their conflict records are durable before anything is released, so a
   * release killed half-way, or retried without the conflicts, keeps them
   * (release() leaves a claim its quarantine keeps).
   */
  quarantine(conflicts: ConflictRecord[]): void {
    if (conflicts.length === 0) return;
    const dir = this.layout.conflicts;
    try {
      const created = makeDirIfMissing(dir, 0o700);
      checkPrivateDir(dir, "store directory");
      const staged = stageFiles(conflicts.map((c) => ({ path: this.conflictFile(c.address), data: encodeConflict(c) })));
      try {
        for (const s of staged) publishFile(s);
      } finally {
        for (const s of staged) if (s.fd >= 0) discardStaged(s);
      }
      fsyncDir(dir);
      if (created) fsyncDir(this.layout.root);
      this.conflictsSeen = true;
    } catch (e) {
      throw storeIo(e, `quarantine ${conflicts.map((c) => c.address).join(", ")}`);
    }
  }

  /**
   * Ends a quarantine: the claim it keeps goes first (durably), then its
   * record. A claim that is no longer the one it kept (freed and taken again
   * after a crash between the two steps) is left alone.
   */
  endQuarantine(address: string, conflict: ConflictRecord): void {
    const claim = this.claim(address);
    try {
      if (claim && keptBy(claim, conflict)) {
        unlinkPath(this.claimFile(address));
        fsyncDir(this.layout.claims);
      }
      unlinkPath(this.conflictFile(address));
    } catch (e) {
      if (!isMissing(e)) throw storeIo(e, `end the quarantine of ${address}`);
    }
  }

  /** Whether a quarantine keeps this claim (a conflict record that cannot be read keeps it too). */
  private quarantineKeeps(address: string, claim: ClaimRecord): boolean {
    this.conflictsSeen ??= entryExists(this.layout.conflicts);
    if (!this.conflictsSeen) return false;
    const file = this.conflictFile(address);
    try {
      const text = readIfExists(file);
      return text !== undefined && keptBy(claim, parseConflict(text, file, address));
    } catch (e) {
      if (e instanceof StoreDamage) return true;
      throw e;
    }
  }

  /** Whether conflicts/ exists, asked once per transaction (most stores never quarantine anything). */
  private conflictsSeen: boolean | undefined;

  /** The lowest ordinal that may be free in a pool whose usable set has this fingerprint. */
  hint(pool: string, fingerprint: string): bigint {
    let text: string | undefined;
    try {
      text = readIfExists(join(this.layout.hints, safeName(pool, "pool name")));
    } catch {
      return 0n; // only a hint: setHint replaces whatever is there
    }
    if (!text) return 0n;
    const [fp, ord] = text.trim().split(" ");
    if (fp !== fingerprint || !ord || !isDigits(ord)) return 0n;
    return BigInt(ord);
  }

  /**
   * Hints are only an optimisation: overwritten in place at a fixed width (a
   * rename would make ext4 start writeback), not fsynced, and
   * never a reason to fail. A torn or stale hint only moves where the scan
   * starts (it wraps around), and one that does not parse reads as 0. When
   * one cannot be written (disk full) it is removed instead: a missing hint
   * means "scan from the start", always right. Anything else in a hint's
   * place (a FIFO, a link) is removed and the hint written afresh.
   */
  setHint(pool: string, fingerprint: string, ordinal: bigint): void {
    const file = join(this.layout.hints, safeName(pool, "pool name"));
    const text = `${fingerprint} ${ordinal}`.padEnd(HINT_WIDTH - 1) + "\n";
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        overwriteStart(file, text, 0o600);
        return;
      } catch {
        // No hint at all is fine too (disk full, a directory in its place).
        unlinkQuietly(file);
      }
    }
  }

  /**
   * Records an attachment and claims its addresses. On failure (disk full)
   * everything this call wrote is removed again and the old state stays.
   *
   * All contents are staged (written and fsynced under temporary names)
   * first, so one journal commit makes them durable together; then the
   * record goes into place durably, and only then the claims. The claims are
   * staged in the container's directory, where DEL sweeps what a killed ADD
   * left, and renamed into ips/ from there. A pre-staged claim that is gone
   * (removed by hand, or by a sweeper between its creation and its lock) is
   * staged afresh here.
   */
  commit(record: AttachmentRecord, prestaged: PrestagedClaims = new Map()): void {
    const dir = this.containerDir(record.containerID);
    const file = this.attachmentFile(record.containerID, record.ifname);
    const staged: StagedFile[] = [];
    const written: string[] = [];
    let createdDir = false;
    try {
      createdDir = makeDirIfMissing(dir, 0o700);
      this.checkContainerDir(record.containerID);
      const claimFiles: StagedFile[] = [];
      const toStage: { path: string; data: string; tmpDir?: string }[] = [{ path: file, data: encodeAttachment(record) }];
      for (const ip of record.ips) {
        const early = prestaged.get(ip.pool);
        const content = encodeClaim(record, ip.pool);
        if (early && early.content === content && exists(early.tmp)) {
          prestaged.delete(ip.pool); // one claim file per pool: a second address of a pool stages its own
          early.path = this.claimFile(ip.address);
          staged.push(early);
          claimFiles.push(early);
        } else {
          toStage.push({ path: this.claimFile(ip.address), data: content, tmpDir: dir });
        }
      }
      const [recordFile, ...lateClaims] = stageFiles(toStage);
      staged.push(recordFile!, ...lateClaims);
      claimFiles.push(...lateClaims);
      publish(recordFile!, written);
      fsyncDir(dir);
      if (createdDir) fsyncDir(this.layout.attachments);
      for (const claimFile of claimFiles) publish(claimFile, written);
      fsyncDir(this.layout.claims);
    } catch (e) {
      for (const s of staged) if (!written.includes(s.path)) discardStaged(s);
      for (const f of written.reverse()) {
        try {
          unlinkPath(f);
        } catch {
          /* best effort: the record alone is harmless */
        }
      }
      if (createdDir) {
        try {
          removeDir(dir);
        } catch {
          /* an empty directory is harmless too */
        }
      }
      throw storeIo(e, `record the allocation of ${record.containerID}/${record.ifname}`);
    }
  }

  /** Removes the claims this attachment owns (but those a quarantine keeps), then its record. Idempotent. */
  release(record: AttachmentRecord): void {
    try {
      let removed = 0;
      for (const ip of record.ips) {
        const owner = this.claim(ip.address);
        if (owner && owner.containerID === record.containerID && owner.ifname === record.ifname && !this.quarantineKeeps(ip.address, owner)) {
          unlinkPath(this.claimFile(ip.address));
          removed++;
        }
      }
      // The claims must be gone for good before their record goes: else a
      // crash could leave claims that no record names.
      if (removed > 0) fsyncDir(this.layout.claims);
      const file = this.attachmentFile(record.containerID, record.ifname);
      try {
        unlinkPath(file);
      } catch (e) {
        if (!isMissing(e)) throw e;
      }
      const dir = this.containerDir(record.containerID);
      try {
        removeDir(dir);
      } catch {
        /* other interfaces of this container remain */
      }
      // No fsync here: if a crash undoes the record's removal, what comes back
      // is a record whose addresses are not claimed, which is harmless (the
      // next ADD of that container starts over, GC or DEL removes it, and
      // nobody's claim is touched: releases check each claim's owner).
    } catch (e) {
      throw storeIo(e, `release ${record.containerID}/${record.ifname}`);
    }
  }

  /**
   * Removes what a killed writer left in one container's directory: temp
   * files no live writer holds (an ADD waiting for the lock holds the claims
   * it pre-staged) and the directory itself once empty. For DEL: costs one
   * readdir.
   */
  tidyContainer(containerID: string): void {
    const dir = this.containerDir(containerID);
    let names: string[] | undefined;
    try {
      names = listDirIfExists(dir, O_NOFOLLOW);
    } catch {
      return;
    }
    if (!names) return;
    let left = 0;
    for (const n of names) if (!n.startsWith(TEMP_PREFIX) || isLossyName(n) || !removeIfAbandoned(join(dir, n))) left++;
    if (left === 0) {
      try {
        removeDir(dir);
      } catch {
        /* not empty after all */
      }
    }
  }

  /**
   * Removes every stray temp file of the store (those no live writer holds:
   * ADDs waiting for the lock, pool cache writers) and empty container
   * directories (for GC, which lists everything anyway). Returns the paths.
   */
  sweepStrays(): string[] {
    const removed: string[] = [];
    const sweep = (dir: string) => {
      let names: string[];
      try {
        names = listDir(dir, O_NOFOLLOW);
      } catch {
        return;
      }
      for (const n of names) {
        if (n.startsWith(TEMP_PREFIX) && !isLossyName(n) && removeIfAbandoned(join(dir, n))) removed.push(join(dir, n));
      }
    };
    sweep(this.layout.claims);
    sweep(this.layout.hints);
    sweep(this.layout.conflicts);
    sweep(this.layout.attachments);
    sweep(this.layout.cache);
    let ids: string[] = [];
    try {
      ids = listDir(this.layout.attachments).filter(isStoreName);
    } catch {
      /* listed by the caller already */
    }
    for (const id of ids) {
      const dir = join(this.layout.attachments, id);
      sweep(dir);
      try {
        if (listDir(dir, O_NOFOLLOW).length === 0) {
          removeDir(dir);
          removed.push(dir);
        }
      } catch {
        /* not a directory, or raced: store check reports oddities */
      }
    }
    return removed;
  }

  /**
   * Writes one record alone, durably (repair: a record rebuilt from the
   * claims that name it; its claims exist already).
   */
  writeRecord(record: AttachmentRecord): void {
    const dir = this.containerDir(record.containerID);
    try {
      const created = makeDirIfMissing(dir, 0o700);
      this.checkContainerDir(record.containerID);
      writeFileAtomic(this.attachmentFile(record.containerID, record.ifname), encodeAttachment(record));
      if (created) fsyncDir(this.layout.attachments);
    } catch (e) {
      throw storeIo(e, `write the record of ${record.containerID}/${record.ifname}`);
    }
  }

  /**
   * Writes the claim on `address` for `owner`, durably, replacing whatever
   * is there (repair). Anything but a directory is replaced in one rename;
   * a directory is handed to `setAside` only once the new claim is staged
   * beside it, so the address is unclaimed for two renames at most.
   */
  writeClaim(address: string, owner: ClaimOwner, pool: string, setAside: (file: string) => void): void {
    const file = this.claimFile(address);
    try {
      const [staged] = stageFiles([{ path: file, data: encodeClaim(owner, pool) }]);
      try {
        let isDirectory = false;
        try {
          isDirectory = lstatPath(file).isDirectory();
        } catch (e) {
          if (!isMissing(e)) throw e;
        }
        if (isDirectory) setAside(file);
      } catch (e) {
        discardStaged(staged!);
        throw e;
      }
      publishFile(staged!);
      fsyncDir(this.layout.claims);
    } catch (e) {
      throw storeIo(e, `write the claim on ${address}`);
    }
  }

  /** Removes a claim with no attachment record behind it (repair, GC). */
  dropClaim(address: string): void {
    try {
      unlinkPath(this.claimFile(address));
    } catch (e) {
      if (!isMissing(e)) throw storeIo(e, `remove claim ${address}`);
    }
  }
}

/** What a claim says about its owner: the attachment record without its addresses. */
export type ClaimOwner = Omit<AttachmentRecord, "ips">;

/** Claim files staged before the lock, by pool, with the text each holds. */
export type PrestagedClaims = Map<string, StagedFile & { content: string }>;

/** Removes pre-staged claim files commit() did not use. */
export function discardPrestaged(prestaged: PrestagedClaims): void {
  for (const staged of prestaged.values()) discardStaged(staged);
  prestaged.clear();
}

/** Bytes of a hint file: fingerprint, space, ordinal (at most 39 digits), padding, newline. */
const HINT_WIDTH = 64;

/** Puts a staged file in place and notes it for a rollback. */
function publish(staged: StagedFile, written: string[]): void {
  publishFile(staged);
  written.push(staged.path);
}

/**
 * Parses a record and checks it is the one its path names: a record copied
 * under another container's name would otherwise answer that container's ADD
 * with addresses it does not hold.
 */
export function readAttachmentAt(text: string, file: string, containerID: string, ifname: string): AttachmentRecord {
  const record = parseAttachment(text, file);
  if (record.containerID !== containerID || record.ifname !== ifname) {
    throw damaged(file, `it records ${JSON.stringify(`${record.containerID}/${record.ifname}`.slice(0, 300))}, not the attachment its path names`);
  }
  return record;
}
