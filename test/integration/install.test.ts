// scripts/install.sh (which runs the built executable's `spiderpool-cni
// install`) against a temporary root (dest, pool dir and store under it): one
// file and links to it, symbolic or hard, that a second run changes nothing,
// that a user's files are never overwritten, and that --uninstall removes
// exactly its own.
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeRun, runProcess, type ProcessOutput } from "../helpers/cni";
import { TempDirs } from "../helpers/tmp";
import { REPO_ROOT, SEED_POOLS_FILE, poolYaml, requireBuiltIpam } from "./ipam-harness";

const SCRIPT = join(REPO_ROOT, "scripts", "install.sh");
const EXE = join(REPO_ROOT, "dist", "bin", "spiderpool-cni");
const tmp = new TempDirs();
let root: string;
let dest: string;
let poolDir: string;
let dataDir: string;

beforeEach(async () => {
  requireBuiltIpam();
  root = await tmp.make("spiderpool-install-");
  dest = join(root, "opt", "cni", "bin");
  poolDir = join(root, "etc", "cni", "spiderpool", "ippools");
  dataDir = join(root, "var", "lib", "cni", "spiderpool");
});
afterEach(() => tmp.cleanup());

function install(...args: string[]): Promise<ProcessOutput> {
  return runProcess("bash", [SCRIPT, "--dest", dest, "--pool-dir", poolDir, "--data-dir", dataDir, ...args]);
}

async function ok(...args: string[]): Promise<string[]> {
  const out = await install(...args);
  expect(out.code, describeRun(out)).toBe(0);
  return out.stdout.trimEnd().split("\n");
}

const mode = (path: string) => statSync(path).mode & 0o777;
const example = () => join(poolDir, "seed-pools.yaml.example");
const self = () => join(dest, "spiderpool-cni");
/** Disk used under a directory, in MB (du counts a hard-linked file once). */
const diskMB = (dir: string) => Number(execFileSync("du", ["-sk", dir], { encoding: "utf8" }).split("\t")[0]) / 1024;

/** Everything under the temporary root, small files with their contents. */
function snapshot(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      const rel = path.slice(root.length);
      if (st.isDirectory()) {
        out[rel] = `dir ${(st.mode & 0o777).toString(8)}`;
        walk(path);
      } else if (st.isSymbolicLink()) out[rel] = `-> ${readlinkSync(path)}`;
      else out[rel] = `${(st.mode & 0o777).toString(8)} ${st.ino} ${st.size} ${st.size < 65536 ? readFileSync(path, "utf8") : ""}`;
    }
  };
  walk(root);
  return out;
}

/** The installed names run as what they are named. */
async function expectPluginsAnswer(names: string[]): Promise<void> {
  for (const name of names) {
    const v = await runProcess(join(dest, name), ["--version"]);
    const as = name === "spiderpool" ? "spiderpool-ipam" : name;
    expect(v.stdout, describeRun(v)).toMatch(new RegExp(`^${as} \\d+\\.\\d+\\.\\d+`));
  }
}

