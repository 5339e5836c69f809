// Hostile log settings against the built executables: a full log with
// log_file_max_count 2^53-1 once made rotation count down from it after the
// answer was printed, so the process never exited (the runtime timed out),
// even for a configuration refused with code 7. Each call here must exit by
// itself (a generous kill timeout that must not fire) with the right answer.
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CniOutput, cniError, cniOk, describeRun, execCni } from "../helpers/cni";
import { IpamSandbox, REPO_ROOT, addressesOf, useIpamSandbox } from "./ipam-harness";

const IPVLAN_BIN = join(REPO_ROOT, "dist", "bin", "ipvlan-attach");
const KILL_AFTER_MS = 60_000;
const HUGE = Number.MAX_SAFE_INTEGER; // 2^53 - 1

let box: IpamSandbox;
useIpamSandbox((b) => (box = b));

/** A log file already at its 1 MB limit, so the next line rotates it. */
async function fullLog(): Promise<string> {
  const file = join(box.root, "logs", "plugin.log");
  await mkdir(join(box.root, "logs"), { mode: 0o700 });
  await writeFile(file, "x".repeat(1024 * 1024), { mode: 0o600 });
  return file;
}

/** The process ended by itself: not killed at the timeout. */
function exitedByItself(out: CniOutput): void {
  expect(out.signal, describeRun(out)).toBeNull();
}

async function lastLogLine(file: string): Promise<Record<string, unknown>> {
  const lines = (await readFile(file, "utf8")).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

describe("spiderpool-ipam with hostile log settings", () => {
  it("a full log with log_file_max_count 2^53-1: code 7 naming the key, the log rotated, the process exits", async () => {
    const log = await fullLog();
    const out = await box.add("c1", { ipam: { log_file_path: log, log_file_max_size: 1, log_file_max_count: HUGE }, timeoutMs: KILL_AFTER_MS });
    exitedByItself(out);
    expect(cniError(out)).toMatchObject({ code: 7, msg: `ipam.log_file_max_count must be a positive integer of at most 100, got ${HUGE}` });
    expect((await readdir(join(box.root, "logs"))).sort()).toEqual(["plugin.log", "plugin.log.1"]);
    expect(await lastLogLine(log)).toMatchObject({ command: "ADD", error: { code: 7 } });
  });

  it("a configuration refused for another reason, with a full log and hostile settings, answers code 7 and exits", async () => {
    const log = await fullLog();
    const hostile = { log_file_path: log, log_file_max_size: 1e300, log_file_max_count: 1e300, poolDir: "relative/pools" };
    await writeFile(`${log}.1`, "older\n", { mode: 0o600 });
    const out = await box.add("c1", { ipam: { ...hostile, log_file_max_size: 1 }, timeoutMs: KILL_AFTER_MS });
    exitedByItself(out);
    expect(cniError(out)).toMatchObject({ code: 7, msg: 'ipam.poolDir must be an absolute path, got "relative/pools"' });
    expect((await readdir(join(box.root, "logs"))).sort()).toEqual(["plugin.log", "plugin.log.1", "plugin.log.2"]);
    const del = await box.del("c1", { ipam: hostile, timeoutMs: KILL_AFTER_MS });
    exitedByItself(del);
    expect(cniError(del).code).toBe(7);
  });

  it("rotation at the largest count keeps exactly 100 copies", async () => {
    const log = await fullLog();
    for (let n = 1; n <= 120; n++) await writeFile(`${log}.${n}`, `copy ${n}\n`, { mode: 0o600 });
    const out = await box.add("c1", { ipam: { log_file_path: log, log_file_max_size: 1, log_file_max_count: 100 }, timeoutMs: KILL_AFTER_MS });
    exitedByItself(out);
    expect(addressesOf(cniOk(out))).toHaveLength(2);
    const copies = (await readdir(join(box.root, "logs"))).filter((n) => n !== "plugin.log");
    expect(copies.sort()).toEqual(Array.from({ length: 100 }, (_, i) => `plugin.log.${i + 1}`).sort());
    expect(await readFile(`${log}.100`, "utf8")).toBe("copy 99\n");
  });
});

describe("ipvlan-attach with hostile log settings", () => {
  const run = (conf: Record<string, unknown>) =>
    execCni(IPVLAN_BIN, { command: "ADD", containerId: "c1", timeoutMs: KILL_AFTER_MS }, { cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan-attach", ...conf });

  it("a full log with log_file_max_count 2^53-1 is code 7 and the process exits", async () => {
    const log = await fullLog();
    const out = await run({ master: "lo", log_file_path: log, log_file_max_size: 1, log_file_max_count: HUGE });
    exitedByItself(out);
    expect(cniError(out)).toMatchObject({ code: 7, msg: `log_file_max_count must be an integer from 1 to 100, got ${HUGE}` });
    expect(await lastLogLine(log)).toMatchObject({ command: "ADD", error: { code: 7 } });
  });

  it("a configuration refused for another reason with hostile log settings still exits", async () => {
    const log = await fullLog();
    const out = await run({ mode: "l9", log_file_path: log, log_file_max_size: 1, log_file_max_count: 1e300 });
    exitedByItself(out);
    expect(cniError(out).code).toBe(7);
    expect((await readdir(join(box.root, "logs"))).sort()).toEqual(["plugin.log", "plugin.log.1"]);
  });
});
