// The allocation store under the built binary: the kernel lock (held, and its
// holder killed), damaged files, and the states a killed ADD can leave behind.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cniError, cniOk, describeRun } from "../helpers/cni";
import { TempDirs } from "../helpers/tmp";
import { IpamSandbox, addressesOf, requireBuiltIpam } from "./ipam-harness";

const FLOCK = "/usr/bin/flock";

const tmp = new TempDirs();
let box: IpamSandbox;
let holder: ChildProcess | undefined;

beforeAll(requireBuiltIpam);
beforeEach(async () => {
  box = await IpamSandbox.create(tmp);
});
afterEach(async () => {
  if (holder?.pid !== undefined) {
    // The holder runs in its own process group (flock and its sleep): end that group.
    try {
      process.kill(-holder.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  holder = undefined;
  await tmp.cleanup();
});

/**
 * Holds dataDir/lock with flock(1) until killed; resolves once the lock is
 * taken. --close keeps the lock in the flock process alone (not in its sleep),
 * so killing that one process is what "the holder died" means.
 */
async function holdLock(): Promise<ChildProcess> {
  cniOk(await box.add("warm-up")); // creates the store and its lock file
  const child = spawn(FLOCK, ["--exclusive", "--close", join(box.dataDir, "lock"), "sh", "-c", "echo locked; exec sleep 60"], {
    stdio: ["ignore", "pipe", "ignore"],
    detached: true,
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`flock exited early with ${code}`)));
  });
  return child;
}

describe.skipIf(!existsSync(FLOCK))("the store lock", () => {
  it("an ADD that cannot get the lock within lockTimeoutMs fails with code 11 and writes nothing", async () => {
    holder = await holdLock();
    const before = await box.claims();
    const started = Date.now();
    const err = cniError(await box.add("pod-a", { ipam: { lockTimeoutMs: 300 } }));
    expect(err.code).toBe(11);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await box.claims()).toEqual(before);
  });

  it("a killed lock holder does not block the next ADD", async () => {
    holder = await holdLock();
    const pending = box.add("pod-a", { ipam: { lockTimeoutMs: 10_000 } });
    await new Promise((r) => setTimeout(r, 200));
    holder.kill("SIGKILL"); // the flock process alone; its sleep lives on without the lock
    const out = await pending;
    expect(out.code, describeRun(out)).toBe(0);
    expect(addressesOf(cniOk(out))).toEqual(["172.31.28.17", "2406:da1e:c4:ed01:c57d::1"]);
  });
});

describe("what a killed ADD can leave behind", () => {
  // Killed after the record, before the claims: no claim and no hint was written.
  it("a record whose claims were never written: the retried ADD starts over and gets addresses", async () => {
    cniOk(await box.add("pod-a"));
    await rm(join(box.dataDir, "ips", "172.31.28.16"));
    await rm(join(box.dataDir, "ips", "2406:da1e:c4:ed01:c57d::"));
    await rm(join(box.dataDir, "hints"), { recursive: true });
    expect(addressesOf(cniOk(await box.add("pod-a")))).toEqual(["172.31.28.16", "2406:da1e:c4:ed01:c57d::"]);
    expect(await box.claims()).toEqual(["172.31.28.16", "2406:da1e:c4:ed01:c57d::"]);
    expect(await box.attachments()).toEqual(["pod-a/eth0"]);
  });

  it("a record with only one of its claims: DEL cleans up both record and claim", async () => {
    cniOk(await box.add("pod-a"));
    await rm(join(box.dataDir, "ips", "2406:da1e:c4:ed01:c57d::"));
    cniOk(await box.del("pod-a"));
    expect(await box.claims()).toEqual([]);
    expect(await box.attachments()).toEqual([]);
  });

  it("CHECK reports a record whose claim is gone (code 110)", async () => {
    const result = cniOk(await box.add("pod-a"));
    await rm(join(box.dataDir, "ips", "172.31.28.16"));
    const err = cniError(await box.check("pod-a", result));
    expect(err.code).toBe(110);
    expect(err.msg).toContain("172.31.28.16");
  });
});

describe("damaged store files", () => {
  it("a damaged attachment record is code 5 naming the file, and is not reset", async () => {
    cniOk(await box.add("pod-a"));
    const file = join(box.dataDir, "attachments", "pod-a", "eth0");
    await writeFile(file, "{torn");
    const err = cniError(await box.add("pod-a"));
    expect(err.code).toBe(5);
    expect(err.msg).toContain(file);
    expect(await readFile(file, "utf8")).toBe("{torn");
    expect(await box.claims()).toHaveLength(2);
    // Other pods are unaffected.
    expect(addressesOf(cniOk(await box.add("pod-b")))).toEqual(["172.31.28.17", "2406:da1e:c4:ed01:c57d::1"]);
  });

  it("the advice in that error names only commands the CLI has", async () => {
    cniOk(await box.add("pod-a"));
    await writeFile(join(box.dataDir, "attachments", "pod-a", "eth0"), "");
    const err = cniError(await box.add("pod-a"));
    const advised = [...err.msg.matchAll(/spiderpool-ipam ([a-z-]+)/g)].map((m) => m[1]!);
    for (const command of advised) {
      const out = await box.cli([command, "--data-dir", box.dataDir, "--pool-dir", box.poolDir]);
      expect(out.stderr, `advised command "spiderpool-ipam ${command}"`).not.toContain("unknown command");
    }
  });
});
