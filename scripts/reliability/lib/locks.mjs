// The store lock: a holder that dies frees it at once (flock(2) is released
// by the kernel with the holder's file descriptor), and a lock that stays held
// makes every waiter give up after lockTimeoutMs with code 11, never hang.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { IPAM_BIN, addressesOf, cli, cni, describe, diffSnapshots, gc, lockWaitStarted, makeSandbox, percentile, readStore, snapshot, verifyStore } from "./common.mjs";
import { hasStrace } from "./crash.mjs";

export const FLOCK = "/usr/bin/flock";
const names = (dir) => (existsSync(dir) ? readdirSync(dir) : []);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Holds dataDir/lock with flock(1) until killed. --close keeps the lock in the
 * flock process alone, so killing that one process is "the holder died".
 */
export async function holdLock(dataDir) {
  const child = spawn(FLOCK, ["--exclusive", "--close", join(dataDir, "lock"), "sh", "-c", "echo locked; exec sleep 600"], {
    stdio: ["ignore", "pipe", "ignore"],
    detached: true,
  });
  await new Promise((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`flock exited early with ${code}`)));
  });
  return {
    pid: child.pid,
    /** Kills the lock holder alone (its sleep lingers without the lock). */
    killHolder: () => process.kill(child.pid, "SIGKILL"),
    /** Ends everything it started. */
    end: () => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    },
  };
}

/** The plugin under strace: the child of strace running the plugin (strace may have another). */
function pluginUnder(pid) {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).map(Number);
    return kids.find((k) => {
      try {
        return readFileSync(`/proc/${k}/comm`, "utf8").startsWith("spiderpool-ipa"); // comm is cut at 15 bytes
      } catch {
        return false;
      }
    });
  } catch {
    return undefined;
  }
}

/** The state letter of /proc/<pid>/stat ("T": stopped, "t": stopped by the tracer). */
function procState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return "";
  }
}

async function waitFor(pred, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await sleep(5);
  }
  return false;
}

/**
 * kills: lock holders killed while an ADD waits; timeouts x repeats: ADDs
 * against a held lock; includeDefault: one wait with the default 10 s.
 */
