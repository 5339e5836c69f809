// spiderpool-ipam killed (SIGKILL) in the middle of ADD or DEL, over and over.
// After every kill: the store loads (the pools CLI works, no file is damaged),
// no live attachment lost an address or shares one, and what the kill left
// is released by what a runtime does next (DEL, GC, or a retried ADD).
//
// Two ways to choose the instant:
//   runCrash:        after a delay (random, or evenly spread), within the
//                    time an ADD or DEL takes;
//   runSyscallKills: exactly at the n-th mkdir/rename/fsync/unlink/rmdir of
//                    the call (strace's fault injection), every n in turn.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { IPAM_BIN, addressesOf, cli, cni, describe, gc, makeSandbox, percentile, readStore, rng, run, verifyStore } from "./common.mjs";

export const hasStrace = () => spawnSync("strace", ["-V"]).status === 0;

const keyOf = (id) => `${id}/eth0`;

/** Where a kill landed, judged from what the store holds for the attachment. */
function landing(dataDir, command, id) {
  const s = readStore(dataDir);
  const record = s.records.get(keyOf(id));
  const held = [...s.claims.values()].filter((c) => c.containerID === id).length;
  const debris = s.strays.length > 0 || s.emptyDirs.length > 0;
  if (command === "ADD") {
    if (!record) return held > 0 ? "claims without a record (must never happen)" : debris ? "before the record (temp file or directory left)" : "before the store was touched";
    if (held === 0) return "record written, no claim";
    if (held < record.ips.length) return "record and some claims";
    return "record and all claims";
  }
  if (!record) return held > 0 ? "claims without a record (must never happen)" : "released";
  if (held === record.ips.length) return "nothing released yet";
  if (held > 0) return "some claims released";
  return "claims released, record left";
}

/** Checks that hold after any kill; returns violations. */
async function afterKillChecks(box, live) {
  const v = verifyStore(box.dataDir, { live });
  const pools = await cli(["pools", "-o", "json", "--pool-dir", box.poolDir, "--data-dir", box.dataDir, "--node", "node-a"]);
  if (pools.code !== 0) v.push(`pools CLI failed: ${describe(pools)}`);
  else {
    const claims = readStore(box.dataDir).claims;
    const v4 = [...claims.keys()].filter((a) => a.includes(".")).length;
    const rows = JSON.parse(pools.stdout).pools;
    if (rows[0]?.allocated !== v4) v.push(`pools CLI counts ${rows[0]?.allocated} IPv4 claims, the store holds ${v4}`);
  }
  const check = await cli(["store", "check", "-o", "json", "--data-dir", box.dataDir]);
  let problems = [];
  try {
    problems = JSON.parse(check.stdout).problems;
  } catch {
    v.push(`store check failed: ${describe(check)}`);
  }
  // Only what DEL, GC or a retried ADD clears may be there after a kill.
  const harmless = new Set(["address-not-held", "stray-temp-file", "empty-directory"]);
  for (const p of problems) if (!harmless.has(p.kind)) v.push(`store check: ${p.kind} ${p.path}: ${p.message}`);
  return v;
}

/** Nothing of the attachment may be left. */
function goneChecks(box, id, strictAll) {
  const s = readStore(box.dataDir);
  const v = [];
  if (s.records.has(keyOf(id))) v.push(`record of ${id} left behind`);
  for (const [a, c] of s.claims) if (c.containerID === id) v.push(`claim ${a} of ${id} left behind`);
  if (existsSync(join(box.dataDir, "attachments", id))) v.push(`directory attachments/${id} left behind`);
  if (strictAll) for (const f of s.strays) v.push(`stray ${f} left after GC`);
  return v;
}

/**
 * The follow-up a runtime does after a killed call, then the checks.
 * Returns { violations, follow }.
 */
