// Permissions: what the plugin creates is private (files 0600, directories
// 0700); directories and files others could write to, or owned by another
// user, are refused with a clear error; no path is followed into someone
// else's hands (symbolic links, FIFOs).
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync } from "node:fs";
import { chmod, chown, lstat, mkdir, readFile, readdir, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cniError, cniOk } from "../helpers/cni";
import { TempDirs } from "../helpers/tmp";
import { IPAM_BIN, IpamSandbox, requireBuiltIpam } from "./ipam-harness";
import { missing, unless } from "../helpers/prerequisite";

const tmp = new TempDirs();
let box: IpamSandbox;
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

beforeAll(requireBuiltIpam);
beforeEach(async () => {
  box = await IpamSandbox.create(tmp);
});
afterEach(() => tmp.cleanup());

/** Every path under dir with its mode, directories and files apart. */
async function modes(dir: string): Promise<{ dirs: Map<string, number>; files: Map<string, number> }> {
  const out = { dirs: new Map<string, number>(), files: new Map<string, number>() };
  const walk = async (d: string) => {
    for (const n of await readdir(d)) {
      const p = join(d, n);
      const st = await lstat(p);
      if (st.isDirectory()) {
        out.dirs.set(p, st.mode & 0o777);
        await walk(p);
      } else out.files.set(p, st.mode & 0o777);
    }
  };
  await walk(dir);
  return out;
}

describe("what the plugin creates", () => {
  it("store and log files are 0600 in 0700 directories, whatever the umask", async () => {
    const dataDir = join(box.root, "fresh", "data");
    const logFile = join(box.root, "logs", "sub", "ipam.log");
    await mkdir(join(box.root, "fresh"), { mode: 0o700 });
    const ipam = { dataDir, log_file_path: logFile, log_level: "debug" };
    // A permissive umask for the plugin: sh sets it, then execs the plugin.
    const conf = JSON.stringify(box.conf({ ipam }));
    for (const [cmd, id] of [["ADD", "a"], ["ADD", "b"], ["DEL", "a"]] as const) {
      const r = spawnSync("sh", ["-c", 'umask 000; exec "$BIN"'], {
        input: conf,
        env: { PATH: "/usr/bin:/bin", BIN: IPAM_BIN, CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_IFNAME: "eth0", CNI_NETNS: "/var/run/netns/x" },
        encoding: "utf8",
      });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    }
    const store = await modes(dataDir);
    expect(store.files.size).toBeGreaterThan(4); // lock, record, claims, hints, cache
    for (const [p, m] of store.files) expect(m.toString(8), p).toBe("600");
    for (const [p, m] of store.dirs) expect(m.toString(8), p).toBe("700");
    expect(((await stat(dataDir)).mode & 0o777).toString(8)).toBe("700");
    expect(((await stat(logFile)).mode & 0o777).toString(8)).toBe("600");
    expect(((await stat(join(box.root, "logs", "sub"))).mode & 0o777).toString(8)).toBe("700");
    expect(((await stat(join(box.root, "logs"))).mode & 0o777).toString(8)).toBe("700");
  });

  it("the log is never written through a symbolic link or a second hard link", async () => {
    const target = join(box.root, "precious");
    await writeFile(target, "keep me\n", { mode: 0o600 });
    const viaSymlink = join(box.root, "sym.log");
    await symlink(target, viaSymlink);
    cniOk(await box.add("a", { ipam: { log_file_path: viaSymlink } }));
    const viaHardlink = join(box.root, "hard.log");
    spawnSync("ln", [target, viaHardlink]);
    cniOk(await box.add("b", { ipam: { log_file_path: viaHardlink } }));
    expect(await readFile(target, "utf8")).toBe("keep me\n");
  });
});