export async function runLocks({
  kills = 20,
  timeouts = [100, 250, 500, 1000, 2000],
  repeats = 3,
  includeDefault = true,
  waiters = 8,
  realHolders = hasStrace() ? 10 : 0,
  signalRepeats = 5,
  maintenanceRounds = 30,
  log = () => {},
} = {}) {
  if (!existsSync(FLOCK)) throw new Error(`${FLOCK} is missing (util-linux)`);
  const box = makeSandbox("spiderpool-locks-");
  const f = {
    baseline: 0,
    killedHolder: [],
    killedPlugin: [],
    timeouts: [],
    defaultWait: undefined,
    waiters: undefined,
    signals: { blocked: [], ignored: [], blockedAcquired: [] },
    maintenance: { rounds: 0, calls: new Map(), prestaged: 0, failedAdds: 0, falseStrays: 0 },
    violations: [],
    seconds: 0,
  };
  const started = Date.now();
  const holders = [];
  try {
    // How long an ADD takes with the lock free.
    const base = [];
    for (let i = 0; i < 9; i++) {
      const out = await cni(box, "ADD", `base-${i}`);
      base.push(out.ms);
      await cni(box, "DEL", `base-${i}`);
    }
    f.baseline = percentile(base, 50);

    // 1. A flock(1) holder killed while an ADD waits for the lock.
    for (let i = 0; i < kills; i++) {
      const h = await holdLock(box.dataDir);
      holders.push(h);
      let pid;
      const pending = cni(box, "ADD", `after-kill-${i}`, { ipam: { lockTimeoutMs: 10_000 }, onSpawn: (c) => (pid = c.pid) });
      await lockWaitStarted(pid);
      const t = now();
      h.killHolder();
      const out = await pending;
      const delay = now() - t;
      h.end();
      if (out.code !== 0) f.violations.push(`ADD after the holder was killed failed: ${describe(out)}`);
      f.killedHolder.push(delay);
      await cni(box, "DEL", `after-kill-${i}`);
    }
    log(`  holder killed: next ADD done ${percentile(f.killedHolder, 50).toFixed(1)} ms (median) after the kill`);

    // 2. A real plugin stopped inside the lock (at its first rename), then killed.
    for (let i = 0; i < realHolders; i++) {
      const id = `stopped-${i}`;
      const conf = box.conf({});
      const tracer = spawn("strace", ["-f", "-o", "/dev/null", "-e", "trace=rename", "-e", "inject=rename:signal=SIGSTOP:when=1", IPAM_BIN], {
        env: { PATH: "/usr/bin:/bin", CNI_COMMAND: "ADD", CNI_CONTAINERID: id, CNI_IFNAME: "eth0", CNI_NETNS: "/var/run/netns/rel" },
        stdio: ["pipe", "ignore", "ignore"],
      });
      tracer.stdin.end(JSON.stringify(conf));
      // strace delivers the SIGSTOP as the rename returns: the record is
      // written, no claim yet, and the lock is held. Wait for that stop.
      // ("t" is also every syscall stop under strace: the record is the sign.)
      let plugin;
      const record = join(box.dataDir, "attachments", id, "eth0");
      const stopped = await waitFor(() => {
        plugin = pluginUnder(tracer.pid);
        return plugin !== undefined && existsSync(record) && /^[tT]$/.test(procState(plugin));
      }, 10_000);
      await sleep(50);
      if (stopped && readStore(box.dataDir).claims.size > 0) f.violations.push("the stopped plugin went on writing claims");
      if (!stopped) {
        f.violations.push("the plugin did not stop inside the lock under strace");
        if (plugin) process.kill(plugin, "SIGKILL");
        tracer.kill("SIGKILL");
        break;
      }
      let pid;
      const pending = cni(box, "ADD", `waiter-${i}`, { ipam: { lockTimeoutMs: 10_000 }, onSpawn: (c) => (pid = c.pid) });
      await lockWaitStarted(pid);
      const t = now();
      process.kill(plugin, "SIGKILL");
      const out = await pending;
      const delay = now() - t;
      await new Promise((r) => (tracer.exitCode !== null || tracer.signalCode !== null ? r() : tracer.once("exit", r)));
      if (out.code !== 0) f.violations.push(`ADD after the plugin holding the lock was killed failed: ${describe(out)}`);
      else {
        f.killedPlugin.push(delay);
        const got = addressesOf(out.stdout);
        const v = verifyStore(box.dataDir, { live: new Map([[`waiter-${i}/eth0`, got]]) });
        f.violations.push(...v);
      }
      // What the killed one left goes with the runtime's DEL.
      const del = await cni(box, "DEL", id);
      if (del.code !== 0) f.violations.push(`DEL of the killed holder failed: ${describe(del)}`);
      await cni(box, "DEL", `waiter-${i}`);
    }
    if (realHolders > 0) log(`  plugin killed inside the lock: next ADD done ${percentile(f.killedPlugin, 50).toFixed(1)} ms (median) after the kill`);
    const clean = verifyStore(box.dataDir, { strict: true, only: new Set() });
    f.violations.push(...clean);

    // 3. A lock that stays held: code 11 after lockTimeoutMs, nothing written.
    const h = await holdLock(box.dataDir);
    holders.push(h);
    const before = snapshot(box.dataDir, { skip: ["cache"] });
    const attempt = async (ms, id) => {
      const ipam = ms === undefined ? {} : { lockTimeoutMs: ms };
      const out = await cni(box, "ADD", id, { ipam, timeoutMs: (ms ?? 10_000) + 20_000 });
      let code;
      try {
        code = JSON.parse(out.stdout).code;
      } catch {
        /* judged below */
      }
      if (out.signal) f.violations.push(`ADD waiting for a held lock (${ms ?? "default"} ms) hung and was killed`);
      else if (code !== 11) f.violations.push(`ADD waiting for a held lock (${ms ?? "default"} ms) ended with ${describe(out)}, not code 11`);
      return out.ms;
    };
    for (const ms of timeouts) {
      const took = [];
      for (let k = 0; k < repeats; k++) took.push(await attempt(ms, `held-${ms}-${k}`));
      f.timeouts.push({ lockTimeoutMs: ms, median: percentile(took, 50), max: Math.max(...took) });
      log(`  lockTimeoutMs ${ms}: code 11 after ${percentile(took, 50).toFixed(0)} ms (median of ${repeats})`);
    }
    if (includeDefault) {
      f.defaultWait = await attempt(undefined, "held-default");
      log(`  default lockTimeoutMs (10000): code 11 after ${f.defaultWait.toFixed(0)} ms`);
    }
    if (waiters > 0) {
      const t0 = now();
      const took = await Promise.all(Array.from({ length: waiters }, (_, k) => attempt(1000, `waiter-held-${k}`)));
      f.waiters = { count: waiters, lockTimeoutMs: 1000, max: Math.max(...took), wall: now() - t0 };
      log(`  ${waiters} concurrent waiters, lockTimeoutMs 1000: all code 11 within ${f.waiters.max.toFixed(0)} ms`);
    }
    const diff = diffSnapshots(before, snapshot(box.dataDir, { skip: ["cache"] }));
    for (const d of diff) f.violations.push(`the store changed while the lock was held: ${d}`);
    h.end();
    // And the lock works again once free.
    const after = await cni(box, "ADD", "after-release");
    if (after.code !== 0) f.violations.push(`ADD after the holder ended failed: ${describe(after)}`);
    await cni(box, "DEL", "after-release");

    if (signalRepeats > 0) {
      await signalWaits(box, f, signalRepeats, holders);
      log(`  SIGALRM blocked / ignored, lockTimeoutMs 500: code 11 after ${percentile(f.signals.blocked, 50).toFixed(0)} / ${percentile(f.signals.ignored, 50).toFixed(0)} ms (median)`);
    }
    if (maintenanceRounds > 0) {
      await maintenanceWhileWaiting(box, f, maintenanceRounds, holders);
      log(`  maintenance while ADDs wait: ${maintenanceRounds} rounds, ${f.maintenance.failedAdds} ADD(s) failed`);
    }
    f.seconds = (Date.now() - started) / 1000;
    return f;
  } finally {
    for (const h of holders) h.end();
    box.cleanup();
  }
}

