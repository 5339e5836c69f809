// Reading the whole store for `store check` and `store repair`: one pass over
// its directories; problems.ts cross-checks what it found. Nothing here writes.
import { isValidContainerId } from "../cni/env";
import { CniError } from "../cni/errors";
import { fileKind, isLossyName, listDirIfExists, lstatIfExists, O_NOFOLLOW, readTextIfExists, type FileStat } from "../sys/fs";
import { joinPath as join } from "../sys/path";
import { isAbandoned } from "../sys/atomic";
import { TEMP_PREFIX, type StoreLayout } from "./layout";
import { emptyScan, keyOf, type StoreScan } from "./problems";
import { canonicalAddress, parseClaim, parseConflict, StoreDamage } from "./records";
import { readAttachmentAt } from "./store";

/** The reason parse* gave, without the advice around it. */
const reasonOf = (e: unknown) => (e instanceof StoreDamage ? e.reason : e instanceof CniError ? e.message : (e as Error).message);

/** A directory's names, sorted; none when it is not there (or not a directory: reported by its own check). */
const namesIn = (dir: string): string[] => (listDirIfExists(dir, O_NOFOLLOW) ?? []).sort();

/** Reads the whole store (the caller holds the store lock). */
export function scanStore(l: StoreLayout, uid = process.getuid?.()): StoreScan {
  const scan = emptyScan(l.root);
  const noteMode = (file: string, st: FileStat) => {
    const want = st.isDirectory() ? 0o700 : 0o600;
    if (st.mode & 0o077) scan.loose.push({ file, mode: st.mode & 0o777, want });
    if (uid !== undefined && st.uid !== uid) scan.foreign.push({ file, uid: st.uid });
  };
  const stray = (file: string) => {
    if (isAbandoned(file)) scan.strays.push(file);
  };
  // A name that is not valid UTF-8 lists as another name: reported, never opened.
  const entriesOf = (dir: string): string[] =>
    namesIn(dir).filter((name) => {
      if (!isLossyName(name)) return true;
      const why = "a name that is not valid UTF-8 (shown with U+FFFD): the plugin never writes one, and no path built from the shown name reaches it";
      scan.unexpected.push({ file: join(dir, name), why, unreachable: true });
      return false;
    });
  for (const dir of [l.root, l.attachments, l.claims, l.hints, l.conflicts, l.cache]) {
    const st = lstatIfExists(dir);
    if (st?.isDirectory()) noteMode(dir, st);
    else if (st) scan.unexpected.push({ file: dir, why: `a ${fileKind(st.mode)}, not a directory` });
  }

  // attachments/<containerID>/<ifname>
  for (const id of entriesOf(l.attachments)) {
    const dir = join(l.attachments, id);
    if (id.startsWith(TEMP_PREFIX)) {
      stray(dir);
      continue;
    }
    const st = lstatIfExists(dir);
    if (!st) continue; // gone meanwhile
    if (!st.isDirectory() || id.startsWith(".") || !isValidContainerId(id)) {
      scan.unexpected.push({ file: dir, why: st.isDirectory() ? "not a container ID the plugin accepts" : `a ${fileKind(st.mode)}, not a directory` });
      continue;
    }
    noteMode(dir, st);
    const names = entriesOf(dir);
    if (names.length === 0) scan.emptyDirs.push(dir);
    for (const ifname of names) {
      const file = join(dir, ifname);
      if (ifname.startsWith(TEMP_PREFIX)) {
        stray(file);
        continue;
      }
      const fst = lstatIfExists(file);
      if (!fst) continue;
      if (ifname.startsWith(".") || !fst.isFile()) {
        scan.unexpected.push({ file, why: fst.isFile() ? "a hidden name the plugin never writes" : `a ${fileKind(fst.mode)}, not a regular file` });
        continue;
      }
      noteMode(file, fst);
      try {
        const record = readAttachmentAt(readTextIfExists(file, O_NOFOLLOW) ?? "", file, id, ifname);
        scan.records.set(keyOf(record), { record, file });
      } catch (e) {
        scan.damagedRecords.set(`${id}/${ifname}`, { file, why: reasonOf(e), containerID: id, ifname });
      }
    }
  }

  // ips/<address> and conflicts/<address>: parsed, or damaged (a file that is
  // there still keeps its address used: the plugin tests existence).
  type Damage = { file: string; why: string; isFile: boolean; isDirectory: boolean };
  const eachAddressFile = <T>(
    dir: string,
    parse: (text: string, file: string, address: string) => T,
    found: (address: string, value: T, file: string) => void,
    damaged: (address: string, d: Damage) => void,
  ) => {
    for (const name of entriesOf(dir)) {
      const file = join(dir, name);
      if (name.startsWith(TEMP_PREFIX)) {
        stray(file);
        continue;
      }
      const address = canonicalAddress(name);
      const st = lstatIfExists(file);
      if (!st) continue;
      if (address === undefined) {
        scan.unexpected.push({ file, why: "not the canonical form of an address: the plugin never reads it" });
        continue;
      }
      if (!st.isFile()) {
        damaged(address, { file, why: `a ${fileKind(st.mode)}, not a regular file`, isFile: false, isDirectory: st.isDirectory() });
        continue;
      }
      noteMode(file, st);
      try {
        found(address, parse(readTextIfExists(file, O_NOFOLLOW) ?? "", file, address), file);
      } catch (e) {
        damaged(address, { file, why: reasonOf(e), isFile: true, isDirectory: false });
      }
    }
  };
  eachAddressFile(l.claims, (text, file) => parseClaim(text, file), (address, claim, file) => scan.claims.set(address, { claim, file }), (address, d) => scan.damagedClaims.set(address, d));
  eachAddressFile(
    l.conflicts,
    parseConflict,
    (address, conflict, file) => scan.conflicts.set(address, { conflict, file }),
    (address, { file, why, isFile }) => scan.damagedConflicts.set(address, { file, why, isFile }),
  );

  for (const name of entriesOf(l.hints)) if (name.startsWith(TEMP_PREFIX)) stray(join(l.hints, name));
  for (const name of entriesOf(l.cache)) if (name.startsWith(TEMP_PREFIX)) stray(join(l.cache, name));
  const countFiles = (dir: string): number =>
    namesIn(dir).reduce((n, name) => {
      const p = join(dir, name);
      return n + (lstatIfExists(p)?.isDirectory() ? countFiles(p) : 1);
    }, 0);
  scan.setAside = countFiles(l.damaged);
  return scan;
}

