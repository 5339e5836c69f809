// Disk full: dataDir on a tiny tmpfs (64 KiB) that is then filled. ADD fails
// cleanly (code 5, the cause named), the old state stays intact, DEL still
// frees addresses, and once space is back everything works again.
import { spawnSync } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cniError, cniOk } from "../helpers/cni";
import { TempDirs, makePrivateDir } from "../helpers/tmp";
import { IpamSandbox, addressesOf, requireBuiltIpam } from "./ipam-harness";
import { diffSnapshots, snapshot, verifyStore } from "../../scripts/reliability/lib/common.mjs";
import { missing, unless } from "../helpers/prerequisite";

const tmp = new TempDirs();
let box: IpamSandbox;
let mountPoint: string | undefined;

/** Can this process mount a tmpfs (root, not forbidden by the sandbox)? */
function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = spawnSync("sh", ["-c", 'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs "$d" && umount "$d"; r=$?; rmdir "$d"; exit $r']);
  return probe.status === 0;
}
const MOUNTABLE = canMount();

beforeAll(requireBuiltIpam);
beforeEach(async () => {
  box = await IpamSandbox.create(tmp);
});
afterEach(async () => {
  if (mountPoint) {
    spawnSync("umount", ["-l", mountPoint]); // always, even when the test failed
    mountPoint = undefined;
  }
  await tmp.cleanup();
});

/** Writes until the filesystem is full; returns the filler's path. */
function fill(dir: string): string {
  const file = join(dir, "filler");
  const fd = openSync(file, "w", 0o600);
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
  } finally {
    closeSync(fd);
  }
  return file;
}

describe.skipIf(missing(unless(MOUNTABLE, "mounting a tmpfs (root, outside a sandbox that forbids mount)")))("dataDir on a full filesystem", () => {
  it("ADD fails with code 5 and leaves the store as it was; DEL still works; with space back, ADD works", async () => {
    mountPoint = await makePrivateDir(join(box.root, "tiny"));
    const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", mountPoint]);
    expect(mount.status, mount.stderr.toString()).toBe(0);
    const dataDir = join(mountPoint, "data");
    await mkdir(dataDir, { mode: 0o700 });
    const ipam = { dataDir };
    const live = new Map<string, string[]>();
    for (const id of ["a", "b"]) live.set(`${id}/eth0`, addressesOf(cniOk(await box.add(id, { ipam }))));

    const filler = fill(mountPoint);
    const before = snapshot(dataDir);
    for (const id of ["c", "d"]) {
      const err = cniError(await box.add(id, { ipam }));
      expect(err.code).toBe(5);
      expect(err.msg).toMatch(/no space left on the device holding dataDir/);
    }
    expect(diffSnapshots(before, snapshot(dataDir))).toEqual([]);
    expect(verifyStore(dataDir, { live, strict: true, only: new Set(live.keys()) })).toEqual([]);
    // A repeated ADD of a pod that has its addresses needs no space: same answer.
    expect(addressesOf(cniOk(await box.add("a", { ipam })))).toEqual(live.get("a/eth0"));

    // DEL frees space and must not need any (its pool hint cannot be written: it is dropped).
    cniOk(await box.del("b", { ipam }));
    live.delete("b/eth0");
    expect(verifyStore(dataDir, { live, strict: true, only: new Set(live.keys()) })).toEqual([]);

    await rm(filler);
    const c = addressesOf(cniOk(await box.add("c", { ipam })));
    live.set("c/eth0", c);
    expect(c).toEqual(["172.31.28.17", "2406:da1e:c4:ed01:c57d::1"]); // b's, free again
    expect(verifyStore(dataDir, { live, strict: true, only: new Set(live.keys()) })).toEqual([]);
    const check = await box.cli(["store", "check", "--data-dir", dataDir]);
    expect(check.code, check.stdout).toBe(0);
  });
});