async function followUp(box, live, command, id, out, choice) {
  const v = [];
  let follow;
  if (command === "ADD" && out.code === 0) {
    live.set(keyOf(id), addressesOf(out.stdout)); // it finished before the kill: the pod has it
    return { violations: v, follow: "none (ADD had finished)" };
  }
  if (command === "DEL" && out.code === 0) return { violations: goneChecks(box, id, false), follow: "none (DEL had finished)" };
  if (command === "ADD" && choice < 0.35) {
    follow = "retried ADD";
    const again = await cni(box, "ADD", id);
    if (again.code !== 0) v.push(`retried ADD of ${id} failed: ${describe(again)}`);
    else {
      const got = addressesOf(again.stdout);
      for (const [k, held] of live) for (const a of got) if (held.includes(a)) v.push(`retried ADD of ${id} got ${a}, held by ${k}`);
      live.set(keyOf(id), got);
      const s = readStore(box.dataDir);
      for (const a of got) if (s.claims.get(a)?.containerID !== id) v.push(`retried ADD of ${id}: ${a} is not claimed by it`);
    }
  } else if (choice < 0.7) {
    follow = "DEL";
    const del = await cni(box, "DEL", id);
    if (del.code !== 0) v.push(`DEL of ${id} after the kill failed: ${describe(del)}`);
    v.push(...goneChecks(box, id, false));
  } else {
    follow = "GC";
    const g = await gc(box, [...live.keys()].map((k) => ({ containerID: k.split("/")[0], ifname: "eth0" })));
    if (g.code !== 0) v.push(`GC after the kill of ${id} failed: ${describe(g)}`);
    v.push(...goneChecks(box, id, true));
  }
  return { violations: v, follow };
}

async function median(box, command, n) {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const id = `calib-${i}`;
    const a = await cni(box, "ADD", id);
    if (command === "ADD") ms.push(a.ms);
    const d = await cni(box, "DEL", id);
    if (command === "DEL") ms.push(d.ms);
  }
  return percentile(ms, 50);
}

/**
 * runs: mode "random" makes calls until `runs` of them were killed, each at
 * a delay within the median duration of the call (half uniform over it, half
 * over its last 45%); mode "even" makes `runs` calls, call i killed at
 * (i + 0.5)/runs of 1.25 x that duration (deterministic offsets).
 */
export async function runCrash({ runs = 500, seed = 1, mode = "random", log = () => {}, timeLimitMs = 20 * 60_000 } = {}) {
  const box = makeSandbox("spiderpool-crash-");
  const r = rng(seed);
  const started = Date.now();
  const f = { runs, mode, killed: 0, finishedFirst: 0, landings: new Map(), follows: new Map(), violations: [], calibration: {}, seconds: 0, gcRounds: 0 };
  const live = new Map();
  try {
    f.calibration = { ADD: await median(box, "ADD", 7), DEL: await median(box, "DEL", 7) };
    for (let i = 0; i < 12; i++) {
      const out = await cni(box, "ADD", `base-${i}`);
      if (out.code !== 0) throw new Error(`set-up ADD failed: ${describe(out)}`);
      live.set(keyOf(`base-${i}`), addressesOf(out.stdout));
    }
    // Random mode counts kills: a call that finished before its kill instant
    // is checked like the others, and another call is made. Even mode makes
    // exactly `runs` calls at fixed offsets.
    const done = () => (mode === "even" ? f.killed + f.finishedFirst >= runs : f.killed >= runs);
    for (let i = 0; !done(); i++) {
      if (Date.now() - started > timeLimitMs) throw new Error(`time limit reached after ${i} calls`);
      if (i >= 4 * runs) throw new Error(`only ${f.killed} of ${i} calls were killed: the calls are faster than the kill instants`);
      const wantAdd = live.size < 8 ? true : live.size > 40 ? false : r.chance(0.55);
      const command = wantAdd ? "ADD" : "DEL";
      const id = wantAdd ? `c-${i}` : r.pick([...live.keys()]).split("/")[0];
      if (!wantAdd) live.delete(keyOf(id)); // the runtime is tearing it down
      const span = (mode === "even" ? 1.25 : 1) * f.calibration[command];
      // Random: half the kills anywhere in the call, half in its last 45%, where
      // the store is written (the first half of a call is the runtime starting).
      const u = r.next();
      const delay = mode === "even" ? (span * (i + 0.5)) / runs : r.chance(0.5) ? u * span : (0.55 + 0.45 * u) * span;
      const out = await cni(box, command, id, { killAfterMs: delay });
      const where = out.killed ? landing(box.dataDir, command, id) : out.code === 0 ? "finished before the kill" : "failed before the kill";
      if (out.killed) f.killed++;
      else f.finishedFirst++;
      const lk = `${command}: ${where}`;
      f.landings.set(lk, (f.landings.get(lk) ?? 0) + 1);
      const v = await afterKillChecks(box, live);
      if (!out.killed && out.code !== 0) v.push(`${command} ${id} failed: ${describe(out)}`);
      const { violations, follow } = await followUp(box, live, command, id, out, r.next());
      f.follows.set(follow, (f.follows.get(follow) ?? 0) + 1);
      v.push(...violations);
      if ((i + 1) % 50 === 0 || done()) {
        // As a runtime's periodic GC: afterwards the store is exactly the live set.
        const g = await gc(box, [...live.keys()].map((k) => ({ containerID: k.split("/")[0], ifname: "eth0" })));
        f.gcRounds++;
        if (g.code !== 0) v.push(`periodic GC failed: ${describe(g)}`);
        v.push(...verifyStore(box.dataDir, { live, strict: true, only: new Set(live.keys()) }));
        log(`  ${i + 1} calls: ${f.killed} killed, ${f.violations.length + v.length} violation(s), ${live.size} live`);
      }
      for (const x of v) f.violations.push(`run ${i} (${command} ${id}, ${where}): ${x}`);
    }
    // The end: everything deleted, nothing left, store check clean.
    for (const k of [...live.keys()]) {
      const out = await cni(box, "DEL", k.split("/")[0]);
      if (out.code !== 0) f.violations.push(`final DEL ${k}: ${describe(out)}`);
      live.delete(k);
    }
    const s = readStore(box.dataDir);
    f.final = { records: s.records.size, claims: s.claims.size, strays: s.strays.length + s.emptyDirs.length };
    const check = await cli(["store", "check", "-o", "json", "--data-dir", box.dataDir]);
    f.finalProblems = check.code === 0 ? [] : JSON.parse(check.stdout).problems;
    f.seconds = (Date.now() - started) / 1000;
    return f;
  } finally {
    box.cleanup();
  }
}

