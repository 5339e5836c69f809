// Input nested far deeper than any real configuration (a pool file of
// [[[...]]] 200,000 deep, the same inside an inline pool or anywhere in the
// network configuration on stdin) is a configuration error, code 7 naming
// where it is, from the built executables: never a stack overflow (code 199).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cniError, cniOk, describeRun, execCni } from "../helpers/cni";
import { IPAM_BIN, IpamSandbox, REPO_ROOT, addressesOf, useIpamSandbox } from "./ipam-harness";

const IPVLAN_BIN = join(REPO_ROOT, "dist", "bin", "ipvlan-attach");
const DEPTH = 200_000;
const deepJson = (depth = DEPTH) => "[".repeat(depth) + "]".repeat(depth);

let box: IpamSandbox;
useIpamSandbox((b) => (box = b));

/** The network configuration as text, with `deep` spliced in as raw JSON at the marker. */
function confWith(deep: string, place: (conf: Record<string, unknown>) => void): string {
  const conf = box.conf();
  place(conf);
  return JSON.stringify(conf).replace('"<DEEP>"', deep);
}

const addRaw = (stdin: string) => execCni(IPAM_BIN, { command: "ADD", containerId: "deep" }, stdin);

describe("deep nesting", () => {
  it("a pool file of [[[...]]] 200,000 deep is code 7 naming the file; without it ADD works again", async () => {
    const file = await box.writePoolFile("deep.json", deepJson());
    const err = cniError(await box.add("c1"));
    expect(err.code).toBe(7);
    expect(err.msg).toBe(`${file}: document 1 nests deeper than 100 levels (at [0][0][0][0]…)`);
    await box.writePoolFile("deep.json", "[]");
    expect(addressesOf(cniOk(await box.add("c1")))).toHaveLength(2);
  });

  it("a YAML pool file too deep for the YAML parser itself is code 7 naming the file", async () => {
    const file = await box.writePoolFile("deep.yaml", `spec: ${deepJson(20_000)}\n`);
    const err = cniError(await box.add("c1"));
    expect(err.code).toBe(7);
    expect(err.msg).toContain(`${file}: cannot parse pool file as YAML: YAML nests too deeply to parse`);
  });

  it("an inline pool 200,000 deep is code 7 naming ipam.ippools", async () => {
    const err = cniError(await addRaw(confWith(deepJson(), (c) => ((c.ipam as Record<string, unknown>).ippools = ["<DEEP>"]))));
    expect(err.code).toBe(7);
    expect(err.msg).toBe("network configuration on stdin nests deeper than 100 levels (at ipam.ippools[0][0]…)");
  });

  it.each([
    ["an unknown ipam key", (c: Record<string, unknown>) => ((c.ipam as Record<string, unknown>).extra = "<DEEP>"), "ipam.extra[0][0]…"],
    ["ipam.log_level", (c: Record<string, unknown>) => ((c.ipam as Record<string, unknown>).log_level = "<DEEP>"), "ipam.log_level[0][0]…"],
    ["cniVersion", (c: Record<string, unknown>) => (c.cniVersion = "<DEEP>"), "cniVersion[0][0][0]…"],
    ["runtimeConfig", (c: Record<string, unknown>) => (c.runtimeConfig = { ips: "<DEEP>" }), "runtimeConfig.ips[0][0]…"],
  ])("the network configuration deep under %s is code 7 naming where", async (_, place, where) => {
    const out = await addRaw(confWith(deepJson(), place));
    const err = cniError(out);
    expect(err.code, describeRun(out)).toBe(7);
    expect(err.msg).toBe(`network configuration on stdin nests deeper than 100 levels (at ${where})`);
  });

  it("ipvlan-attach refuses deep nesting on stdin the same way", async () => {
    const conf = { cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan-attach", master: "lo", extra: "<DEEP>" };
    const out = await execCni(IPVLAN_BIN, { command: "ADD", containerId: "deep" }, JSON.stringify(conf).replace('"<DEEP>"', deepJson()));
    expect(cniError(out)).toMatchObject({ code: 7, msg: "network configuration on stdin nests deeper than 100 levels (at extra[0][0][0]…)" });
  });

  it("ordinary nesting (pod annotations as JSON in args, a List pool file) keeps working", async () => {
    const annotation = JSON.stringify([{ interface: "eth0", ipv4: ["master-v4"], ipv6: ["master-v6"] }]);
    await box.writePoolFile("list.json", JSON.stringify({ apiVersion: "v1", kind: "List", items: [] }));
    const out = await box.add("c1", { top: { args: { cni: { ippools: annotation } }, runtimeConfig: { ips: [] } } });
    expect(addressesOf(cniOk(out))).toHaveLength(2);
  });

  it("the CLI (validate, nad, --config) refuses deep files with one clear line", async () => {
    const file = join(box.root, "deep.json");
    await writeFile(file, deepJson());
    const validate = await box.cli(["validate", file]);
    expect(validate.code, describeRun(validate)).toBe(1);
    expect(validate.stderr).toBe(`error: ${file}: document 1 nests deeper than 100 levels (at [0][0][0][0]…)\n`);

    const smc = join(box.root, "smc.yaml");
    const chained = JSON.stringify(`{"type":"tuning","x":${deepJson()}}`);
    const text = `apiVersion: spiderpool.spidernet.io/v2beta1\nkind: SpiderMultusConfig\nmetadata:\n  name: n1\n  namespace: kube-system\nspec:\n  cniType: ipvlan\n  ipvlan:\n    master: [ens5]\n  chainCNIJsonData:\n  - ${chained}\n`;
    await writeFile(smc, text);
    const nad = await box.cli(["nad", "-f", smc]);
    expect(nad.code, describeRun(nad)).toBe(1);
    expect(nad.stderr).toBe(`error: ${smc}: SpiderMultusConfig kube-system/n1: spec.chainCNIJsonData[0]: nests deeper than 100 levels (at x[0][0][0]…)\n`);

    const conf = join(box.root, "deep.conf");
    await writeFile(conf, confWith(deepJson(), (c) => ((c.ipam as Record<string, unknown>).log_level = "<DEEP>")));
    const pools = await box.cli(["pools", "--config", conf]);
    expect(pools.code, describeRun(pools)).toBe(1);
    expect(pools.stderr).toBe(`error: --config ${conf}: nests deeper than 100 levels (at ipam.log_level[0][0]…)\n`);
  });
});
