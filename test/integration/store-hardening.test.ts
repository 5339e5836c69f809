// The store against what other processes and other users do to it, on the
// built binary: maintenance (DEL, GC, `store check`/`repair`) while ADDs wait
// for the lock with claims pre-staged, FIFOs where store files belong, and
// symbolic links on the way to or inside dataDir.
import { execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, lchownSync, mkdirSync, readdirSync, chmodSync, rmSync, statSync, symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startLockHolder } from "../fixtures/net/scaffold";
import { cniError, cniOk, describeRun, type CniOutput } from "../helpers/cni";
import { stopProcess } from "../helpers/process";
import { foreignDetour, NOBODY } from "../helpers/tmp";
import { IpamSandbox, addressesOf, useIpamSandbox, writerOf } from "./ipam-harness";

let box: IpamSandbox;
const tmp = useIpamSandbox((b) => (box = b));

const holders: ChildProcess[] = [];
const stopped: number[] = [];
afterEach(() => {
  for (const pid of stopped.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  for (const h of holders.splice(0)) h.kill("SIGKILL");
});

/** Holds the store lock until released; the store must exist (an ADD made it). */
async function holdLock(): Promise<() => Promise<void>> {
  const holder = await startLockHolder(join(box.dataDir, "lock"));
  holders.push(holder);
  return async () => {
    const exited = new Promise((resolve) => holder.once("exit", resolve));
    holder.kill("SIGKILL");
    await exited;
  };
}

const tempsIn = (containerId: string): string[] => {
  const dir = join(box.dataDir, "attachments", containerId);
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(".tmp-")) : [];
};

const notKilled = (out: CniOutput) => expect(out.signal, describeRun(out)).toBeNull();

describe("temp files of live and dead writers", () => {
  it("ADDs waiting for the lock keep their pre-staged claims through DEL of the same container, GC, store check and repair", async () => {
    cniOk(await box.add("warm-up"));
    const release = await holdLock();
    const ids = ["wait-1", "wait-2", "wait-3"];
    const adds = ids.map((id) => box.add(id, { ipam: { lockTimeoutMs: 60_000 }, timeoutMs: 60_000 }));
    const writers = await Promise.all(ids.map(async (id) => writerOf(await box.prestagedTemp(id))));
    // Stopped, the ADDs stay alive and waiting while the maintenance runs first.
    for (const pid of writers) {
      stopped.push(pid);
      await stopProcess(pid);
    }
    const staged = ids.map(tempsIn);
    await release();

    const check = await box.cli(["store", "check", "--data-dir", box.dataDir]);
    expect(check.stdout, describeRun(check)).not.toContain("stray-temp-file");
    for (const id of ids) cniOk(await box.del(id));
    cniOk(await box.gc([{ containerID: "warm-up", ifname: "eth0" }]));
    const repair = await box.cli(["store", "repair", ...box.dirArgs()]);
    expect(repair.code, describeRun(repair)).toBe(0);
    expect(repair.stdout).not.toContain("remove stray temp file");
    expect(ids.map(tempsIn)).toEqual(staged);

    for (const pid of writers) process.kill(pid, "SIGCONT");
    const results = await Promise.all(adds);
    stopped.length = 0;
    const addresses = results.flatMap((out) => addressesOf(cniOk(out)));
    expect(new Set(addresses).size).toBe(addresses.length);
    const after = await box.cli(["store", "check", "--data-dir", box.dataDir]);
    expect(after.code, describeRun(after)).toBe(0);
  });

  it("a pre-staged claim that vanished while its ADD waited is staged afresh: the ADD succeeds", async () => {
    cniOk(await box.add("warm-up"));
    const release = await holdLock();
    const add = box.add("pod-a", { ipam: { lockTimeoutMs: 60_000 }, timeoutMs: 60_000 });
    const temp = await box.prestagedTemp("pod-a");
    unlinkSync(join(box.dataDir, "attachments", "pod-a", temp));
    await release();
    const result = cniOk(await add);
    expect(addressesOf(result)).toHaveLength(2);
    expect(tempsIn("pod-a")).toEqual([]);
  });

  it("the temp file of a writer that was killed is reported by store check and swept by DEL and GC", async () => {
    cniOk(await box.add("warm-up"));
    const release = await holdLock();
    const adds = ["dead-1", "dead-2"].map((id) => box.add(id, { ipam: { lockTimeoutMs: 60_000 }, timeoutMs: 60_000 }));
    for (const id of ["dead-1", "dead-2"]) process.kill(writerOf(await box.prestagedTemp(id)), "SIGKILL");
    for (const out of await Promise.all(adds)) expect(out.signal).toBe("SIGKILL");
    await release();

    const check = await box.cli(["store", "check", "--data-dir", box.dataDir]);
    expect(check.stdout).toMatch(/stray-temp-file {2}attachments\/dead-1\/\.tmp-/);
    cniOk(await box.del("dead-1"));
    expect(existsSync(join(box.dataDir, "attachments", "dead-1"))).toBe(false);
    cniOk(await box.gc([{ containerID: "warm-up", ifname: "eth0" }]));
    expect(existsSync(join(box.dataDir, "attachments", "dead-2"))).toBe(false);
    const after = await box.cli(["store", "check", "--data-dir", box.dataDir]);
    expect(after.code, describeRun(after)).toBe(0);
  });
});

