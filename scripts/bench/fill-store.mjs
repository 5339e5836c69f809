// Fills a spiderpool-ipam store with N allocations quickly, for the scale rows.
//
// The files are written by fill-store.ts, run under Bun so that it can use
// lib/store's own layout and encoders: the records and claims are exactly
// what StoreTx.commit writes (format version included); the hint is what
// setHint writes. Mode 0600 files in 0700 directories, but without the
// temp-file/rename/fsync protocol (a fresh store nobody else uses, filled
// once): 60,000 allocations take seconds instead of the minutes 60,000 ADDs
// would. The pool fingerprint comes from the plugin itself: the caller does
// one real ADD+DEL first, which leaves the hint file.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { ROOT } from "./lib.mjs";

const SCRIPT = fileURLToPath(new URL("./fill-store.ts", import.meta.url));

/**
 * Claims `count` consecutive IPv4 addresses starting at `first` (the pool's
 * ordinal 0) for pool `pool`, one attachment per address, and sets the pool's
 * hint past them, keeping the fingerprint the plugin wrote.
 */
export function fillStore({ dataDir, pool, first, count, network = "ipvlan-ens5", ifname = "eth0" }) {
  const bun = join(ROOT, "node_modules", ".bin", "bun");
  const run = spawnSync(bun, [SCRIPT, JSON.stringify({ dataDir, pool, first, count, network, ifname })], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`fill-store.ts failed (${run.status ?? run.signal}): ${run.stderr}`);
}
