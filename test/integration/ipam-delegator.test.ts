// A delegated IPAM call ends with the plugin that started it (lib/cni/delegator.ts):
// a runtime that gives up on an ADD kills the main plugin, and an orphaned IPAM ADD
// must not record an allocation after the runtime's DEL has found nothing.
// The IPAM ADD is held at the store lock (another process holds it), its parent
// is killed, then the lock is released: with the delegator named, the child
// ends (SIGKILL from the kernel) and nothing is allocated; without it (the
// control), the orphan outlives its parent and allocates. Each step waits for
// what the kernel reports (/proc/locks, /proc/<pid>/stat), never for a time.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { startLockHolder } from "../fixtures/net/scaffold";
import { lockWaitStarted } from "../helpers/lock-wait";
import { IPAM_BIN, IpamSandbox, useIpamSandbox } from "./ipam-harness";

let box: IpamSandbox;
const tmp = useIpamSandbox((b) => (box = b));
const started: ChildProcess[] = [];
/** IPAM processes started under a shell (not our children): killed if a test leaves one behind. */
const ipamPids: number[] = [];

afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const pid of ipamPids.splice(0)) if (running(pid)) process.kill(pid, "SIGKILL");
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !ok(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

/** Alive and not a zombie. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Takes the store lock in another process and keeps it until that process is killed. */
async function holdStoreLock(): Promise<ChildProcess> {
  const child = await startLockHolder(join(box.dataDir, "lock"));
  started.push(child);
  return child;
}

/**
 * A stand-in for a main plugin: a shell that runs the IPAM ADD as its child
 * (naming itself as the delegator when asked) and waits for it. Returns the
 * shell and the IPAM process's pid.
 */
async function delegatingParent(containerId: string, nameDelegator: boolean): Promise<{ parent: ChildProcess; ipam: number }> {
  const dir = await tmp.make("delegator-");
  const conf = join(dir, "conf.json");
  const pidFile = join(dir, "ipam.pid");
  // A lock wait far longer than any wait below: only its parent's death can end it in time.
  writeFileSync(conf, JSON.stringify(box.conf({ ipam: { lockTimeoutMs: 600_000 } })));
  const delegator = nameDelegator ? "SPIDERPOOL_DELEGATOR_PID=$$ " : "";
  const script = `${delegator}"$IPAM" < "$CONF" > /dev/null 2>&1 & echo $! > "$PIDFILE"; wait`;
  const parent = spawn("sh", ["-c", script], {
    env: { PATH: process.env.PATH, IPAM: IPAM_BIN, CONF: conf, PIDFILE: pidFile, CNI_COMMAND: "ADD", CNI_CONTAINERID: containerId, CNI_NETNS: "/proc/self/ns/net", CNI_IFNAME: "eth0" },
    stdio: "ignore",
  });
  started.push(parent);
  await until("the IPAM process started", () => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "");
  const ipam = Number(readFileSync(pidFile, "utf8"));
  ipamPids.push(ipam);
  return { parent, ipam };
}

/** The IPAM ADD has pre-staged its claims, the last step before it waits for the lock. */
const prestaged = (containerId: string) => () => {
  const dir = join(box.dataDir, "attachments", containerId);
  return existsSync(dir) && readdirSync(dir).some((n) => n.startsWith(".tmp-"));
};

/** Starts the IPAM ADD under a delegating parent, waits until it is blocked on the held store lock, kills the parent. */
async function killParentAtTheLock(containerId: string, nameDelegator: boolean): Promise<{ holder: ChildProcess; ipam: number }> {
  await box.del("warm-up"); // creates the store, so that the lock file's directory exists
  const holder = await holdStoreLock();
  const { parent, ipam } = await delegatingParent(containerId, nameDelegator);
  await until("the IPAM ADD has pre-staged its claims", prestaged(containerId));
  await lockWaitStarted(ipam); // the kernel lists it as a flock waiter
  parent.kill("SIGKILL");
  await new Promise((r) => parent.once("exit", r));
  return { holder, ipam };
}

it("an IPAM ADD whose delegating plugin is killed dies with it and allocates nothing", async () => {
  const { holder, ipam } = await killParentAtTheLock("orphan-1", true);
  // It ends while the lock is still held: killed with its parent, not finished.
  await until("the IPAM ADD ended with its delegator", () => !running(ipam));
  holder.kill("SIGKILL"); // the lock is free again
  expect(await box.attachments()).toEqual([]);
  expect(await box.claims()).toEqual([]);
  // What it left before the lock (pre-staged claims) is swept by the runtime's DEL.
  expect((await box.del("orphan-1")).code).toBe(0);
  expect(existsSync(join(box.dataDir, "attachments", "orphan-1"))).toBe(false);
});

it("control: without the delegator named, the orphan records its allocation once the lock is free", async () => {
  const { holder, ipam } = await killParentAtTheLock("orphan-2", false);
  expect(running(ipam)).toBe(true); // still waiting for the lock after its parent's exit
  holder.kill("SIGKILL"); // the lock is free again
  await until("the orphaned IPAM ADD finished", () => !running(ipam));
  expect(await box.attachments()).toEqual(["orphan-2/eth0"]);
  expect((await box.del("orphan-2")).code).toBe(0);
  expect(await box.claims()).toEqual([]);
});

it("refuses (code 11) and does nothing when the named delegator is not its parent any more", async () => {
  const out = await box.add("late-1", { env: { SPIDERPOOL_DELEGATOR_PID: "999999999" } });
  expect(out.code).not.toBe(0);
  expect(out.json).toMatchObject({ code: 11, msg: expect.stringContaining("(pid 999999999) has exited") });
  expect(await box.attachments()).toEqual([]);
  expect(await box.claims()).toEqual([]);
});