/** Runs a plugin with SIGALRM blocked (python3 sets the mask, which survives exec), as a runtime or wrapper may. */
const sigalrmBlocked = (file) => ({
  file: "python3",
  argv: ["-c", "import os, signal, sys\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])\nos.execv(sys.argv[1], sys.argv[1:])", file],
});
/** Runs a plugin with SIGALRM ignored (SIG_IGN survives exec too). */
const sigalrmIgnored = (file) => ({ file: "/bin/bash", argv: ["-c", "trap '' ALRM; exec \"$0\"", file] });

/**
 * 4. The lock wait against a caller's signal state: ADDs started with
 * SIGALRM blocked or ignored wait for a held lock and must end with code 11
 * after lockTimeoutMs (a blocked SIGALRM made the wait endless); one started
 * blocked must still get the lock at once when its holder is killed.
 */
async function signalWaits(box, f, repeats, holders) {
  const lockTimeoutMs = 500;
  for (const [name, wrap] of [["blocked", sigalrmBlocked], ["ignored", sigalrmIgnored]]) {
    const h = await holdLock(box.dataDir);
    holders.push(h);
    for (let k = 0; k < repeats; k++) {
      const out = await cni(box, "ADD", `sig-${name}-${k}`, { ipam: { lockTimeoutMs }, wrap, timeoutMs: lockTimeoutMs + 20_000 });
      let code;
      try {
        code = JSON.parse(out.stdout).code;
      } catch {
        /* judged below */
      }
      if (out.signal) f.violations.push(`ADD with SIGALRM ${name} waiting for a held lock hung (killed after ${(lockTimeoutMs + 20_000) / 1000} s)`);
      else if (code !== 11) f.violations.push(`ADD with SIGALRM ${name} waiting for a held lock ended with ${describe(out)}, not code 11`);
      else f.signals[name].push(out.ms);
    }
    h.end();
  }
  for (let k = 0; k < repeats; k++) {
    const h = await holdLock(box.dataDir);
    holders.push(h);
    let pid;
    const pending = cni(box, "ADD", `sig-acquire-${k}`, { ipam: { lockTimeoutMs: 10_000 }, wrap: sigalrmBlocked, onSpawn: (c) => (pid = c.pid) });
    await lockWaitStarted(pid);
    const t = now();
    h.killHolder();
    const out = await pending;
    h.end();
    if (out.code !== 0) f.violations.push(`ADD with SIGALRM blocked did not get the lock its killed holder freed: ${describe(out)}`);
    else f.signals.blockedAcquired.push(now() - t);
    await cni(box, "DEL", `sig-acquire-${k}`);
  }
}

