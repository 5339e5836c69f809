// `spiderpool-cni install`: puts this executable on a node (or removes it).
// One file, DEST/spiderpool-cni, and each plugin name as a link to it. Every
// step says what it did; running it again changes nothing that is already in
// place, and a user's pool files are never overwritten (except by the ones
// --pools-from names: that directory is then where the node's pools come from).
// Files are written under a temporary name in the target directory, then
// renamed: a runtime running a plugin at that moment keeps the old file,
// never sees half a one (and a busy executable cannot be overwritten in place
// anyway: ETXTBSY).
import {
  chmodSync, closeSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync,
  readSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, type Stats,
} from "node:fs";
import { basename, join } from "node:path";
import { INSTALL_USAGE, parseInstallArgs, type InstallOptions } from "./install-args";
import { ALIAS_NAME, PLUGIN_NAMES, SELF_NAME } from "./names";
import { EXAMPLE_NAME, exampleText } from "./seed-example";

const SELF = "/proc/self/exe";

class InstallError extends Error {}

const fail = (msg: string): never => {
  throw new InstallError(msg);
};

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** Same bytes, read in 1 MiB pieces (the executable is ~110 MB; a DaemonSet's container may have little memory). */
function sameContent(a: string, b: string): boolean {
  const fa = openSync(a, "r");
  const fb = openSync(b, "r");
  try {
    const ba = Buffer.alloc(1 << 20);
    const bb = Buffer.alloc(1 << 20);
    for (;;) {
      const na = readSync(fa, ba, 0, ba.length, null);
      const nb = readSync(fb, bb, 0, bb.length, null);
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
      if (na === 0) return true;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

let tmpCounter = 0;
const tempNameFor = (path: string) => join(join(path, ".."), `.${basename(path)}.${process.pid}.${tmpCounter++}`);

/** Makes something at a temporary name beside `path`, then renames it over `path`. */
function replaceAtomically(path: string, make: (tmp: string) => void): void {
  const tmp = tempNameFor(path);
  try {
    make(tmp);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    fail(`cannot install ${path}: ${(e as Error).message}`);
  }
}

class Installer {
  constructor(readonly o: InstallOptions, readonly say: (line: string) => void, readonly warn: (line: string) => void) {}

  /** "installed X", or "would install X" in a dry run. */
  did(past: string, present: string, what: string): void {
    this.say(this.o.dryRun ? `would ${present} ${what}` : `${past} ${what}`);
  }

  get self(): string {
    return join(this.o.dest, SELF_NAME);
  }

  /** A link of ours: a symbolic link to one of our names, or (hard) the installed file itself. */
  isOurLink(path: string, targets: readonly string[]): boolean {
    const st = lstatOrUndefined(path);
    if (!st) return false;
    if (st.isSymbolicLink()) return targets.includes(readlinkSync(path));
    const self = statOrUndefined(this.self);
    return st.isFile() && self !== undefined && st.ino === self.ino && st.dev === self.dev;
  }

  install(): void {
    const { dest, poolDir } = this.o;
    const destSt = lstatOrUndefined(dest);
    if (destSt && !statOrUndefined(dest)?.isDirectory()) fail(`${dest} exists and is not a directory`);
    const alias = join(dest, ALIAS_NAME);
    // Checked before anything is written: a refusal leaves the node as it was.
    if (this.o.alias && lstatOrUndefined(alias) && !this.isOurLink(alias, [...PLUGIN_NAMES, SELF_NAME])) {
      fail(`${alias} exists and is not our alias (upstream Spiderpool's plugin?): remove it first, or install without --alias`);
    }
    const pools = this.o.poolsFrom === undefined ? undefined : this.poolFilesFrom(this.o.poolsFrom);

    if (!destSt) {
      if (!this.o.dryRun) mkdirSync(dest, { recursive: true, mode: 0o755 });
      this.did("created", "create", dest);
    }
    const updated = this.installExecutable();
    for (const name of PLUGIN_NAMES) this.installLink(name, SELF_NAME, updated);
    if (this.o.alias) this.installLink(ALIAS_NAME, "spiderpool-ipam", updated);
    this.poolDirectory();
    if (pools) this.copyPools(pools);
    this.example();
    if (!this.o.dryRun) {
      this.say(`next: put SpiderIPPool YAML into ${poolDir} and a network configuration using "type": "ipvlan-attach" into /etc/cni/net.d (README)`);
    }
  }

  /** DEST/spiderpool-cni, a copy of this executable; true when it was (or would be) replaced. */
  installExecutable(): boolean {
    const to = this.self;
    const st = lstatOrUndefined(to);
    let verb = "installed";
    if (st?.isFile()) {
      if ((st.mode & 0o777) === 0o755 && st.size === statSync(SELF).size && sameContent(SELF, to)) {
        this.say(`unchanged ${to}`);
        return false;
      }
      verb = "updated";
    } else if (st) verb = "replaced";
    if (!this.o.dryRun) {
      replaceAtomically(to, (tmp) => {
        copyFileSync(SELF, tmp);
        chmodSync(tmp, 0o755);
      });
    }
    this.did(verb, verb === "installed" ? "install" : verb.slice(0, -1), `${to} (755)`);
    return true;
  }

  /** DEST/name as a link to `target` (a name in DEST): relative symbolic links, or hard links to the installed file. */
  installLink(name: string, target: string, fileReplaced: boolean): void {
    const path = join(this.o.dest, name);
    const hard = this.o.links === "hard";
    const what = hard ? `${path} (hard link to ${SELF_NAME})` : `${path} -> ${target}`;
    const st = lstatOrUndefined(path);
    // A hard link to a file just replaced still names the old one: link it again.
    const ours = hard ? !fileReplaced && st !== undefined && !st.isSymbolicLink() && this.isOurLink(path, []) : st?.isSymbolicLink() && readlinkSync(path) === target;
    if (ours) {
      this.say(`unchanged ${what}`);
      return;
    }
    if (!this.o.dryRun) {
      replaceAtomically(path, (tmp) => (hard ? linkSync(this.self, tmp) : symlinkSync(target, tmp)));
    }
    this.did(st ? "relinked" : "linked", st ? "relink" : "link", what);
  }

  poolDirectory(): void {
    const { poolDir } = this.o;
    const st = statOrUndefined(poolDir);
    if (st?.isDirectory()) {
      this.say(`kept ${poolDir} (exists)`);
      // The plugin refuses a poolDir others can write to; say so now, not at the first pod.
      if (st.mode & 0o022) this.warn(`warning: ${poolDir} is writable by group or others; spiderpool-ipam will refuse it (chmod go-w ${poolDir})`);
      return;
    }
    if (st) fail(`${poolDir} exists and is not a directory`);
    if (!this.o.dryRun) {
      mkdirSync(poolDir, { recursive: true, mode: 0o700 });
      chmodSync(poolDir, 0o700);
    }
    this.did("created", "create", `${poolDir} (0700)`);
  }

  example(): void {
    const path = join(this.o.poolDir, EXAMPLE_NAME);
    const st = lstatOrUndefined(path);
    if (st) {
      if (st.isFile() && readText(path) === exampleText()) this.say(`unchanged ${path}`);
      else this.say(`kept ${path} (changed by someone; not overwritten)`);
      return;
    }
    if (!this.o.dryRun) writePrivateFile(path, exampleText());
    this.did("wrote", "write", `${path} (the seed's pools, commented out: not loaded)`);
  }

  /** The pool files of `dir`, read and validated as one set before any is copied. */
  poolFilesFrom(dir: string): { name: string; text: string }[] {
    let names: string[];
    try {
      names = readdirSync(dir).filter(isPoolFileName).sort();
    } catch (e) {
      return fail(`cannot read --pools-from ${dir}: ${(e as Error).message}`);
    }
    return names.map((name) => ({ name, text: readText(join(dir, name)) }));
  }

  copyPools(files: { name: string; text: string }[]): void {
    for (const { name, text } of files) {
      const path = join(this.o.poolDir, name);
      const st = lstatOrUndefined(path);
      if (st?.isFile() && (st.mode & 0o777) === 0o600 && readText(path) === text) {
        this.say(`unchanged ${path}`);
        continue;
      }
      if (!this.o.dryRun) writePrivateFile(path, text);
      this.did(st ? "updated" : "copied", st ? "update" : "copy", `${path} (from ${this.o.poolsFrom})`);
    }
  }

  uninstall(): void {
    const { dest, poolDir, dataDir } = this.o;
    // Pods still holding addresses can no longer be released by their DEL once
    // the plugin is gone: say so before removing it.
    const left = countAttachments(dataDir);
    if (left > 0) this.warn(`warning: ${left} attachment(s) are still recorded in ${dataDir}: their pods' CNI DEL will fail without the plugin`);
    const alias = join(dest, ALIAS_NAME);
    const aliasIsOurs = this.isOurLink(alias, [...PLUGIN_NAMES, SELF_NAME]);
    for (const name of [...PLUGIN_NAMES, SELF_NAME]) {
      const path = join(dest, name);
      if (lstatOrUndefined(path)) this.remove(path);
      else this.say(`absent ${path}`);
    }
    if (aliasIsOurs) this.remove(alias);
    else if (lstatOrUndefined(alias)) this.say(`kept ${alias} (not our alias)`);

    const example = join(poolDir, EXAMPLE_NAME);
    if (this.o.purge) {
      if (statOrUndefined(poolDir)?.isDirectory()) {
        for (const name of readdirSync(poolDir).sort()) this.did("removed", "remove", join(poolDir, name));
        this.remove(poolDir);
      }
      if (statOrUndefined(dataDir)?.isDirectory()) this.remove(dataDir, "the allocation store");
      return;
    }
    if (lstatOrUndefined(example)?.isFile()) {
      if (readText(example) === exampleText()) this.remove(example);
      else this.say(`kept ${example} (changed by someone)`);
    }
    if (statOrUndefined(poolDir)?.isDirectory()) this.say(`kept ${poolDir} and its pool files (--purge removes them)`);
    if (statOrUndefined(dataDir)?.isDirectory()) this.say(`kept ${dataDir}, the allocation store (--purge removes it)`);
  }

  remove(path: string, why?: string): void {
    if (!this.o.dryRun) rmSync(path, { recursive: true, force: true });
    this.did("removed", "remove", `${path}${why ? ` (${why})` : ""}`);
  }
}

/** *.yaml, *.yml, *.json, not hidden: what spiderpool-ipam loads from its poolDir. */
const isPoolFileName = (name: string) => !name.startsWith(".") && /\.(ya?ml|json)$/.test(name);

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    return fail(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** A root-only (0600) file written atomically. */
function writePrivateFile(path: string, text: string): void {
  replaceAtomically(path, (tmp) => {
    writeFileSync(tmp, text, { mode: 0o600, flag: "wx" });
    chmodSync(tmp, 0o600);
  });
}

function countAttachments(dataDir: string): number {
  const dir = join(dataDir, "attachments");
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const container of readdirSync(dir)) {
    try {
      n += readdirSync(join(dir, container)).length;
    } catch {
      /* not a directory */
    }
  }
  return n;
}

/** Runs `install` with its arguments; returns the exit code (or never returns with --stay). */
export async function runInstall(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(INSTALL_USAGE);
    return 0;
  }
  const parsed = parseInstallArgs(argv);
  if (!parsed.ok) {
    process.stderr.write(`spiderpool-cni install: error: ${parsed.message}\n`);
    if (parsed.exitCode === 2) process.stderr.write(INSTALL_USAGE);
    return parsed.exitCode;
  }
  const o = parsed.options;
  const installer = new Installer(o, (line) => process.stdout.write(`${line}\n`), (line) => process.stderr.write(`${line}\n`));
  try {
    if (o.uninstall) installer.uninstall();
    else {
      if (o.poolsFrom !== undefined) await validatePoolsIn(o.poolsFrom);
      installer.install();
    }
  } catch (e) {
    if (!(e instanceof InstallError)) throw e;
    process.stderr.write(`spiderpool-cni install: error: ${e.message}\n`);
    return 1;
  }
  if (o.stay) await untilTerminated();
  return 0;
}

/** The pools in `dir` must validate together before any is copied: a bad ConfigMap changes nothing on the node. */
async function validatePoolsIn(dir: string): Promise<void> {
  const { readPoolFile, validatePools } = await import("../../lib/ipam/pool-source");
  let names: string[];
  try {
    names = readdirSync(dir).filter(isPoolFileName).sort();
  } catch (e) {
    return fail(`cannot read --pools-from ${dir}: ${(e as Error).message}`);
  }
  try {
    await validatePools(names.flatMap((name) => readPoolFile(join(dir, name))));
  } catch (e) {
    fail(`the pools in ${dir} are not valid, nothing was installed: ${(e as Error).message}`);
  }
}

/** A DaemonSet's container stays up once it has installed; SIGTERM (the pod's end) exits 0. */
function untilTerminated(): Promise<never> {
  return new Promise(() => {
    setInterval(() => {}, 1 << 30); // something to wait for: the process would end without it
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => process.exit(0));
    // Said once the handlers are in place: a SIGTERM from now on is an orderly end.
    process.stdout.write("installed; waiting for SIGTERM\n");
  });
}
