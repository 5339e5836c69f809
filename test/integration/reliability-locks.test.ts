// The lock experiment of scripts/reliability/locks.mjs, small: a holder
// killed while an ADD waits (a flock(1) holder, and with strace a plugin
// stopped inside the lock), a lock that stays held: code 11, no hang (also
// with SIGALRM blocked or ignored), and maintenance while ADDs wait.
import { beforeAll, describe, expect, it } from "vitest";
import { requireBuiltIpam } from "./ipam-harness";
import { flockAvailable, runLocks } from "../../scripts/reliability/lib/locks.mjs";
import { hasStrace } from "../../scripts/reliability/lib/crash.mjs";
import { missing, unless } from "../helpers/prerequisite";

beforeAll(requireBuiltIpam);

describe.skipIf(missing(unless(flockAvailable(), "flock(1) (util-linux)")))("the store lock", () => {
  it("killed holders free it for the waiting ADD; a held lock ends in code 11 and writes nothing", async () => {
    const f = await runLocks({ kills: 3, timeouts: [200], repeats: 1, includeDefault: false, waiters: 3, realHolders: hasStrace() ? 2 : 0, signalRepeats: 1, maintenanceRounds: 3 });
    expect(f.violations).toEqual([]);
    // Each waiting ADD (lockTimeoutMs 10 s) succeeded, which a timed-out wait
    // (code 11) would not: a violation otherwise. The lock was freed.
    expect(f.killedHolder).toHaveLength(3);
    expect(f.timeouts).toHaveLength(1);
    expect(f.waiters?.count).toBe(3);
    // SIGALRM blocked or ignored by the caller: still code 11, and a blocked
    // waiter still gets a freed lock (a hang or another answer is a violation).
    expect(f.signals.blocked).toHaveLength(1);
    expect(f.signals.ignored).toHaveLength(1);
    expect(f.signals.blockedAcquired).toHaveLength(1);
    // Maintenance ran while ADDs waited with claims pre-staged, and none failed.
    expect(f.maintenance.calls.get("ADD")).toBe(9);
    expect(f.maintenance.prestaged).toBeGreaterThan(0);
    expect(f.maintenance.failedAdds + f.maintenance.falseStrays).toBe(0);
  }, 120_000);
});
