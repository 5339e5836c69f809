// Concurrent ADD/DEL load on one dual-stack pool of 256 addresses per family,
// as kubelet starts and stops pods in parallel. Every answer is checked as it
// comes (no address held by two live attachments), the store is read at
// checkpoints (records, claims and the CLI's counts agree with what the
// runtime believes), and after everything is deleted nothing is left.
import { POOL_SIZE, addressesOf, cli, cni, describe, inPools, makeSandbox, percentile, readStore, rng, verifyStore } from "./common.mjs";

/**
 * workers: concurrent invocations; ops: ADD/DEL calls in total (the final
 * clean-up DELs are extra); checkpoints: pauses to read the store.
 */
export async function runLoad({ workers = 16, ops = 10_000, seed = 1, checkpoints = 4, log = () => {}, timeLimitMs = 30 * 60_000 } = {}) {
  const box = makeSandbox("spiderpool-load-");
  const r = rng(seed);
  // Each worker keeps at most this many attachments: together below the pool size.
  const cap = Math.max(1, Math.floor((POOL_SIZE - 16) / workers));
  const ipam = { lockTimeoutMs: 60_000 };
  const live = new Map(); // key -> [v4, v6]
  const owner = new Map(); // address -> key
  const f = {
    workers,
    ops,
    adds: 0,
    dels: 0,
    readds: 0,
    unknownDels: 0,
    lockRetries: 0,
    errors: [],
    duplicates: [],
    mismatches: [],
    addMs: [],
    delMs: [],
    peakLive: 0,
    checkpoints: [],
    leaked: undefined,
    finalCheck: undefined,
    seconds: 0,
  };
  const started = Date.now();
  let done = 0;
  let serial = 0;

  /** One CNI call, retried on code 11 (try again later) as a runtime does. */
  async function call(command, id) {
    for (;;) {
      const out = await cni(box, command, id, { ipam, timeoutMs: 120_000 });
      if (out.code !== 0 && out.stdout.includes('"code":11')) {
        f.lockRetries++;
        continue;
      }
      return out;
    }
  }

  async function add(id, mine) {
    const out = await call("ADD", id);
    f.addMs.push(out.ms);
    f.adds++;
    if (out.code !== 0) {
      f.errors.push(`ADD ${id}: ${describe(out)}`);
      await call("DEL", id); // what the runtime does after a failed ADD
      return;
    }
    const got = addressesOf(out.stdout);
    if (got.length !== 2 || !got[0].includes(".") || !got[1].includes(":") || !got.every(inPools)) {
      f.errors.push(`ADD ${id}: unexpected addresses ${got.join(", ")}`);
    }
    for (const a of got) {
      const holder = owner.get(a);
      if (holder !== undefined && holder !== `${id}/eth0`) f.duplicates.push(`${a} given to ${id}/eth0 while ${holder} holds it`);
      owner.set(a, `${id}/eth0`);
    }
    live.set(`${id}/eth0`, got);
    mine.push(id);
    f.peakLive = Math.max(f.peakLive, live.size);
  }

  async function del(id, mine) {
    const key = `${id}/eth0`;
    // Forget it before the call: from now on the runtime no longer counts on it.
    const held = live.get(key) ?? [];
    live.delete(key);
    for (const a of held) if (owner.get(a) === key) owner.delete(a);
    const out = await call("DEL", id);
    f.delMs.push(out.ms);
    f.dels++;
    if (out.code !== 0) f.errors.push(`DEL ${id}: ${describe(out)}`);
    const i = mine.indexOf(id);
    if (i >= 0) mine.splice(i, 1);
  }

  async function worker(w, mine, until) {
    while (done < until) {
      if (Date.now() - started > timeLimitMs) throw new Error(`time limit of ${timeLimitMs / 1000} s reached after ${done} operations`);
      done++;
      const x = r.next();
      if (mine.length > 0 && x < 0.04) {
        // A repeated ADD (kubelet retry) must answer the same addresses.
        const id = r.pick(mine);
        const out = await call("ADD", id);
        f.readds++;
        f.addMs.push(out.ms);
        if (out.code !== 0) f.errors.push(`re-ADD ${id}: ${describe(out)}`);
        else if (addressesOf(out.stdout).join() !== (live.get(`${id}/eth0`) ?? []).join()) {
          f.mismatches.push(`re-ADD ${id} answered ${addressesOf(out.stdout).join(", ")}, not ${live.get(`${id}/eth0`)?.join(", ")}`);
        }
      } else if (x < 0.06) {
        const out = await call("DEL", `never-added-${w}-${serial++}`);
        f.unknownDels++;
        f.delMs.push(out.ms);
        if (out.code !== 0) f.errors.push(`DEL of an unknown container: ${describe(out)}`);
      } else if (mine.length === 0 || (mine.length < cap && x < 0.7)) {
        await add(`w${w}-${serial++}`, mine);
      } else {
        await del(r.pick(mine), mine);
      }
    }
  }

  /** Reads the store and the CLI's counts; they must match what the runtime believes. */
  async function checkpoint(label) {
    const violations = verifyStore(box.dataDir, { live, strict: true, only: new Set(live.keys()) });
    const s = readStore(box.dataDir);
    if (s.records.size !== live.size) violations.push(`${s.records.size} records for ${live.size} live attachments`);
    if (s.claims.size !== 2 * live.size) violations.push(`${s.claims.size} claims for ${live.size} live dual-stack attachments`);
    const pools = await cli(["pools", "-o", "json", "--pool-dir", box.poolDir, "--data-dir", box.dataDir, "--node", "node-a"]);
    let counts = "";
    if (pools.code !== 0) violations.push(`pools CLI failed: ${describe(pools)}`);
    else {
      const rows = JSON.parse(pools.stdout).pools;
      counts = rows.map((p) => `${p.name}=${p.allocated}`).join(" ");
      for (const p of rows) if (p.allocated !== live.size) violations.push(`pools CLI counts ${p.allocated} in ${p.name}, ${live.size} are live`);
    }
    f.checkpoints.push({ label, live: live.size, records: s.records.size, claims: s.claims.size, counts, violations });
    log(`  ${label}: ${live.size} live, ${s.records.size} records, ${s.claims.size} claims, CLI ${counts}: ${violations.length === 0 ? "consistent" : violations.slice(0, 3).join("; ")}`);
  }

  try {
    const mine = Array.from({ length: workers }, () => []);
    for (let c = 1; c <= checkpoints; c++) {
      const until = Math.round((ops * c) / checkpoints);
      await Promise.all(mine.map((m, w) => worker(w, m, until)));
      await checkpoint(`after ${until} operations`);
    }
    // Everything deleted (concurrently): nothing may stay behind.
    const rest = [...live.keys()].map((k) => k.split("/")[0]);
    const queue = [...rest];
    await Promise.all(
      mine.map(async (m) => {
        while (queue.length > 0) await del(queue.pop(), m);
      }),
    );
    const s = readStore(box.dataDir);
    f.leaked = { records: s.records.size, claims: s.claims.size, strays: s.strays.length };
    const check = await cli(["store", "check", "-o", "json", "--data-dir", box.dataDir]);
    f.finalCheck = check.code === 0 ? JSON.parse(check.stdout).problems : [`store check failed: ${describe(check)}`];
    await checkpoint("after deleting everything");
    f.seconds = (Date.now() - started) / 1000;
    f.p = {
      add50: percentile(f.addMs, 50),
      add95: percentile(f.addMs, 95),
      add99: percentile(f.addMs, 99),
      addMax: Math.max(...f.addMs),
      del50: percentile(f.delMs, 50),
      del95: percentile(f.delMs, 95),
      del99: percentile(f.delMs, 99),
      delMax: Math.max(...f.delMs),
    };
    return f;
  } finally {
    box.cleanup();
  }
}
