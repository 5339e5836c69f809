// The fuzz experiment of scripts/reliability/fuzz.mjs, small and seeded: 300
// hostile cases across the environment (names that are not UTF-8), stdin,
// CNI_ARGS, pool files (deep nesting, 100,000 entries) and log settings. Each
// answer is one CNI error object with a fitting code, the store never
// changes and no path is created outside dataDir.
import { beforeAll, describe, expect, it } from "vitest";
import { requireBuiltIpam } from "./ipam-harness";
import { KINDS, runFuzz } from "../../scripts/reliability/lib/fuzz.mjs";

beforeAll(requireBuiltIpam);

describe("hostile input", () => {
  it("300 generated cases (seed 42): one fitting CNI error each, no store change, no path outside dataDir", async () => {
    const f = await runFuzz({ seed: 42, count: 300, concurrency: 2 });
    expect(f.failures).toEqual([]);
    expect(f.storeChanges).toBe(0);
    expect(f.escapes).toBe(0);
    expect(f.cases).toBe(300);
    // The seed reaches every kind of hostile input.
    const missing = KINDS.filter((k) => !f.byKind.has(k) && (f.delegate || k !== "delegate-path"));
    expect(missing).toEqual([]);
  }, 120_000);
});