describe("install", () => {
  it("installs one executable and symbolic links to it; each name runs as its plugin; one file's disk use", async () => {
    const lines = await ok("--alias");
    expect(lines).toEqual([
      `created ${dest}`,
      `installed ${self()} (755)`,
      `linked ${dest}/spiderpool-ipam -> spiderpool-cni`,
      `linked ${dest}/ipvlan-attach -> spiderpool-cni`,
      `linked ${dest}/spiderpool -> spiderpool-ipam`,
      `created ${poolDir} (0700)`,
      `wrote ${example()} (the seed's pools, commented out: not loaded)`,
      expect.stringMatching(/^next: /),
    ]);
    expect(readFileSync(self()).equals(readFileSync(EXE))).toBe(true);
    expect(mode(self())).toBe(0o755);
    expect(readlinkSync(join(dest, "ipvlan-attach"))).toBe("spiderpool-cni");
    await expectPluginsAnswer(["spiderpool-ipam", "spiderpool", "ipvlan-attach", "spiderpool-cni"]);
    expect(diskMB(dest)).toBeLessThan(115);
  });

  it("--links hard: every name is the same inode; each runs as its plugin; one file's disk use", async () => {
    const lines = await ok("--alias", "--links", "hard");
    expect(lines.slice(1, 5)).toEqual([
      `installed ${self()} (755)`,
      `linked ${dest}/spiderpool-ipam (hard link to spiderpool-cni)`,
      `linked ${dest}/ipvlan-attach (hard link to spiderpool-cni)`,
      `linked ${dest}/spiderpool (hard link to spiderpool-cni)`,
    ]);
    const ino = statSync(self()).ino;
    for (const name of ["spiderpool-ipam", "ipvlan-attach", "spiderpool"]) {
      expect(lstatSync(join(dest, name)).isSymbolicLink()).toBe(false);
      expect(statSync(join(dest, name)).ino).toBe(ino);
    }
    await expectPluginsAnswer(["spiderpool-ipam", "spiderpool", "ipvlan-attach"]);
    expect(diskMB(dest)).toBeLessThan(115);
  });

  it("creates the pool directory 0700 with the seed's pools as a commented example that is not loaded", async () => {
    await ok();
    expect(mode(poolDir)).toBe(0o700);
    const text = readFileSync(example(), "utf8");
    expect(text.split("\n").filter((l) => l !== "").every((l) => l.startsWith("#"))).toBe(true);
    // The recipe the header gives yields the seed's pools exactly.
    expect(execFileSync("sed", ["-n", "s/^# //p", example()], { encoding: "utf8" })).toBe(readFileSync(SEED_POOLS_FILE, "utf8"));
    const pools = await runProcess(join(dest, "spiderpool-ipam"), ["pools", "--pool-dir", poolDir, "--data-dir", dataDir, "--all-nodes", "-o", "json"]);
    expect(pools.code, describeRun(pools)).toBe(0);
    expect(JSON.parse(pools.stdout).pools).toEqual([]);
    const yaml = join(root, "from-example.yaml");
    writeFileSync(yaml, execFileSync("sed", ["-n", "s/^# //p", example()], { encoding: "utf8" }));
    const valid = await runProcess(join(dest, "spiderpool-ipam"), ["validate", yaml]);
    expect(valid.stdout, describeRun(valid)).toContain("4 pool(s) valid");
  });

  it.each([["symbolic"], ["hard"]])("is idempotent (%s links): a second run says unchanged and rewrites nothing", async (links) => {
    await ok("--alias", "--links", links);
    const before = snapshot();
    const link = (name: string, target: string) => (links === "hard" ? `${dest}/${name} (hard link to spiderpool-cni)` : `${dest}/${name} -> ${target}`);
    expect(await ok("--alias", "--links", links)).toEqual([
      `unchanged ${self()}`,
      `unchanged ${link("spiderpool-ipam", "spiderpool-cni")}`,
      `unchanged ${link("ipvlan-attach", "spiderpool-cni")}`,
      `unchanged ${link("spiderpool", "spiderpool-ipam")}`,
      `kept ${poolDir} (exists)`,
      `unchanged ${example()}`,
      expect.stringMatching(/^next: /),
    ]);
    expect(snapshot()).toEqual(before);
  });

  it("replaces a changed executable by rename (new inode, no temporary file left); hard links follow it", async () => {
    await ok("--links", "hard");
    const inode = statSync(self()).ino;
    writeFileSync(self(), "#!/bin/sh\necho someone else's file\n"); // the hard links see it too: same inode
    chmodSync(self(), 0o700);
    const lines = await ok("--links", "hard");
    expect(lines).toContain(`updated ${self()} (755)`);
    expect(lines).toContain(`relinked ${dest}/ipvlan-attach (hard link to spiderpool-cni)`);
    const now = statSync(self()).ino;
    expect(now).not.toBe(inode);
    expect(statSync(join(dest, "ipvlan-attach")).ino).toBe(now);
    expect(statSync(join(dest, "spiderpool-ipam")).ino).toBe(now);
    expect(mode(self())).toBe(0o755);
    expect(readdirSync(dest).sort()).toEqual(["ipvlan-attach", "spiderpool-cni", "spiderpool-ipam"]);
    await expectPluginsAnswer(["spiderpool-ipam", "ipvlan-attach"]);
  });

  it("upgrades the old layout (a full copy per plugin) to one file and links, and switches link kinds", async () => {
    mkdirSync(dest, { recursive: true });
    for (const name of ["spiderpool-ipam", "ipvlan-attach"]) copyFileSync(EXE, join(dest, name));
    expect((await ok()).slice(1, 3)).toEqual([`relinked ${dest}/spiderpool-ipam -> spiderpool-cni`, `relinked ${dest}/ipvlan-attach -> spiderpool-cni`]);
    expect(diskMB(dest)).toBeLessThan(115);
    expect((await ok("--links", "hard"))[1]).toBe(`relinked ${dest}/spiderpool-ipam (hard link to spiderpool-cni)`);
    expect((await ok())[1]).toBe(`relinked ${dest}/spiderpool-ipam -> spiderpool-cni`);
    await expectPluginsAnswer(["spiderpool-ipam", "ipvlan-attach"]);
  });

  it("never overwrites a user's pool files, an edited example or an existing pool directory's mode", async () => {
    mkdirSync(poolDir, { recursive: true, mode: 0o750 });
    chmodSync(poolDir, 0o750);
    writeFileSync(join(poolDir, "seed.yaml"), "user pools\n");
    writeFileSync(example(), "my notes\n");
    const lines = await ok();
    expect(lines).toContain(`kept ${poolDir} (exists)`);
    expect(lines).toContain(`kept ${example()} (changed by someone; not overwritten)`);
    expect(readFileSync(join(poolDir, "seed.yaml"), "utf8")).toBe("user pools\n");
    expect(readFileSync(example(), "utf8")).toBe("my notes\n");
    expect(mode(poolDir)).toBe(0o750);
  });

  it("warns when the existing pool directory is one the plugin would refuse", async () => {
    mkdirSync(poolDir, { recursive: true });
    chmodSync(poolDir, 0o777);
    const out = await install();
    expect(out.code, describeRun(out)).toBe(0);
    expect(out.stderr).toContain(`warning: ${poolDir} is writable by group or others`);
  });

  it("--dry-run says what it would do and changes nothing", async () => {
    const lines = await ok("--alias", "--dry-run");
    expect(lines).toEqual([
      `would create ${dest}`,
      `would install ${self()} (755)`,
      `would link ${dest}/spiderpool-ipam -> spiderpool-cni`,
      `would link ${dest}/ipvlan-attach -> spiderpool-cni`,
      `would link ${dest}/spiderpool -> spiderpool-ipam`,
      `would create ${poolDir} (0700)`,
      `would write ${example()} (the seed's pools, commented out: not loaded)`,
    ]);
    expect(Object.keys(snapshot())).toEqual([]);
  });

  it("refuses, before writing anything, to replace a spiderpool that is not our alias", async () => {
    mkdirSync(dest, { recursive: true });
    writeFileSync(join(dest, "spiderpool"), "upstream's plugin\n");
    const out = await install("--alias");
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`${dest}/spiderpool exists and is not our alias`);
    expect(readdirSync(dest)).toEqual(["spiderpool"]);
    expect(existsSync(poolDir)).toBe(false);
  });

  it("fails clearly when the executable was not built, and on bad options", async () => {
    const missing = await runProcess("bash", [SCRIPT, "--src", join(root, "empty"), "--dest", dest, "--pool-dir", poolDir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('spiderpool-cni is missing: run "npm run build" first');
    expect(existsSync(dest)).toBe(false);
    expect((await install("--purge")).stderr).toContain("--purge goes with --uninstall");
    expect((await install("--bogus")).code).toBe(2);
    expect((await install("--dest")).stderr).toContain("--dest needs a value");
    expect((await install("--links", "soft")).stderr).toContain("--links is symbolic or hard");
    expect(existsSync(dest)).toBe(false);
  });

  it("--pools-from copies valid pool files (0600) into the pool directory; a bad set installs nothing", async () => {
    const from = join(root, "configmap");
    mkdirSync(from);
    writeFileSync(join(from, "seed.yaml"), readFileSync(SEED_POOLS_FILE, "utf8"), { mode: 0o644 }); // a ConfigMap's files are 0644
    writeFileSync(join(from, "README"), "not a pool file\n");
    let lines = await ok("--pools-from", from);
    expect(lines).toContain(`copied ${join(poolDir, "seed.yaml")} (from ${from})`);
    expect(mode(join(poolDir, "seed.yaml"))).toBe(0o600);
    expect(existsSync(join(poolDir, "README"))).toBe(false);
    const pools = await runProcess(join(dest, "spiderpool-ipam"), ["pools", "--pool-dir", poolDir, "--data-dir", dataDir, "--all-nodes", "-o", "json"]);
    expect(JSON.parse(pools.stdout).pools.map((p: { name: string }) => p.name).sort()).toEqual(["master-v4", "master-v6", "worker1-v4", "worker1-v6"]);
    lines = await ok("--pools-from", from);
    expect(lines).toContain(`unchanged ${join(poolDir, "seed.yaml")}`);

    // Two pools claiming the same name: refused, and the node keeps what it had.
    const dup = poolYaml("master-v4", { subnet: "10.9.0.0/24", ips: ["10.9.0.10-10.9.0.20"] });
    writeFileSync(join(from, "more.yaml"), dup);
    const before = snapshot();
    const bad = await install("--pools-from", from);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(new RegExp(`the pools in ${from} are not valid, nothing was installed: .*master-v4`));
    expect(snapshot()).toEqual(before);
  });

  it("--stay keeps running once installed and exits 0 on SIGTERM", async () => {
    const child = spawn(EXE, ["install", "--dest", dest, "--pool-dir", poolDir, "--stay"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d;
        if (out.includes("waiting for SIGTERM")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`exited ${code} before it was ready: ${out}`)));
    });
    expect(existsSync(join(dest, "ipvlan-attach"))).toBe(true);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});

describe("uninstall", () => {
  it("removes exactly what install put there; pool files and the store stay", async () => {
    await ok("--alias");
    writeFileSync(join(poolDir, "seed.yaml"), "user pools\n");
    mkdirSync(join(dataDir, "ips"), { recursive: true });
    writeFileSync(join(dest, "macvlan"), "another plugin\n");
    const lines = await ok("--uninstall");
    expect(lines).toEqual([
      `removed ${dest}/spiderpool-ipam`,
      `removed ${dest}/ipvlan-attach`,
      `removed ${self()}`,
      `removed ${dest}/spiderpool`,
      `removed ${example()}`,
      `kept ${poolDir} and its pool files (--purge removes them)`,
      `kept ${dataDir}, the allocation store (--purge removes it)`,
    ]);
    expect(readdirSync(dest)).toEqual(["macvlan"]);
    expect(readdirSync(poolDir)).toEqual(["seed.yaml"]);
    expect(existsSync(join(dataDir, "ips"))).toBe(true);
    // Again: nothing left to remove, nothing else touched.
    expect(await ok("--uninstall")).toEqual([
      `absent ${dest}/spiderpool-ipam`,
      `absent ${dest}/ipvlan-attach`,
      `absent ${self()}`,
      `kept ${poolDir} and its pool files (--purge removes them)`,
      `kept ${dataDir}, the allocation store (--purge removes it)`,
    ]);
  });

  it("removes a hard-linked alias, keeps a spiderpool that is not ours and an example someone edited", async () => {
    await ok("--alias", "--links", "hard");
    expect(await ok("--uninstall")).toContain(`removed ${dest}/spiderpool`);
    await ok();
    writeFileSync(join(dest, "spiderpool"), "upstream's plugin\n");
    linkSync(join(dest, "spiderpool"), join(root, "keep-inode")); // a hard link, but not to our file
    writeFileSync(example(), "my notes\n");
    const lines = await ok("--uninstall");
    expect(lines).toContain(`kept ${dest}/spiderpool (not our alias)`);
    expect(lines).toContain(`kept ${example()} (changed by someone)`);
    expect(readdirSync(dest)).toEqual(["spiderpool"]);
  });

  it("warns when attachments are still recorded", async () => {
    await ok();
    mkdirSync(join(dataDir, "attachments", "c1"), { recursive: true });
    writeFileSync(join(dataDir, "attachments", "c1", "eth0"), "{}");
    const out = await install("--uninstall");
    expect(out.code, describeRun(out)).toBe(0);
    expect(out.stderr).toContain(`warning: 1 attachment(s) are still recorded in ${dataDir}`);
  });

  it("--purge also removes the pool directory and the store, naming each pool file", async () => {
    await ok("--alias");
    writeFileSync(join(poolDir, "seed.yaml"), "user pools\n");
    mkdirSync(join(dataDir, "ips"), { recursive: true });
    const lines = await ok("--uninstall", "--purge");
    expect(lines).toEqual([
      `removed ${dest}/spiderpool-ipam`,
      `removed ${dest}/ipvlan-attach`,
      `removed ${self()}`,
      `removed ${dest}/spiderpool`,
      `removed ${example()}`,
      `removed ${join(poolDir, "seed.yaml")}`,
      `removed ${poolDir}`,
      `removed ${dataDir} (the allocation store)`,
    ]);
    expect(existsSync(poolDir)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
    expect(readdirSync(dest)).toEqual([]);
  });

  it("--dry-run removes nothing", async () => {
    await ok("--alias");
    const before = snapshot();
    const lines = await ok("--uninstall", "--purge", "--dry-run");
    expect(lines[0]).toBe(`would remove ${dest}/spiderpool-ipam`);
    expect(lines).toContain(`would remove ${poolDir}`);
    expect(snapshot()).toEqual(before);
  });
});