/**
 * 5. Maintenance while ADDs wait for the lock with their claims pre-staged
 * (temp files in their containers' directories): per round, a DEL of
 * another interface of two of the containers, GC, `store check` and `store
 * repair` queue behind a held lock, then three ADDs, and the holder is
 * killed. Every ADD succeeds with
 * addresses no one else holds, store check sees no stray temp file (a live
 * writer's is not one) and nothing is left once everything is deleted.
 */
async function maintenanceWhileWaiting(box, f, rounds, holders) {
  const m = f.maintenance;
  const live = new Map();
  for (let round = 0; round < rounds; round++) {
    const h = await holdLock(box.dataDir);
    holders.push(h);
    const ids = [0, 1, 2].map((k) => `mw-${round}-${k}`);
    const started = [];
    const call = (what, promise) => started.push(promise.then((out) => ({ what, out })));
    const pids = [];
    const onSpawn = (c) => pids.push(c.pid);
    const queued = async (n) => {
      while (pids.length < n) await sleep(1);
      for (const pid of pids) await lockWaitStarted(pid);
    };
    // The kernel hands a freed flock to its waiters in turn, oldest first:
    // maintenance queues first, so it runs while the ADDs still wait.
    const valid = [...live.keys(), ...ids.map((id) => `${id}/eth0`)].map((k) => ({ containerID: k.split("/")[0], ifname: k.split("/")[1] }));
    const lockArgs = ["--data-dir", box.dataDir, "--lock-timeout-ms", "30000"];
    const wait = { ipam: { lockTimeoutMs: 30_000 }, onSpawn, timeoutMs: 60_000 };
    for (const id of ids.slice(0, 2)) call(`DEL ${id}/eth1`, cni(box, "DEL", id, { ...wait, ifname: "eth1" }));
    call("GC", gc(box, valid, wait));
    call("store check", cli(["store", "check", ...lockArgs], { onSpawn, timeoutMs: 60_000 }));
    call("store repair", cli(["store", "repair", "--pool-dir", box.poolDir, ...lockArgs], { onSpawn, timeoutMs: 60_000 }));
    await queued(5);
    // Each ADD pre-stages its claims before it waits for the lock.
    for (const id of ids) call(`ADD ${id}`, cni(box, "ADD", id, wait));
    await queued(5 + ids.length);
    m.prestaged += ids.reduce((n, id) => n + names(join(box.dataDir, "attachments", id)).filter((x) => x.startsWith(".tmp-")).length, 0);
    h.killHolder();
    const results = await Promise.all(started);
    h.end();
    for (const { what, out } of results) {
      const kind = what.split(" ").slice(0, what.startsWith("store") ? 2 : 1).join(" ");
      m.calls.set(kind, (m.calls.get(kind) ?? 0) + 1);
      if (out.signal) {
        f.violations.push(`${what} while ADDs waited hung (killed)`);
        continue;
      }
      if (what.startsWith("ADD")) {
        if (out.code !== 0) {
          m.failedAdds++;
          f.violations.push(`${what} waiting behind maintenance failed: ${describe(out)}`);
        } else live.set(`${what.slice(4)}/eth0`, addressesOf(out.stdout));
      } else if (what === "store check") {
        if (out.code !== 0) {
          if (/stray-temp-file/.test(out.stdout)) m.falseStrays++;
          f.violations.push(`store check while ADDs waited found problems: ${out.stdout.trim().slice(0, 400)}`);
        }
      } else if (out.code !== 0) f.violations.push(`${what} while ADDs waited failed: ${describe(out)}`);
    }
    f.violations.push(...verifyStore(box.dataDir, { live, only: new Set(live.keys()) }));
  }
  for (const key of live.keys()) {
    const out = await cni(box, "DEL", key.split("/")[0]);
    if (out.code !== 0) f.violations.push(`DEL ${key} failed: ${describe(out)}`);
  }
  f.violations.push(...verifyStore(box.dataDir, { strict: true, only: new Set() }));
  m.rounds = rounds;
}

export const flockAvailable = () => existsSync(FLOCK) && spawnSync(FLOCK, ["--version"]).status === 0;
