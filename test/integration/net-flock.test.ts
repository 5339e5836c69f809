// flock-based locks between processes: a second taker gets CNI code 11 after
// its timeout; a SIGKILLed holder releases the lock at once (the kernel drops it).
import { spawn, type ChildProcess } from "node:child_process";
import { statSync } from "node:fs";
import { afterAll, afterEach, expect, it } from "vitest";
import { BUN, probe, probeArgs, Scratch, startLockHolder } from "../fixtures/net/scaffold";

const scratch = new Scratch();
const holders: ChildProcess[] = [];

/** Starts a process that takes the lock and keeps it until killed. */
async function holdLock(path: string): Promise<ChildProcess> {
  const child = await startLockHolder(path);
  holders.push(child);
  return child;
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.on("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

afterEach(async () => {
  for (const child of holders.splice(0)) if (child.exitCode === null && child.signalCode === null) await kill(child);
});
afterAll(() => scratch.cleanup());

it("creates the lock file 0600 and takes a free lock at once", () => {
  const path = scratch.file("free.lock");
  const out = probe("lock-try", path, "5000");
  expect(out.ok).toBe(true);
  expect(out.elapsedMs).toBeLessThan(1000); // no waiting (generous: also holds under emulation)
  expect(statSync(path).mode & 0o777).toBe(0o600);
});

it("a second taker fails with code 11 naming the lock file once its timeout passes", async () => {
  const path = scratch.file("held.lock");
  await holdLock(path);
  const out = probe("lock-try", path, "300");
  expect(out.ok).toBe(false);
  expect(out.error).toMatchObject({ name: "CniError", code: 11 });
  expect(out.error.message).toContain(path);
  expect(out.elapsedMs).toBeGreaterThanOrEqual(300);
  expect(out.elapsedMs).toBeLessThan(1000);
});

it("a SIGKILLed holder releases the lock immediately", async () => {
  const path = scratch.file("killed.lock");
  const holder = await holdLock(path);
  await kill(holder);
  const out = probe("lock-try", path, "300");
  expect(out.ok).toBe(true);
  expect(out.elapsedMs).toBeLessThan(50);
});

it("a waiter gets the lock as soon as the holder dies during its wait", async () => {
  const path = scratch.file("wait.lock");
  const holder = await holdLock(path);
  const waiter = spawn(BUN, probeArgs("lock-try", path, "5000"), { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  waiter.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  const done = new Promise<void>((resolve) => waiter.on("exit", () => resolve()));
  // Kill the holder only once the waiter is trying, however slowly it started.
  await new Promise<void>((resolve) => waiter.stderr!.on("data", (chunk: Buffer) => chunk.toString().includes("trying") && resolve()));
  await new Promise((resolve) => setTimeout(resolve, 400));
  await kill(holder);
  await done;
  const out = JSON.parse(stdout);
  expect(out.ok).toBe(true);
  expect(out.elapsedMs).toBeGreaterThan(200); // it did wait...
  expect(out.elapsedMs).toBeLessThan(3000); // ...but not for its whole 5 s timeout
});
