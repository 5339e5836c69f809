// flock-based locks between processes: a second taker gets CNI code 11 after
// its timeout, whatever the state of its signals; a waiter gets the lock once
// the holder releases it or dies (the kernel drops a dead holder's lock).
import { type ChildProcess } from "node:child_process";
import { statSync } from "node:fs";
import { afterAll, afterEach, expect, it } from "vitest";
import { BUN, probe, probeArgs, Scratch, startLockHolder } from "../fixtures/net/scaffold";
import { endsWithin, lockWaitStarted, sigalrmBlockedAfterExec, startProcess, type Started } from "../helpers/lock-wait";

const scratch = new Scratch();
const children: ChildProcess[] = [];

/** Starts a process that takes the lock and keeps it until killed. */
async function holdLock(path: string): Promise<ChildProcess> {
  const child = await startLockHolder(path);
  children.push(child);
  return child;
}

/** A lock-try probe with this timeout, started in the background. */
function startWaiter(path: string, timeoutMs: number, opts: { blockSigalrm?: boolean } = {}): Started {
  const started = startProcess([BUN, ...probeArgs("lock-try", path, String(timeoutMs))], opts);
  children.push(started.child);
  return started;
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.on("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

afterEach(async () => {
  for (const child of children.splice(0)) await kill(child);
});
afterAll(() => scratch.cleanup());

it("creates the lock file 0600 and takes a free lock without waiting", () => {
  const path = scratch.file("free.lock");
  const out = probe("lock-try", path, "0"); // no time to wait at all
  expect(out.ok).toBe(true);
  expect(statSync(path).mode & 0o777).toBe(0o600);
});

it("a second taker fails with code 11 naming the lock file once its timeout passes", async () => {
  const path = scratch.file("held.lock");
  await holdLock(path);
  const out = probe("lock-try", path, "300");
  expect(out.ok).toBe(false);
  expect(out.error).toMatchObject({ name: "LockTimeoutError", cniCode: 11 });
  expect(out.error.message).toContain(path);
  expect(out.elapsedMs).toBeGreaterThanOrEqual(300); // it did not give up early
});

it("a taker that blocked SIGALRM still gives up with code 11 (the mask survives exec)", async () => {
  expect(await sigalrmBlockedAfterExec()).toBe(true);
  const path = scratch.file("sigmask.lock");
  await holdLock(path);
  const waiter = startWaiter(path, 300, { blockSigalrm: true });
  const end = await endsWithin(waiter, 20_000);
  const out = JSON.parse(end.stdout);
  expect(out.ok).toBe(false);
  expect(out.error).toMatchObject({ name: "LockTimeoutError", cniCode: 11 });
});

it("a SIGKILLed holder leaves the lock free", async () => {
  const path = scratch.file("killed.lock");
  await kill(await holdLock(path));
  expect(probe("lock-try", path, "0").ok).toBe(true);
});

/** A holder that releases the lock when its stdin is closed (and lives on); resolves once it holds the lock. */
async function holdLockUntilStdinEnds(path: string): Promise<ChildProcess> {
  const holder = startProcess([BUN, ...probeArgs("lock-hold-until-stdin", path)], { keepStdinOpen: true });
  children.push(holder.child);
  await new Promise<void>((resolve, reject) => {
    holder.child.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("locked") && resolve());
    holder.child.on("exit", (code) => reject(new Error(`lock holder exited early (${code})`)));
  });
  return holder.child;
}

it("a waiter gets the lock when the holder releases it during the wait", async () => {
  const path = scratch.file("released.lock");
  const holder = await holdLockUntilStdinEnds(path);
  // Far longer than the test may take: the waiter can only succeed through the handover.
  const waiter = startWaiter(path, 600_000);
  await lockWaitStarted(waiter.child.pid!);
  holder.stdin!.end();
  expect(JSON.parse((await waiter.done).stdout).ok).toBe(true);
  expect(holder.exitCode).toBe(null); // freed by the release, not by the holder's exit
});

it("a waiter gets the lock when the holder is killed during the wait", async () => {
  const path = scratch.file("wait.lock");
  const holder = await holdLock(path);
  const waiter = startWaiter(path, 600_000);
  await lockWaitStarted(waiter.child.pid!);
  await kill(holder);
  expect(JSON.parse((await waiter.done).stdout).ok).toBe(true);
});