describe("directories and files the plugin refuses", () => {
  it("a group-writable dataDir (code 7, named, nothing written into it)", async () => {
    await chmod(box.dataDir, 0o770);
    const err = cniError(await box.add("a"));
    expect(err.code).toBe(7);
    expect(err.msg).toContain(box.dataDir);
    expect(err.msg).toMatch(/writable by group or others \(mode 770\)/);
    expect(await readdir(box.dataDir)).toEqual([]); // not even the pool cache
  });

  it("a store subdirectory others can write to", async () => {
    cniOk(await box.add("a"));
    await chmod(join(box.dataDir, "ips"), 0o777);
    const err = cniError(await box.add("b"));
    expect(err.code).toBe(7);
    expect(err.msg).toContain(join(box.dataDir, "ips"));
  });

  it("a dataDir that is a symbolic link", async () => {
    const link = join(box.root, "link");
    await symlink(box.dataDir, link);
    const err = cniError(await box.add("a", { ipam: { dataDir: link } }));
    expect(err.code).toBe(7);
    expect(err.msg).toContain("symbolic link");
  });

  it("a group-writable poolDir, and a pool file others can write to", async () => {
    await chmod(box.poolDir, 0o775);
    expect(cniError(await box.add("a")).msg).toMatch(new RegExp(`poolDir ${box.poolDir} is writable by group or others`));
    await chmod(box.poolDir, 0o700);
    await chmod(join(box.poolDir, "seed-pools.yaml"), 0o666);
    const err = cniError(await box.add("a"));
    expect(err.code).toBe(7);
    expect(err.msg).toContain("seed-pools.yaml is writable by group or others");
  });

  it("a FIFO in poolDir is refused at once (it would block the plugin)", async () => {
    expect(spawnSync("mkfifo", ["-m", "600", join(box.poolDir, "x.yaml")]).status).toBe(0);
    const err = cniError(await box.add("a", { timeoutMs: 10_000 }));
    expect(err.code).toBe(7);
    expect(err.msg).toContain("x.yaml is not a regular file");
    expect(cniError(await box.status()).code).toBe(7);
  });

  it.skipIf(missing(unless(isRoot, "root (to chown files to another user)")))("a dataDir, a poolDir or a pool file owned by another user", async () => {
    await chown(box.dataDir, NOBODY, NOBODY);
    expect(cniError(await box.add("a")).msg).toContain(`dataDir ${box.dataDir} is not safe to use: ${box.dataDir} on its path is owned by uid ${NOBODY}`);
    await chown(box.dataDir, 0, 0);
    await chown(box.poolDir, NOBODY, NOBODY);
    expect(cniError(await box.add("a")).msg).toContain(`poolDir ${box.poolDir} is not safe to use: ${box.poolDir} on its path is owned by uid ${NOBODY}`);
    await chown(box.poolDir, 0, 0);
    await chown(join(box.poolDir, "seed-pools.yaml"), NOBODY, NOBODY);
    expect(cniError(await box.add("a")).msg).toContain(`seed-pools.yaml is owned by uid ${NOBODY}`);
  });

  it("an interface name the store could not list is refused (code 4) and nothing is written", async () => {
    const before = existsSync(join(box.dataDir, "attachments")) ? await readdir(join(box.dataDir, "attachments")) : [];
    for (const ifname of [".tmp-x", ".hidden", "..."]) {
      const err = cniError(await box.add("a", { ifname }));
      expect(err.code).toBe(4);
      expect(err.msg).toContain("cannot be used as a store file name");
    }
    expect(await readdir(join(box.dataDir, "attachments"))).toEqual(before);
  });

  it("a lock wait longer than ten minutes cannot be configured (a wait is always bounded)", async () => {
    const err = cniError(await box.add("a", { ipam: { lockTimeoutMs: 600_001 } }));
    expect(err.code).toBe(7);
    expect(err.msg).toContain("ipam.lockTimeoutMs must be a positive integer of at most 600000");
    expect(lstatSync(box.dataDir).isDirectory()).toBe(true);
  });
});
