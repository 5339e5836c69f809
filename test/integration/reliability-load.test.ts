// The load experiment of scripts/reliability/load.mjs, small and seeded:
// 4 workers, 200 ADD/DEL on a 256-address dual-stack pool. Nothing given
// twice, the store agrees with the runtime at every checkpoint, nothing left.
import { beforeAll, describe, expect, it } from "vitest";
import { requireBuiltIpam } from "./ipam-harness";
import { runLoad } from "../../scripts/reliability/lib/load.mjs";

beforeAll(requireBuiltIpam);

describe("concurrent ADD/DEL load", () => {
  it("4 workers x 200 operations: no address twice, consistent checkpoints, nothing leaked", async () => {
    const f = await runLoad({ workers: 4, ops: 200, seed: 42, checkpoints: 2 });
    expect(f.errors).toEqual([]);
    expect(f.duplicates).toEqual([]);
    expect(f.mismatches).toEqual([]);
    expect(f.checkpoints.flatMap((c) => c.violations)).toEqual([]);
    expect(f.checkpoints).toHaveLength(3); // two during the load, one after deleting everything
    expect(f.leaked).toEqual({ records: 0, claims: 0, strays: 0 });
    expect(f.finalCheck).toEqual([]);
    expect(f.adds).toBeGreaterThan(50);
    expect(f.readds).toBeGreaterThan(0);
  }, 120_000);
});
