// The crash experiment of scripts/reliability/crash.mjs, small and
// deterministic: 20 calls killed at evenly spread instants, and (with strace)
// a kill at every rename/fsync/unlink of ADD and DEL. After each kill the
// store loads, nothing is doubled or lost, and the runtime's follow-up (a
// retried ADD, DEL or GC) releases what the kill left.
import { beforeAll, describe, expect, it } from "vitest";
import { requireBuiltIpam } from "./ipam-harness";
import { hasStrace, runCrash, runSyscallKills } from "../../scripts/reliability/lib/crash.mjs";
import { missing, unless } from "../helpers/prerequisite";

beforeAll(requireBuiltIpam);

describe("spiderpool-ipam killed during ADD and DEL", () => {
  it("20 kills at evenly spread instants: no violation, nothing left at the end", async () => {
    const f = await runCrash({ runs: 20, seed: 5, mode: "even" });
    expect(f.violations).toEqual([]);
    expect(f.final).toEqual({ records: 0, claims: 0, strays: 0 });
    expect(f.finalProblems).toEqual([]);
    expect(f.killed).toBeGreaterThan(0);
  }, 120_000);

  it.skipIf(missing(unless(hasStrace(), "strace with fault injection (scripts/install-deps.sh installs it)")))("a kill at every rename, fsync and unlink of ADD and DEL (strace fault injection)", async () => {
    const f = await runSyscallKills({ syscalls: ["rename", "fsync", "unlink"] });
    expect(f.violations).toEqual([]);
    const states = [...f.landings.keys()].map((k) => k.replace(/ at \w+ #\d+/, ""));
    // The kills reached every intermediate state of the store.
    for (const state of [
      "ADD: before the record (temp file or directory left)",
      "ADD: record written, no claim",
      "ADD: record and some claims",
      "DEL: some claims released",
      "DEL: claims released, record left",
    ]) {
      expect(states).toContain(state);
    }
  }, 120_000);
});
