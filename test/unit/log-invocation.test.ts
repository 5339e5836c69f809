import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CniError, ErrorCode } from "../../lib/cni/errors";
import { parseIpamConfig } from "../../lib/ipam/config";
import { parseIpvlanConfig } from "../../lib/ipvlan/config";
import { parseCniArgs } from "../../lib/cni/args";
import type { Outcome } from "../../lib/cni/skel";
import { invocationFields, logInvocation, logSettings } from "../../lib/log/invocation";
import { createLogger } from "../../lib/log/logger";
import { LOG_LIMITS, checkLogKeys } from "../../lib/log/settings";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "spd-log-"));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const env = { command: "ADD" as const, containerId: "c1", netns: "/var/run/netns/p", ifname: "eth0", args: parseCniArgs("K8S_POD_NAMESPACE=default;K8S_POD_NAME=nginx"), rawArgs: "", path: [] };
const conf = { cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan-attach" };

describe("invocation log", () => {
  it("reads upstream's keys and ignores a relative path", () => {
    expect(logSettings({ log_file_path: "/x/y.log", log_level: "WARNING", log_file_max_size: 5, log_file_max_count: 2 })).toEqual({ level: "warn", filePath: "/x/y.log", maxSizeMB: 5, maxCount: 2 });
    expect(logSettings({ log_file_path: "rel.log" })).toBeUndefined();
    expect(logSettings(undefined)).toBeUndefined();
  });

  it("has command, container, pod, interface, network, result and duration", () => {
    const outcome: Outcome = { exitCode: 0, command: "ADD", env, conf, result: { cniVersion: "1.0.0", ips: [{ address: "172.31.28.16/20" }] } };
    expect(invocationFields(outcome, 3.14159)).toEqual({
      command: "ADD", durationMs: 3.14, containerID: "c1", ifname: "eth0", netns: "/var/run/netns/p", pod: "default/nginx", network: "ipvlan-ens5", ips: ["172.31.28.16/20"],
    });
  });

  it("writes one JSON line per invocation to a 0600 file in a 0700 directory, errors included", async () => {
    const file = join(tmp(), "logs", "plugin.log");
    await logInvocation("t", { log_file_path: file }, { exitCode: 0, command: "DEL", env, conf }, 1);
    await logInvocation("t", { log_file_path: file }, { exitCode: 1, command: "ADD", env, conf, error: new CniError(101, "all IP addresses used out") }, 2);
    const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.level, l.command])).toEqual([["info", "DEL"], ["error", "ADD"]]);
    expect(lines[1].error).toEqual({ code: 101, msg: "all IP addresses used out" });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(file, "..")).mode & 0o777).toBe(0o700);
  });

  it("rotates by size and keeps at most max_count old files", () => {
    const dir = tmp();
    const file = join(dir, "p.log");
    const logger = createLogger({ component: "t", level: "info", filePath: file, maxSizeMB: 200 / 1048576, maxCount: 2 });
    for (let i = 0; i < 20; i++) logger.log("info", `line ${i} ${"x".repeat(80)}`);
    expect(readdirSync(dir).sort()).toEqual(["p.log", "p.log.1", "p.log.2"]);
    expect(readFileSync(file, "utf8")).toContain("line 19");
  });

  it("rotation keeps exactly max_count copies, shifting each by one, whatever was there before", () => {
    const dir = tmp();
    const file = join(dir, "p.log");
    for (const n of ["1", "2", "3", "5", "9", "15", "99999999999999999999"]) writeFileSync(join(dir, `p.log.${n}`), `copy ${n}\n`);
    writeFileSync(join(dir, "p.log.old"), "not a copy\n");
    writeFileSync(file, "x".repeat(300));
    createLogger({ component: "t", level: "info", filePath: file, maxSizeMB: 200 / 1048576, maxCount: 3 }).log("info", "after");
    expect(readdirSync(dir).sort()).toEqual(["p.log", "p.log.1", "p.log.2", "p.log.3", "p.log.old"]);
    expect(readFileSync(`${file}.1`, "utf8")).toBe("x".repeat(300));
    expect(readFileSync(`${file}.2`, "utf8")).toBe("copy 1\n");
    expect(readFileSync(`${file}.3`, "utf8")).toBe("copy 2\n");
    expect(readFileSync(file, "utf8")).toContain('"msg":"after"');
  });

  it("rotation removes copies older than log_file_max_age and keeps younger ones", () => {
    const dir = tmp();
    const file = join(dir, "p.log");
    const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000);
    for (const [n, age] of [["1", 1], ["2", 9], ["3", 2]] as const) {
      writeFileSync(join(dir, `p.log.${n}`), `copy ${n}\n`);
      utimesSync(join(dir, `p.log.${n}`), daysAgo(age), daysAgo(age));
    }
    writeFileSync(file, "x".repeat(300));
    createLogger({ component: "t", level: "info", filePath: file, maxSizeMB: 200 / 1048576, maxCount: 10, maxAgeDays: 7 }).log("info", "after");
    expect(readdirSync(dir).sort()).toEqual(["p.log", "p.log.1", "p.log.2", "p.log.4"]);
    expect(readFileSync(`${file}.2`, "utf8")).toBe("copy 1\n");
    expect(readFileSync(`${file}.4`, "utf8")).toBe("copy 3\n");
    expect(logSettings({ log_file_path: "/x/y.log", log_file_max_age: 1000 })?.maxAgeDays).toBe(LOG_LIMITS.maxAgeDays);
  });

  it("clamps size and count to their bounds and ignores values that are no size or count", () => {
    const read = (extra: Record<string, unknown>) => logSettings({ log_file_path: "/x/y.log", ...extra });
    expect(read({ log_file_max_size: 1e9, log_file_max_count: Number.MAX_SAFE_INTEGER })).toMatchObject({ maxSizeMB: LOG_LIMITS.maxSizeMB, maxCount: LOG_LIMITS.maxCount });
    expect(read({ log_file_max_size: Infinity, log_file_max_count: 2.7 })).toMatchObject({ maxSizeMB: LOG_LIMITS.maxSizeMB, maxCount: 2 });
    const ignored = read({ log_file_max_size: -1, log_file_max_count: 0.5 });
    expect(ignored?.maxSizeMB).toBeUndefined();
    expect(ignored?.maxCount).toBeUndefined();
    expect(read({ log_file_max_size: "9", log_file_max_count: null, log_level: 42 })).toEqual({ level: "info", filePath: "/x/y.log" });
  });

  it("never fails the call: whatever goes wrong while logging is dropped", async () => {
    const hostile = {
      get log_file_path(): string {
        throw new Error("boom");
      },
    };
    await expect(logInvocation("t", hostile, { exitCode: 0, command: "DEL", env, conf }, 1)).resolves.toBeUndefined();
    const underAFile = join(tmp(), "file");
    writeFileSync(underAFile, "");
    await expect(logInvocation("t", { log_file_path: join(underAFile, "p.log") }, { exitCode: 0, command: "DEL", env, conf }, 1)).resolves.toBeUndefined();
  });
});

