// The allocation store under the built binary: damaged files, and the states
// a killed ADD can leave behind (the store lock: ipam-lock-wait.test.ts).
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cniError, cniOk } from "../helpers/cni";
import { TempDirs } from "../helpers/tmp";
import { IpamSandbox, addressesOf, requireBuiltIpam } from "./ipam-harness";

const tmp = new TempDirs();
let box: IpamSandbox;

beforeAll(requireBuiltIpam);
beforeEach(async () => {
  box = await IpamSandbox.create(tmp);
});
afterEach(async () => {
  await tmp.cleanup();
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
