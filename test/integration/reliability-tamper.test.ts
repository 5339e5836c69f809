// The tamper experiment of scripts/reliability/tamper.mjs, whole (it is a
// fixed list): FIFOs, character devices and symbolic links in place of store
// files and directories, and dataDir or poolDir reached through a directory
// another user could replace. Every command ends by itself with success or a
// fitting CNI error, nothing is written outside dataDir, no address twice.
import { beforeAll, describe, expect, it } from "vitest";
import { requireBuiltIpam } from "./ipam-harness";
import { runTamper } from "../../scripts/reliability/lib/tamper.mjs";

beforeAll(requireBuiltIpam);

describe("a tampered store", () => {
  it("every planted FIFO, device, link and untrusted ancestor: no hang, a fitting answer, nothing outside dataDir", async () => {
    const f = await runTamper();
    expect(f.violations).toEqual([]);
    expect(f.hangs).toBe(0);
    expect(f.cases).toBe(110);
    // Both refusals occur: code 5 for a store file that is not one, code 7 for an untrusted path.
    expect(f.byCode.get(5)).toBeGreaterThan(0);
    expect(f.byCode.get(7)).toBeGreaterThan(0);
  }, 120_000);
});
