// Store entries whose names are not valid UTF-8: directory listings decode
// them with U+FFFD, so a path built from the listed name is another file (or
// none). GC, DEL and `store repair` must leave them alone, and `store check`
// must list them, never act on (or silently skip to) the wrong file.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cniError, cniOk, describeRun } from "../helpers/cni";
import { IpamSandbox, useIpamSandbox } from "./ipam-harness";

let box: IpamSandbox;
useIpamSandbox((b) => (box = b));

/** dir/<the raw bytes>: a path node:fs uses byte for byte. */
const rawPath = (dir: string, ...bytes: number[]): Buffer => Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(bytes)]);

/** A copy of pod-a's record under a container directory \xff, one as interface \xfe, and a claim named \xfd. */
function plantLossyEntries(): Buffer[] {
  const attachments = join(box.dataDir, "attachments");
  const record = join(attachments, "pod-a", "eth0");
  const foreignDir = rawPath(attachments, 0xff);
  mkdirSync(foreignDir, { mode: 0o700 });
  const foreignRecord = Buffer.concat([foreignDir, Buffer.from("/eth0")]);
  copyFileSync(record, foreignRecord);
  const foreignIfname = rawPath(join(attachments, "pod-a"), 0xfe);
  copyFileSync(record, foreignIfname);
  const foreignClaim = rawPath(join(box.dataDir, "ips"), 0xfd);
  writeFileSync(foreignClaim, "", { mode: 0o600 });
  return [foreignDir, foreignRecord, foreignIfname, foreignClaim];
}

describe("store entries whose names are not valid UTF-8", () => {
  it("GC and DEL leave them alone, store check lists each, store repair leaves them to be fixed by hand", async () => {
    cniOk(await box.add("pod-a"));
    const held = await box.claims();
    const planted = plantLossyEntries();

    // GC keeping pod-a: it used to read attachments/pod-a/<U+FFFD>, a file
    // that does not exist, and fail with code 5 calling it damaged.
    const gc = await box.gc([{ containerID: "pod-a", ifname: "eth0" }]);
    expect(gc.code, describeRun(gc)).toBe(0);
    expect(await box.claims()).toEqual([...held, "\uFFFD"].sort());

    const check = await box.cli(["store", "check", "--data-dir", box.dataDir]);
    expect(check.code, describeRun(check)).toBe(1);
    const listed = check.stdout.split("\n").filter((l) => l.includes("not valid UTF-8"));
    expect(listed.map((l) => l.split(/\s+/)[1])).toEqual(["attachments/\uFFFD", "attachments/pod-a/\uFFFD", "ips/\uFFFD"]);
    for (const l of listed) expect(l).toMatch(/^unexpected-entry /);

    const repair = await box.cli(["store", "repair", ...box.dirArgs()]);
    expect(repair.code, describeRun(repair)).toBe(0);
    expect(repair.stdout.split("\n").filter((l) => /^left: .*not valid UTF-8.*fix by hand$/.test(l))).toHaveLength(3);

    cniOk(await box.del("pod-a"));
    expect(await box.claims()).toEqual(["\uFFFD"]);
    for (const p of planted) expect(existsSync(p), p.toString("latin1")).toBe(true);
  });

  it("an ADD next to them still works and gets its own record", async () => {
    cniOk(await box.add("pod-a"));
    plantLossyEntries();
    const add = await box.add("pod-b");
    expect(add.code, describeRun(add)).toBe(0);
    expect(await box.attachments()).toContain("pod-b/eth0");
    // The planted names are not the plugin's: a DEL of a container of that
    // name cannot be asked for (code 4 before the store is read).
    expect(cniError(await box.del("\uFFFD")).code).toBe(4);
  });
});
