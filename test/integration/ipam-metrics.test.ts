// `spiderpool-ipam metrics` and the ipam config's metricsFile, on the built
// binary: the text is valid exposition format, and its numbers are the store's.
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { cniOk, describeRun, runProcess } from "../helpers/cni";
import { parseExposition, sampleValue, type ExposedFamily } from "../helpers/prometheus";
import { IPAM_BIN, IpamSandbox, poolYaml, useIpamSandbox } from "./ipam-harness";

let box: IpamSandbox;
useIpamSandbox((b) => (box = b));

const V4 = { pool: "master-v4", ipversion: "4", node: "master" };
const V6 = { pool: "master-v6", ipversion: "6", node: "master" };

async function metrics(extra: string[] = []): Promise<Map<string, ExposedFamily>> {
  const out = await box.cli(["metrics", ...box.dirArgs(), "--node", "master", ...extra]);
  expect(out.code, describeRun(out)).toBe(0);
  return parseExposition(out.stdout);
}

/** Claims per pool straight from the store's file names. */
async function claimsIn(prefix: string): Promise<string> {
  return String((await box.claims()).filter((a) => a.startsWith(prefix)).length);
}

describe("metrics", () => {
  it("is valid exposition text: every family has HELP and TYPE, all gauges", async () => {
    const families = await metrics();
    expect([...families.keys()]).toEqual([
      "spiderpool_ippool_total_ips",
      "spiderpool_ippool_allocated_ips",
      "spiderpool_ippool_conflict_ips",
      "spiderpool_ippool_default",
      "spiderpool_ippool_disabled",
      "spiderpool_attachments_total",
    ]);
    for (const [name, f] of families) {
      expect(f.help, name).not.toBe("");
      expect(f.type, name).toBe("gauge");
    }
    // Only the node's own pools: worker1's are not reported on master.
    expect(families.get("spiderpool_ippool_total_ips")!.samples.map((s) => s.labels)).toEqual([V4, V6]);
  });

  it("counts match the store after ADDs and DELs", async () => {
    for (const id of ["a", "b", "c", "d"]) cniOk(await box.add(id));
    cniOk(await box.add("b", { ifname: "net1" }));
    cniOk(await box.del("c"));
    let m = await metrics();
    expect(sampleValue(m, "spiderpool_ippool_allocated_ips", V4)).toBe(await claimsIn("172.31."));
    expect(sampleValue(m, "spiderpool_ippool_allocated_ips", V4)).toBe("4");
    expect(sampleValue(m, "spiderpool_ippool_allocated_ips", V6)).toBe("4");
    expect(sampleValue(m, "spiderpool_ippool_total_ips", V4)).toBe("16");
    expect(sampleValue(m, "spiderpool_ippool_default", V4)).toBe("1");
    expect(sampleValue(m, "spiderpool_attachments_total", { node: "master" })).toBe(String((await box.attachments()).length));
    expect(sampleValue(m, "spiderpool_attachments_total", { node: "master" })).toBe("4");
    for (const id of ["a", "b", "d"]) cniOk(await box.del(id));
    cniOk(await box.del("b", { ifname: "net1" }));
    m = await metrics();
    expect(sampleValue(m, "spiderpool_ippool_allocated_ips", V4)).toBe("0");
    expect(sampleValue(m, "spiderpool_attachments_total", { node: "master" })).toBe("0");
  });

  it("prints IPv6 pool sizes beyond 2^53 exactly, and escapes label values", async () => {
    await box.writePoolFile(
      "big.yaml",
      poolYaml("big-v6", { subnet: "fd00::/16", ips: ["fd00::100-fd00:ffff:ffff:ffff:ffff:ffff:ffff:ffff"], gateway: "fd00::1", disable: true }),
    );
    const node = 'odd"node\\name';
    const out = await box.cli(["metrics", ...box.dirArgs(), "--node", node]);
    expect(out.code, describeRun(out)).toBe(0);
    const m = parseExposition(out.stdout);
    const big = { pool: "big-v6", ipversion: "6", node };
    expect(sampleValue(m, "spiderpool_ippool_total_ips", big)).toBe((2n ** 112n - 256n).toString());
    expect(sampleValue(m, "spiderpool_ippool_disabled", big)).toBe("1");
    expect(out.stdout).toContain('node="odd\\"node\\\\name"');
  });

  it("-o FILE writes the file atomically, 0644 even under umask 077, no temp file left", async () => {
    const outDir = join(box.root, "textfile");
    await mkdir(outDir);
    const file = join(outDir, "spiderpool.prom");
    cniOk(await box.add("a"));
    const args = ["metrics", ...box.dirArgs(), "--node", "master", "-o", file].map((a) => `'${a}'`).join(" ");
    const out = await runProcess("sh", ["-c", `umask 077; exec '${IPAM_BIN}' ${args}`]);
    expect(out.code, describeRun(out)).toBe(0);
    expect(out.stdout).toBe("");
    expect((await stat(file)).mode & 0o777).toBe(0o644);
    expect(await readdir(outDir)).toEqual(["spiderpool.prom"]);
    expect(sampleValue(parseExposition(await readFile(file, "utf8")), "spiderpool_ippool_allocated_ips", V4)).toBe("1");
  });

  it("fails clearly when the output directory is missing or a pool file is broken", async () => {
    const missing = await box.cli(["metrics", ...box.dirArgs(), "-o", join(box.root, "nope", "x.prom")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: .*nope/);
    await box.writePoolFile("broken.yaml", "spec: [unterminated\n");
    const broken = await box.cli(["metrics", ...box.dirArgs()]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain("broken.yaml");
  });
});

describe("ipam metricsFile", () => {
  let file: string;
  beforeEach(async () => {
    await mkdir(join(box.root, "textfile"));
    file = join(box.root, "textfile", "spiderpool.prom");
  });
  const withMetrics = () => ({ ipam: { metricsFile: file } });
  const fileMetrics = async () => parseExposition(await readFile(file, "utf8"));

  it("is refreshed by every successful ADD and DEL", async () => {
    cniOk(await box.add("a", withMetrics()));
    expect((await stat(file)).mode & 0o777).toBe(0o644);
    let m = await fileMetrics();
    expect(sampleValue(m, "spiderpool_ippool_allocated_ips", V4)).toBe("1");
    expect(sampleValue(m, "spiderpool_attachments_total", { node: "master" })).toBe("1");
    cniOk(await box.add("b", withMetrics()));
    expect(sampleValue(await fileMetrics(), "spiderpool_ippool_allocated_ips", V6)).toBe("2");
    cniOk(await box.del("a", withMetrics()));
    m = await fileMetrics();
    expect(sampleValue(m, "spiderpool_ippool_allocated_ips", V4)).toBe("1");
    expect(sampleValue(m, "spiderpool_attachments_total", { node: "master" })).toBe("1");
    // The file holds what the CLI prints.
    const cli = await box.cli(["metrics", ...box.dirArgs(), "--node", "master"]);
    expect(await readFile(file, "utf8")).toBe(cli.stdout);
    expect(await readdir(join(box.root, "textfile"))).toEqual(["spiderpool.prom"]);
  });

  it("is not touched without metricsFile, nor by a failed ADD", async () => {
    cniOk(await box.add("a"));
    expect(existsSync(file)).toBe(false);
    const failed = await box.add("w", { ...withMetrics(), node: "nowhere" });
    expect(failed.code).not.toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  it("never fails the CNI call: a refresh that cannot write is a warning on stderr", async () => {
    const bad = join(box.root, "no-such-dir", "spiderpool.prom");
    const add = await box.add("a", { ipam: { metricsFile: bad } });
    expect(add.code, describeRun(add)).toBe(0);
    expect(add.stderr).toContain(`metricsFile ${bad} not refreshed`);
    const del = await box.del("a", { ipam: { metricsFile: bad } });
    expect(del.code, describeRun(del)).toBe(0);
    expect(await box.claims()).toEqual([]);
  });

  it("a DEL whose pool files are broken still succeeds and says why the file was not refreshed", async () => {
    cniOk(await box.add("a", withMetrics()));
    await box.writePoolFile("broken.yaml", "spec: [unterminated\n");
    const del = await box.del("a", withMetrics());
    expect(del.code, describeRun(del)).toBe(0);
    expect(del.stderr).toContain("not refreshed: the pools could not be loaded");
  });

  it("after concurrent ADDs the file counts every one of them", async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `c${i}`);
    const outs = await Promise.all(ids.map((id) => box.add(id, withMetrics())));
    for (const o of outs) cniOk(o);
    const m = await fileMetrics();
    expect(sampleValue(m, "spiderpool_ippool_allocated_ips", V4)).toBe("12");
    expect(sampleValue(m, "spiderpool_attachments_total", { node: "master" })).toBe("12");
  });

  it("must be an absolute path (code 7)", async () => {
    const out = await box.add("a", { ipam: { metricsFile: "relative.prom" } });
    expect(out.code).toBe(1);
    expect(JSON.stringify(out.json)).toContain("ipam.metricsFile must be an absolute path");
  });
});
