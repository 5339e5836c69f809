import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CniError } from "../../lib/cni/errors";
import { parseCniArgs } from "../../lib/cni/args";
import type { Outcome } from "../../lib/cni/skel";
import { invocationFields, logInvocation, logSettings } from "../../lib/log/invocation";
import { createLogger } from "../../lib/log/logger";

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
});