describe("a FIFO where a store file belongs", () => {
  const fifoAt = (path: string) => {
    rmSync(path, { force: true });
    execFileSync("mkfifo", ["-m", "600", path]);
  };
  // A call that hangs is killed at this point; the assertion is that none is.
  const prompt = { timeoutMs: 20_000 };

  it("in place of a hint: ignored and rewritten, ADD and DEL succeed", async () => {
    cniOk(await box.add("warm-up"));
    const hint = join(box.dataDir, "hints", "master-v4");
    fifoAt(hint);
    const add = await box.add("pod-a", prompt);
    notKilled(add);
    cniOk(add);
    expect(statSync(hint).isFile()).toBe(true);
    fifoAt(hint);
    const del = await box.del("pod-a", prompt);
    notKilled(del);
    cniOk(del);
  });

  it("in place of a claim or a record: code 5 naming the file", async () => {
    const warm = cniOk(await box.add("warm-up"));
    const claim = join(box.dataDir, "ips", addressesOf(warm)[0]!);
    fifoAt(claim);
    const del = await box.del("warm-up", prompt);
    notKilled(del);
    expect(cniError(del).code).toBe(5);
    expect(cniError(del).msg).toContain(claim);

    cniOk(await box.add("pod-b"));
    const record = join(box.dataDir, "attachments", "pod-b", "eth0");
    fifoAt(record);
    for (const out of [await box.add("pod-b", prompt), await box.del("pod-b", prompt)]) {
      notKilled(out);
      expect(cniError(out).code).toBe(5);
      expect(cniError(out).msg).toContain(record);
    }
    const check = await box.cli(["store", "check", "--data-dir", box.dataDir], {});
    expect(check.signal).toBeNull();
    expect(check.stdout).toContain("damaged-claim");
    expect(check.stdout).toContain("unexpected-entry  attachments/pod-b/eth0  a FIFO, not a regular file");
  });

  it("in place of the pool cache: the pools are validated afresh and the cache rewritten", async () => {
    cniOk(await box.add("warm-up"));
    const cacheDir = join(box.dataDir, "cache");
    const [cache] = readdirSync(cacheDir).filter((n) => !n.startsWith("."));
    fifoAt(join(cacheDir, cache!));
    const add = await box.add("pod-a", prompt);
    notKilled(add);
    cniOk(add);
    expect(statSync(join(cacheDir, cache!)).isFile()).toBe(true);
  });
});

describe("symbolic links", () => {
  it("a dataDir below a directory another user owns is refused with code 7 naming it; nothing is created", async () => {
    const { real, foreign, via } = await foreignDetour(tmp);
    const out = await box.add("pod-a", { ipam: { dataDir: join(via, "data") } });
    expect(cniError(out).code).toBe(7);
    expect(cniError(out).msg).toContain(`${foreign} on its path is owned by uid ${NOBODY}`);
    expect(readdirSync(real)).toEqual([]);
  });

  it("a symbolic link another user owns in a sticky world-writable directory is refused; root's own link is followed", async () => {
    const root = await tmp.make("spiderpool-trust-");
    const real = join(root, "real");
    mkdirSync(real, { mode: 0o700 });
    const sticky = join(root, "sticky");
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const theirs = join(sticky, "theirs");
    symlinkSync(real, theirs);
    lchownSync(theirs, NOBODY, NOBODY);
    const out = await box.add("pod-a", { ipam: { dataDir: join(theirs, "data") } });
    expect(cniError(out).code).toBe(7);
    expect(cniError(out).msg).toContain(`${theirs} on its path is owned by uid ${NOBODY}`);
    expect(readdirSync(real)).toEqual([]);

    const ours = join(sticky, "ours");
    symlinkSync(real, ours);
    cniOk(await box.add("pod-a", { ipam: { dataDir: join(ours, "data") } }));
    expect(readdirSync(join(real, "data", "attachments"))).toEqual(["pod-a"]);
  });

  it("a group-writable directory on the way is refused", async () => {
    const root = await tmp.make("spiderpool-trust-");
    const open = join(root, "open");
    mkdirSync(open);
    chmodSync(open, 0o775);
    const out = await box.add("pod-a", { ipam: { dataDir: join(open, "data") } });
    expect(cniError(out).code).toBe(7);
    expect(cniError(out).msg).toContain(`${open} on its path is writable by group or others`);
  });

  it("a container directory replaced by a symbolic link is refused (code 5): nothing is written outside dataDir", async () => {
    cniOk(await box.add("warm-up"));
    const outside = await tmp.make("spiderpool-outside-");
    const link = join(box.dataDir, "attachments", "pod-a");
    symlinkSync(outside, link);
    for (const out of [await box.add("pod-a"), await box.del("pod-a")]) {
      expect(cniError(out).code).toBe(5);
      expect(cniError(out).msg).toContain(`${link} is a symbolic link, not a directory`);
    }
    expect(readdirSync(outside)).toEqual([]);
  });

  it("a dangling symbolic link in place of a claim keeps its address in use: ADD takes the next one", async () => {
    const first = addressesOf(cniOk(await box.add("pod-a")));
    cniOk(await box.del("pod-a"));
    symlinkSync("/nonexistent/claim", join(box.dataDir, "ips", first[0]!));
    const next = addressesOf(cniOk(await box.add("pod-b")));
    expect(next[0]).not.toBe(first[0]);
    expect(next[1]).toBe(first[1]); // the other family is untouched
  });
});