const SYSCALLS = ["mkdir", "rename", "fsync", "unlink", "rmdir"];

/**
 * With strace: kills ADD and DEL at every n-th call of each store syscall in
 * turn, until the call completes untouched. Deterministic and exhaustive over
 * the write path. Returns figures like runCrash.
 */
export async function runSyscallKills({ log = () => {}, commands = ["ADD", "DEL"], syscalls = SYSCALLS, maxN = 12 } = {}) {
  const box = makeSandbox("spiderpool-syskill-");
  const f = { points: 0, byCommand: {}, landings: new Map(), violations: [], seconds: 0 };
  const started = Date.now();
  const live = new Map();
  let serial = 0;
  try {
    for (let i = 0; i < 6; i++) {
      const out = await cni(box, "ADD", `base-${i}`);
      live.set(keyOf(`base-${i}`), addressesOf(out.stdout));
    }
    for (const command of commands) {
      f.byCommand[command] = 0;
      for (const sc of syscalls) {
        for (let n = 1; n <= maxN; n++) {
          const id = `s-${serial++}`;
          if (command === "DEL") {
            const out = await cni(box, "ADD", id);
            if (out.code !== 0) throw new Error(`set-up ADD failed: ${describe(out)}`);
          }
          const conf = box.conf({});
          const env = { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_IFNAME: "eth0", CNI_NETNS: "/var/run/netns/rel" };
          const out = await run("strace", {
            argv: ["-f", "-o", "/dev/null", "-e", `trace=${sc}`, "-e", `inject=${sc}:signal=SIGKILL:when=${n}`, IPAM_BIN],
            env,
            stdin: JSON.stringify(conf),
            timeoutMs: 60_000,
          });
          const killed = out.code === 137 || out.signal === "SIGKILL";
          const where = killed ? landing(box.dataDir, command, id) : "completed";
          const v = killed ? await afterKillChecks(box, live) : [];
          if (!killed && out.code !== 0) v.push(`${command} under strace failed: ${describe(out)}`);
          if (killed) {
            f.points++;
            f.byCommand[command]++;
            const lk = `${command} at ${sc} #${n}: ${where}`;
            f.landings.set(lk, 1);
          }
          // The runtime's follow-up, alternating DEL and GC; a finished ADD is deleted too.
          const follow = await followUp(box, live, command, id, killed ? { code: null } : out, n % 2 ? 0.5 : 0.9);
          v.push(...follow.violations);
          if (command === "ADD" && live.has(keyOf(id))) {
            live.delete(keyOf(id));
            await cni(box, "DEL", id);
          }
          for (const x of v) f.violations.push(`${command} killed at ${sc} #${n} (${where}): ${x}`);
          if (!killed) break; // the call no longer reaches an n-th such syscall
        }
      }
      log(`  ${command}: ${f.byCommand[command]} kill points`);
    }
    const g = await gc(box, [...live.keys()].map((k) => ({ containerID: k.split("/")[0], ifname: "eth0" })));
    if (g.code !== 0) f.violations.push(`final GC failed: ${describe(g)}`);
    f.violations.push(...verifyStore(box.dataDir, { live, strict: true, only: new Set(live.keys()) }));
    f.seconds = (Date.now() - started) / 1000;
    return f;
  } finally {
    box.cleanup();
  }
}