describe("log settings validation", () => {
  const refused = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return e as CniError;
    }
    throw new Error("expected a refusal");
  };

  it.each([
    [{ log_file_max_count: Number.MAX_SAFE_INTEGER }, "log_file_max_count must be an integer from 1 to 100, got 9007199254740991"],
    [{ log_file_max_count: 0 }, "log_file_max_count must be an integer from 1 to 100, got 0"],
    [{ log_file_max_size: 1025 }, "log_file_max_size must be an integer from 1 to 1024, got 1025"],
    [{ log_file_max_size: 1.5 }, "log_file_max_size must be an integer from 1 to 1024, got 1.5"],
    [{ log_file_path: "rel.log" }, 'log_file_path must be an absolute path, got "rel.log"'],
    [{ log_level: "loud" }, 'log_level must be debug, info, warn or error, got "loud"'],
  ])("refuses %j with code 7", (keys, message) => {
    const err = refused(() => checkLogKeys(keys));
    expect(err.code).toBe(ErrorCode.InvalidConfig);
    expect(err.message).toBe(message);
  });

  it("accepts the bounds and upstream's spellings", () => {
    expect(() => checkLogKeys({ log_level: "WARNING", log_file_path: "/var/log/x.log", log_file_max_size: 1024, log_file_max_count: 100 })).not.toThrow();
    expect(() => checkLogKeys({ log_file_max_size: 1, log_file_max_count: 1, log_level: null })).not.toThrow();
  });

  it("ipvlan-attach and spiderpool-ipam refuse out-of-range log settings with code 7", () => {
    const base = { cniVersion: "1.0.0", name: "n", type: "ipvlan-attach" };
    expect(refused(() => parseIpvlanConfig({ ...base, log_file_max_count: Number.MAX_SAFE_INTEGER })).message).toBe(
      "log_file_max_count must be an integer from 1 to 100, got 9007199254740991",
    );
    const ipam = (extra: Record<string, unknown>) => () => parseIpamConfig({ ...base, ipam: { type: "spiderpool-ipam", nodeName: "n1", ...extra } }, {}, () => "n1");
    expect(refused(ipam({ log_file_max_count: Number.MAX_SAFE_INTEGER })).code).toBe(ErrorCode.InvalidConfig);
    expect(refused(ipam({ log_file_max_size: 2048 })).message).toBe("ipam.log_file_max_size must be a positive integer of at most 1024, got 2048");
    expect(refused(ipam({ log_file_max_age: 400 })).message).toBe("ipam.log_file_max_age must be a positive integer of at most 365, got 400");
    expect(ipam({ log_file_max_count: 100, log_file_max_size: 1024, log_file_max_age: 365 })()).toMatchObject({ log: { maxCount: 100, maxSizeMB: 1024, maxAgeDays: 365 } });
  });
});
