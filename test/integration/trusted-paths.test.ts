// poolDir and metricsFile get dataDir's rule (lib/sys/trusted-path.ts): a
// directory on the way that another user owns (or may write without the
// sticky bit) is refused, so no one else can move the pools read or the
// metrics written elsewhere. A FIFO or link in the metrics file's place is
// replaced, never written through, and never hangs the call.
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cniError, cniOk, describeRun } from "../helpers/cni";
import { foreignDetour, NOBODY } from "../helpers/tmp";
import { IpamSandbox, SEED_POOLS_FILE, useIpamSandbox } from "./ipam-harness";

let box: IpamSandbox;
const tmp = useIpamSandbox((b) => (box = b));


describe("poolDir", () => {
  it("below a directory another user owns is refused with code 7 naming it", async () => {
    const { real, foreign, via } = await foreignDetour(tmp);
    mkdirSync(join(real, "pools"), { mode: 0o700 });
    writeFileSync(join(real, "pools", "seed.yaml"), readFileSync(SEED_POOLS_FILE), { mode: 0o600 });
    for (const out of [await box.add("pod-a", { ipam: { poolDir: join(via, "pools") } }), await box.status({ ipam: { poolDir: join(via, "pools") } })]) {
      expect(cniError(out).code, describeRun(out)).toBe(7);
      expect(cniError(out).msg).toContain(`poolDir ${join(via, "pools")} is not safe to use: ${foreign} on its path is owned by uid ${NOBODY}`);
    }
    expect(await box.claims()).toEqual([]);
    // The same directory named by its own path is fine.
    cniOk(await box.add("pod-a", { ipam: { poolDir: join(real, "pools") } }));
  });
});

describe("metricsFile", () => {
  it("below a directory another user owns is not written (a warning; the ADD itself succeeds)", async () => {
    const { real, foreign, via } = await foreignDetour(tmp);
    const out = await box.add("pod-a", { ipam: { metricsFile: join(via, "ipam.prom") } });
    cniOk(out);
    expect(out.stderr).toContain(`metricsFile ${join(via, "ipam.prom")} not refreshed: metricsFile ${join(via, "ipam.prom")} is not safe to use: ${foreign} on its path is owned by uid ${NOBODY}`);
    expect(readdirSync(real)).toEqual([]);

    const cli = await box.cli(["metrics", ...box.dirArgs(), "--node", "master", "-o", join(via, "cli.prom")]);
    expect(cli.code, describeRun(cli)).not.toBe(0);
    expect(cli.stderr + cli.stdout).toContain(`${foreign} on its path is owned by uid ${NOBODY}`);
    expect(readdirSync(real)).toEqual([]);
  });

  it("a FIFO or a symbolic link in its place is replaced by the file, never written through, and the call does not hang", async () => {
    const dir = await tmp.make("spiderpool-metrics-");
    const fifo = join(dir, "fifo.prom");
    execFileSync("mkfifo", ["-m", "600", fifo]);
    const target = join(dir, "target");
    writeFileSync(target, "untouched\n", { mode: 0o600 });
    const link = join(dir, "link.prom");
    symlinkSync(target, link);
    for (const file of [fifo, link]) {
      const out = await box.add(`pod-${file.endsWith("fifo.prom") ? "f" : "l"}`, { ipam: { metricsFile: file }, timeoutMs: 20_000 });
      expect(out.signal, describeRun(out)).toBeNull();
      cniOk(out);
      expect(out.stderr).toBe("");
      expect(lstatSync(file).isFile()).toBe(true);
      expect(readFileSync(file, "utf8")).toContain("spiderpool_ippool_allocated_ips");
    }
    expect(readFileSync(target, "utf8")).toBe("untouched\n");
    expect(existsSync(join(dir, "fifo.prom"))).toBe(true);
  });
});
