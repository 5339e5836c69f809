// scripts/install.sh against a temporary root (dest, pool dir and store under
// it): what it installs, that a second run changes nothing, that a user's
// files are never overwritten, and that --uninstall removes exactly its own.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeRun, runProcess, type ProcessOutput } from "../helpers/cni";
import { TempDirs } from "../helpers/tmp";
import { IPAM_BIN, REPO_ROOT, SEED_POOLS_FILE, requireBuiltIpam } from "./ipam-harness";

const SCRIPT = join(REPO_ROOT, "scripts", "install.sh");
const tmp = new TempDirs();
let root: string;
let dest: string;
let poolDir: string;
let dataDir: string;
let src: string;

beforeEach(async () => {
  root = await tmp.make("spiderpool-install-");
  dest = join(root, "opt", "cni", "bin");
  poolDir = join(root, "etc", "cni", "spiderpool", "ippools");
  dataDir = join(root, "var", "lib", "cni", "spiderpool");
  // Small stand-ins for the executables: most tests are about the script, not 100 MB copies.
  src = join(root, "build");
  mkdirSync(src);
  for (const name of ["spiderpool-ipam", "ipvlan-attach"]) writeFileSync(join(src, name), `#!/bin/sh\necho ${name} v1\n`, { mode: 0o644 });
});
afterEach(() => tmp.cleanup());

function install(...args: string[]): Promise<ProcessOutput> {
  return runProcess("bash", [SCRIPT, "--src", src, "--dest", dest, "--pool-dir", poolDir, "--data-dir", dataDir, ...args]);
}

async function ok(...args: string[]): Promise<string[]> {
  const out = await install(...args);
  expect(out.code, describeRun(out)).toBe(0);
  return out.stdout.trimEnd().split("\n");
}

const mode = (path: string) => statSync(path).mode & 0o777;
const example = () => join(poolDir, "seed-pools.yaml.example");
/** Everything under the temporary root except the stand-in sources, with file contents. */
function snapshot(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (path === src) continue;
      const st = lstatSync(path);
      const rel = path.slice(root.length);
      if (st.isDirectory()) {
        out[rel] = `dir ${(st.mode & 0o777).toString(8)}`;
        walk(path);
      } else if (st.isSymbolicLink()) out[rel] = `-> ${readlinkSync(path)}`;
      else out[rel] = `${(st.mode & 0o777).toString(8)} ${st.ino} ${readFileSync(path, "utf8")}`;
    }
  };
  walk(root);
  return out;
}

