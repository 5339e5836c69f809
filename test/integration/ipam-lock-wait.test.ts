// The store lock as a runtime meets it, on the built executable: an ADD that
// waits gives up with code 11 after lockTimeoutMs even when its runtime
// blocked SIGALRM, and gets the lock as soon as a killed holder is gone.
import { type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cniOk, type CniErrorJson } from "../helpers/cni";
import { endsWithin, lockWaitStarted, sigalrmBlockedAfterExec, startProcess, type Started } from "../helpers/lock-wait";
import { startLockHolder } from "../fixtures/net/scaffold";
import { addressesOf, IPAM_BIN, IpamSandbox, useIpamSandbox } from "./ipam-harness";

let box: IpamSandbox;
useIpamSandbox((b) => (box = b));
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise((resolve) => {
        child.on("exit", resolve);
        child.kill("SIGKILL");
      });
    }
  }
});

/** Holds the store lock (dataDir/lock) in a probe process until killed. */
async function holdStoreLock(): Promise<ChildProcess> {
  cniOk(await box.add("warm-up")); // creates the store and its lock file
  const holder = await startLockHolder(join(box.dataDir, "lock"));
  children.push(holder);
  return holder;
}

/** An ADD started in the background, as a runtime starts it. */
function startAdd(containerId: string, lockTimeoutMs: number, blockSigalrm = false): Started {
  const env = { PATH: process.env.PATH, CNI_COMMAND: "ADD", CNI_CONTAINERID: containerId, CNI_NETNS: "/var/run/netns/cni-test", CNI_IFNAME: "eth0" };
  const add = startProcess([IPAM_BIN], { env, stdin: JSON.stringify(box.conf({ ipam: { lockTimeoutMs } })), blockSigalrm });
  children.push(add.child);
  return add;
}

describe("an ADD waiting for the store lock", () => {
  it("gives up with code 11 after lockTimeoutMs though its runtime blocked SIGALRM, and writes nothing", async () => {
    expect(await sigalrmBlockedAfterExec()).toBe(true);
    await holdStoreLock();
    const before = await box.claims();
    const add = startAdd("pod-a", 300, true);
    const end = await endsWithin(add, 20_000);
    expect(end.code, end.stderr).toBe(1);
    expect((JSON.parse(end.stdout) as CniErrorJson).code).toBe(11);
    expect(await box.claims()).toEqual(before);
    expect(await box.attachments()).toEqual(["warm-up/eth0"]);
  });

  it("gets the lock from a holder killed during its wait", async () => {
    const holder = await holdStoreLock();
    // Far longer than the test may take: the ADD can only succeed through the handover.
    const add = startAdd("pod-a", 600_000);
    await lockWaitStarted(add.child.pid!);
    holder.kill("SIGKILL");
    const end = await add.done;
    expect(end.code, end.stderr).toBe(0);
    expect(addressesOf(JSON.parse(end.stdout))).toEqual(["172.31.28.17", "2406:da1e:c4:ed01:c57d::1"]);
  });

  it("the CLI gives up after --lock-timeout-ms and says another invocation holds the lock", async () => {
    await holdStoreLock();
    const repair = await box.cli(["store", "repair", ...box.dirArgs(), "--lock-timeout-ms", "200"]);
    expect(repair.code).toBe(1);
    expect(repair.stderr).toContain(`timed out after 200 ms waiting for the lock ${join(box.dataDir, "lock")}`);
    expect(repair.stderr).toContain("(another plugin invocation holds it; retry later)");
  });
});
