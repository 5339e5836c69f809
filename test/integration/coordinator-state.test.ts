// ipvlan-attach's side-channel records under coordinator.stateDir name the
// routes and rules DEL deletes, so stateDir gets dataDir's rules: its path
// checked from "/", a private directory, container directories never
// followed through a link, records never read through a link or blocking on
// a FIFO. lib/coordinator/state.ts driven for real under Bun.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BUN } from "../fixtures/net/scaffold";
import { REPO_ROOT } from "./ipam-harness";
import { foreignDetour, NOBODY, TempDirs } from "../helpers/tmp";

const PROBE = join(REPO_ROOT, "test", "fixtures", "coordinator", "state-probe.ts");
const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

type Outcome = { ok: true; value: unknown } | { ok: false; code: number; message: string };

function state(op: "write" | "read" | "remove", stateDir: string, containerID = "pod-a", ifname = "eth0"): Outcome {
  const run = spawnSync(BUN, [PROBE, op, stateDir, containerID, ifname], { encoding: "utf8", timeout: 20_000 });
  expect(run.signal, `${op} hung: ${run.stderr}`).toBeNull();
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Outcome;
}

const refused = (o: Outcome): { code: number; message: string } => {
  if (o.ok) throw new Error(`expected a refusal, got ${JSON.stringify(o.value)}`);
  return o;
};

describe("coordinator.stateDir", () => {
  it("a record is written, read and removed (the container's directory with it)", async () => {
    const stateDir = join(await tmp.make("spiderpool-state-"), "state");
    expect(state("write", stateDir).ok).toBe(true);
    expect(state("read", stateDir)).toMatchObject({ ok: true, value: { containerID: "pod-a", hostVeth: "vethtest" } });
    expect(state("remove", stateDir)).toEqual({ ok: true, value: true });
    expect(readdirSync(stateDir)).toEqual([]);
    // Nothing there, and no stateDir at all: nothing to read or remove.
    expect(state("read", stateDir)).toEqual({ ok: true, value: null });
    expect(state("remove", join(stateDir, "never-made"))).toEqual({ ok: true, value: true });
  });

  it("below a directory another user owns is refused with code 7 naming it; nothing is created", async () => {
    const { real, foreign, via } = await foreignDetour(tmp);
    const stateDir = join(via, "state");
    for (const op of ["write", "read", "remove"] as const) {
      const r = refused(state(op, stateDir));
      expect(r.code).toBe(7);
      expect(r.message).toContain(`coordinator.stateDir ${stateDir} is not safe to use: ${foreign} on its path is owned by uid ${NOBODY}`);
    }
    expect(readdirSync(real)).toEqual([]);
  });

  it("a symbolic link or a group-writable directory as stateDir is refused with code 7", async () => {
    const root = await tmp.make("spiderpool-state-");
    const real = join(root, "real");
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, join(root, "link"));
    expect(refused(state("write", join(root, "link")))).toMatchObject({ code: 7, message: expect.stringContaining("is a symbolic link") });
    const open = join(root, "open");
    mkdirSync(open);
    chmodSync(open, 0o770);
    expect(refused(state("write", open))).toMatchObject({ code: 7, message: expect.stringContaining("writable by group or others") });
    expect(readdirSync(real)).toEqual([]);
    expect(readdirSync(open)).toEqual([]);
  });

  it("a container directory replaced by a symbolic link is refused (code 5): nothing written, read or removed outside stateDir", async () => {
    const stateDir = join(await tmp.make("spiderpool-state-"), "state");
    expect(state("write", stateDir, "warm-up").ok).toBe(true);
    const outside = await tmp.make("spiderpool-outside-");
    const planted = JSON.stringify({ containerID: "pod-a", ifname: "eth0", hostVeth: "veth-theirs", hostRoutes: [], hostRules: [] });
    writeFileSync(join(outside, "eth0.json"), planted, { mode: 0o600 });
    symlinkSync(outside, join(stateDir, "pod-a"));
    for (const op of ["write", "read", "remove"] as const) {
      const r = refused(state(op, stateDir));
      expect(r.code).toBe(5);
      expect(r.message).toContain(`${join(stateDir, "pod-a")} is a symbolic link, not a directory`);
    }
    expect(readdirSync(outside)).toEqual(["eth0.json"]);
    expect(readFileSync(join(outside, "eth0.json"), "utf8")).toBe(planted);
  });

  it("a FIFO or a link in a record's place reads as no record, at once, and is removed", async () => {
    const stateDir = join(await tmp.make("spiderpool-state-"), "state");
    expect(state("write", stateDir).ok).toBe(true);
    const dir = join(stateDir, "pod-a");
    expect(spawnSync("mkfifo", ["-m", "600", join(dir, "net1.json")]).status).toBe(0);
    const outside = join(await tmp.make("spiderpool-outside-"), "theirs.json");
    writeFileSync(outside, JSON.stringify({ containerID: "pod-a", ifname: "net2", hostVeth: "veth-theirs", hostRoutes: [], hostRules: [] }));
    symlinkSync(outside, join(dir, "net2.json"));
    expect(state("read", stateDir, "pod-a", "net1")).toEqual({ ok: true, value: null });
    expect(state("read", stateDir, "pod-a", "net2")).toEqual({ ok: true, value: null });
    expect(state("remove", stateDir, "pod-a", "net1")).toEqual({ ok: true, value: false });
    expect(state("remove", stateDir, "pod-a", "net2")).toEqual({ ok: true, value: false });
    expect(state("remove", stateDir, "pod-a", "eth0")).toEqual({ ok: true, value: true });
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(outside)).toBe(true);
  });
});