describe("install", () => {
  it("installs the built executables and the alias; the installed plugin runs under both names", async () => {
    requireBuiltIpam();
    const out = await runProcess("bash", [SCRIPT, "--dest", dest, "--pool-dir", poolDir, "--alias"]);
    expect(out.code, describeRun(out)).toBe(0);
    expect(out.stdout).toContain(`installed ${dest}/spiderpool-ipam (755)`);
    expect(out.stdout).toContain(`installed ${dest}/ipvlan-attach (755)`);
    expect(out.stdout).toContain(`linked ${dest}/spiderpool -> spiderpool-ipam`);
    expect(readFileSync(join(dest, "spiderpool-ipam")).equals(readFileSync(IPAM_BIN))).toBe(true);
    expect(mode(join(dest, "ipvlan-attach"))).toBe(0o755);
    for (const name of ["spiderpool-ipam", "spiderpool"]) {
      const v = await runProcess(join(dest, name), ["--version"]);
      expect(v.stdout, describeRun(v)).toMatch(/^spiderpool-ipam \d+\.\d+\.\d+ \(CNI spec/);
    }
  });

  it("creates the pool directory 0700 with the seed's pools as a commented example that is not loaded", async () => {
    const lines = await ok("--alias");
    expect(lines).toEqual([
      `created ${dest}`,
      `installed ${dest}/spiderpool-ipam (755)`,
      `installed ${dest}/ipvlan-attach (755)`,
      `linked ${dest}/spiderpool -> spiderpool-ipam`,
      `created ${poolDir} (0700)`,
      `wrote ${example()} (the seed's pools, commented out: not loaded)`,
      expect.stringMatching(/^next: /),
    ]);
    expect(mode(poolDir)).toBe(0o700);
    expect(readlinkSync(join(dest, "spiderpool"))).toBe("spiderpool-ipam");
    const text = readFileSync(example(), "utf8");
    expect(text.split("\n").filter((l) => l !== "").every((l) => l.startsWith("#"))).toBe(true);
    // The recipe the header gives yields the seed's pools exactly.
    expect(execFileSync("sed", ["-n", "s/^# //p", example()], { encoding: "utf8" })).toBe(readFileSync(SEED_POOLS_FILE, "utf8"));
  });

  it("the example is not loaded by the plugin, and its uncommented text validates", async () => {
    requireBuiltIpam();
    await ok();
    const pools = await runProcess(IPAM_BIN, ["pools", "--pool-dir", poolDir, "--data-dir", dataDir, "--all-nodes", "-o", "json"]);
    expect(pools.code, describeRun(pools)).toBe(0);
    expect(JSON.parse(pools.stdout).pools).toEqual([]);
    const yaml = join(root, "from-example.yaml");
    writeFileSync(yaml, execFileSync("sed", ["-n", "s/^# //p", example()], { encoding: "utf8" }));
    const valid = await runProcess(IPAM_BIN, ["validate", yaml]);
    expect(valid.stdout, describeRun(valid)).toContain("4 pool(s) valid");
  });

  it("is idempotent: a second run says unchanged and rewrites nothing", async () => {
    await ok("--alias");
    const before = snapshot();
    expect(await ok("--alias")).toEqual([
      `unchanged ${dest}/spiderpool-ipam`,
      `unchanged ${dest}/ipvlan-attach`,
      `unchanged ${dest}/spiderpool -> spiderpool-ipam`,
      `kept ${poolDir} (exists)`,
      `unchanged ${example()}`,
      expect.stringMatching(/^next: /),
    ]);
    expect(snapshot()).toEqual(before);
  });

  it("replaces a changed executable by rename (new inode, no temporary file left)", async () => {
    await ok();
    const inode = statSync(join(dest, "ipvlan-attach")).ino;
    writeFileSync(join(src, "ipvlan-attach"), "#!/bin/sh\necho ipvlan-attach v2\n");
    chmodSync(join(dest, "spiderpool-ipam"), 0o700);
    const lines = await ok();
    expect(lines).toContain(`updated ${dest}/ipvlan-attach (755)`);
    expect(lines).toContain(`updated ${dest}/spiderpool-ipam (755)`);
    expect(readFileSync(join(dest, "ipvlan-attach"), "utf8")).toContain("v2");
    expect(statSync(join(dest, "ipvlan-attach")).ino).not.toBe(inode);
    expect(mode(join(dest, "spiderpool-ipam"))).toBe(0o755);
    expect(readdirSync(dest).sort()).toEqual(["ipvlan-attach", "spiderpool-ipam"]);
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
      `would install ${dest}/spiderpool-ipam (755)`,
      `would install ${dest}/ipvlan-attach (755)`,
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

  it("fails clearly when the executables were not built, and on bad options", async () => {
    const missing = await runProcess("bash", [SCRIPT, "--src", join(root, "empty"), "--dest", dest, "--pool-dir", poolDir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('spiderpool-ipam is missing: run "npm run build" first');
    expect(existsSync(dest)).toBe(false);
    expect((await install("--purge")).stderr).toContain("--purge goes with --uninstall");
    expect((await install("--bogus")).code).toBe(2);
    expect((await install("--dest")).stderr).toContain("--dest needs a value");
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
      `kept ${poolDir} and its pool files (--purge removes them)`,
      `kept ${dataDir}, the allocation store (--purge removes it)`,
    ]);
  });

  it("keeps a spiderpool that is not our alias and an example someone edited", async () => {
    await ok();
    writeFileSync(join(dest, "spiderpool"), "upstream's plugin\n");
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
