// The lock experiment of scripts/reliability/locks.mjs, small: a holder
// killed while an ADD waits (a flock(1) holder, and with strace a plugin
// stopped inside the lock), and a lock that stays held: code 11, no hang.
import { beforeAll, describe, expect, it } from "vitest";
import { requireBuiltIpam } from "./ipam-harness";
import { flockAvailable, runLocks } from "../../scripts/reliability/lib/locks.mjs";
import { hasStrace } from "../../scripts/reliability/lib/crash.mjs";

beforeAll(requireBuiltIpam);

describe.skipIf(!flockAvailable())("the store lock", () => {
  it("killed holders free it for the waiting ADD; a held lock ends in code 11 and writes nothing", async () => {
    const f = await runLocks({ kills: 3, timeouts: [200], repeats: 1, includeDefault: false, waiters: 3, realHolders: hasStrace() ? 2 : 0 });
    expect(f.violations).toEqual([]);
    expect(f.killedHolder).toHaveLength(3);
    // Far below the 10 s lockTimeoutMs of the waiting ADD: the lock was freed, not timed out.
    for (const d of [...f.killedHolder, ...f.killedPlugin]) expect(d).toBeLessThan(5_000);
    expect(f.timeouts).toHaveLength(1);
    expect(f.waiters?.count).toBe(3);
  }, 120_000);
});
