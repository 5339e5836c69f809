// The executables are self-contained: copied anywhere, started with an empty
// environment (no node or bun on PATH), they answer as CNI plugins and as
// commands a person runs.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const PLUGINS = ["spiderpool-ipam", "ipvlan-attach"] as const;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "spd-standalone-"));
  for (const p of PLUGINS) {
    copyFileSync(join(ROOT, "dist", "bin", p), join(dir, p));
    chmodSync(join(dir, p), 0o755);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (plugin: string, args: string[], env: Record<string, string>, input = "") =>
  spawnSync("/usr/bin/env", ["-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), join(dir, plugin), ...args], { input, encoding: "utf8" });

describe.each(PLUGINS)("%s copied elsewhere, empty environment", (plugin) => {
  it("answers VERSION with every supported version", () => {
    const r = run(plugin, [], { CNI_COMMAND: "VERSION" }, '{"cniVersion":"1.0.0"}');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: "1.0.0", supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] });
  });

  it("prints usage, not a CNI error, when run by a person", () => {
    const r = run(plugin, ["--help"], {});
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(plugin);
    expect(r.stdout).toContain("CNI_COMMAND");
    expect(r.stdout).not.toContain('"code"');
  });

  it("prints its version with --version", () => {
    const r = run(plugin, ["--version"], {});
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${plugin} \\d+\\.\\d+\\.\\d+ \\(CNI spec 0\\.3\\.0, .*1\\.1\\.0\\)\\n$`));
  });

  it("answers a missing variable with one code-4 error naming it", () => {
    const r = run(plugin, [], { CNI_COMMAND: "ADD", CNI_NETNS: "/x", CNI_IFNAME: "eth0" }, '{"cniVersion":"1.0.0","name":"n","type":"t"}');
    expect(r.status).not.toBe(0);
    const err = JSON.parse(r.stdout);
    expect(err.code).toBe(4);
    expect(err.msg).toContain("CNI_CONTAINERID");
  });
});
