// `spiderpool-ipam nad` on the built binary (Bun's own YAML parser): the
// seed's SpiderMultusConfig to its NAD, the output forms, and refusals.
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { cniOk, describeRun, execCni, runProcess } from "../helpers/cni";
import { IPAM_BIN, IpamSandbox, REPO_ROOT, addressesOf, useIpamSandbox } from "./ipam-harness";

const SEED_SMC = join(REPO_ROOT, "test", "fixtures", "multus", "seed-ipvlan-ens5.yaml");
const DETECT_SMC = join(REPO_ROOT, "test", "fixtures", "multus", "seed-ipvlan-ens5-detect.yaml");
const IPVLAN_BIN = join(REPO_ROOT, "dist", "bin", "ipvlan-attach");
const SEED_CONFIG = {
  cniVersion: "0.3.1",
  name: "ipvlan-ens5",
  plugins: [{ type: "ipvlan-attach", master: "ens5", ipam: { type: "spiderpool-ipam" } }],
};
let box: IpamSandbox;
useIpamSandbox((b) => (box = b));

const nad = (argv: string[], stdin?: string) => runProcess(IPAM_BIN, ["nad", ...argv], stdin === undefined ? {} : { stdin });

describe("nad", () => {
  it("turns the seed's SpiderMultusConfig into its NetworkAttachmentDefinition YAML", async () => {
    const out = await nad(["-f", SEED_SMC]);
    expect(out.code, describeRun(out)).toBe(0);
    const doc = parse(out.stdout) as { spec: { config: string } };
    expect(doc).toEqual({
      apiVersion: "k8s.cni.cncf.io/v1",
      kind: "NetworkAttachmentDefinition",
      metadata: { name: "ipvlan-ens5", namespace: "kube-system" },
      spec: { config: expect.any(String) },
    });
    expect(JSON.parse(doc.spec.config)).toEqual(SEED_CONFIG);
  });

  it("-o json prints the object, -o conflist only the network configuration; - reads stdin", async () => {
    const json = await nad(["-f", SEED_SMC, "-o", "json"]);
    expect(JSON.parse(JSON.parse(json.stdout).spec.config)).toEqual(SEED_CONFIG);
    const conflist = await nad(["-f", "-", "-o", "conflist"], readFileSync(SEED_SMC, "utf8"));
    expect(conflist.code, describeRun(conflist)).toBe(0);
    expect(JSON.parse(conflist.stdout)).toEqual(SEED_CONFIG);
  });

  it("the generated ipam block is one spiderpool-ipam accepts: ADD gives the seed's first addresses", async () => {
    const conflist = JSON.parse((await nad(["-f", SEED_SMC, "-o", "conflist"])).stdout) as typeof SEED_CONFIG;
    const plugin = conflist.plugins[0]!;
    const conf = { cniVersion: conflist.cniVersion, name: conflist.name, ...plugin, ipam: { ...plugin.ipam, poolDir: box.poolDir, dataDir: box.dataDir } };
    const out = await execCni(IPAM_BIN, { command: "ADD", containerId: "pod1", env: { NODE_NAME: "master" } }, conf);
    expect(addressesOf(cniOk(out))).toEqual(["172.31.28.16", "2406:da1e:c4:ed01:c57d::"]);
  });

  it("maps spec.coordinator to ipvlan-attach's coordinator keys, and ipvlan-attach accepts them", async () => {
    const out = await nad(["-f", DETECT_SMC, "-o", "conflist"]);
    expect(out.code, describeRun(out)).toBe(0);
    const conflist = JSON.parse(out.stdout) as typeof SEED_CONFIG;
    expect(conflist.plugins[0]).toEqual({
      type: "ipvlan-attach",
      master: "ens5",
      coordinator: { enabled: true, hijackCIDR: ["169.254.20.10/32"], detectIPConflict: true, detectGateway: true },
      ipam: { type: "spiderpool-ipam" },
    });
    // ADD reads its configuration before it opens the pod's namespace: a namespace that does not
    // exist (code 3) means the configuration passed; a refused key would be code 2 or 7.
    const plugin = { cniVersion: conflist.cniVersion, name: conflist.name, ...conflist.plugins[0]! };
    const netns = `/var/run/netns/nad-missing-${process.pid}-${Date.now()}`;
    const add = await execCni(IPVLAN_BIN, { command: "ADD", containerId: "nad1", netns }, plugin);
    expect(add.json, describeRun(add)).toMatchObject({ code: 3, msg: expect.stringContaining(netns) });
    // The keys reach ipvlan-attach's parser: mode l3 has no ARP, so both checks are refused there.
    const l3 = await execCni(IPVLAN_BIN, { command: "ADD", containerId: "nad1", netns }, { ...plugin, mode: "l3" });
    expect(l3.json, describeRun(l3)).toMatchObject({ code: 7, msg: expect.stringMatching(/coordinator\.detectIPConflict.*coordinator\.detectGateway.*l2/) });
  });

  it("refuses a coordinator field it cannot honour, by name and with the reason", async () => {
    const file = join(box.root, "pod-cidr.yaml");
    await writeFile(file, `${readFileSync(SEED_SMC, "utf8")}  coordinator:\n    mode: underlay\n    podCIDRType: cluster\n`);
    const out = await nad(["-f", file]);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe("");
    expect(out.stderr).toBe(
      `error: ${file}: SpiderMultusConfig kube-system/ipvlan-ens5: spec.coordinator.podCIDRType: unsupported: "cluster" routes the cluster's pod CIDRs through the node, ` +
        `which upstream's SpiderCoordinator reads from the cluster; nad reads no cluster and ipvlan-attach has no pod-CIDR setting: use "none" (what ipvlan-attach does) and list the pod CIDRs in hijackCIDR\n`,
    );
  });

  it("converts several documents into one YAML stream", async () => {
    const file = join(box.root, "two.yaml");
    const second = ["apiVersion: spiderpool.spidernet.io/v2beta1", "kind: SpiderMultusConfig", "metadata:", "  name: ipvlan-ens6", "  namespace: kube-system",
      "spec:", "  cniType: ipvlan", "  ipvlan:", "    master: [ens6]", "    vlanID: 100", "    ippools:", "      ipv4: [worker1-v4]"].join("\n");
    await writeFile(file, `${readFileSync(SEED_SMC, "utf8")}---\n${second}\n`);
    const out = await nad(["-f", file]);
    expect(out.code, describeRun(out)).toBe(0);
    const docs = out.stdout.split(/^---$/m).map((d) => parse(d) as { metadata: { name: string }; spec: { config: string } });
    expect(docs.map((d) => d.metadata.name)).toEqual(["ipvlan-ens5", "ipvlan-ens6"]);
    expect(JSON.parse(docs[1]!.spec.config).plugins[0]).toEqual({
      type: "ipvlan-attach",
      master: "ens6",
      vlanID: 100,
      ipam: { type: "spiderpool-ipam", default_ipv4_ippool: ["worker1-v4"] },
    });
    const conflist = await nad(["-f", file, "-o", "conflist"]);
    expect(conflist.code).toBe(1);
    expect(conflist.stderr).toContain("-o conflist prints one network configuration");
  });

  it("refuses an unsupported field by name (exit 1, one line)", async () => {
    const file = join(box.root, "bond.yaml");
    await writeFile(file, "apiVersion: spiderpool.spidernet.io/v2beta1\nkind: SpiderMultusConfig\nmetadata: {name: b, namespace: kube-system}\nspec:\n  cniType: ipvlan\n  ipvlan:\n    master: [ens5, ens6]\n    bond: {name: bond0, mode: 1}\n");
    const out = await nad(["-f", file]);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe("");
    expect(out.stderr).toBe(`error: ${file}: SpiderMultusConfig kube-system/b: spec.ipvlan.bond: unsupported: a bond is built by upstream's ifacer plugin, which we do not have; create the bond on the node and name it as the single master\n`);
  });

  it.each([
    [["-f", "/nonexistent/smc.yaml"], "cannot read /nonexistent/smc.yaml"],
    [[], "nad needs -f FILE"],
    [["-f", SEED_SMC, "-o", "table"], 'unknown output format "table"'],
  ])("fails clearly: %j", async (argv, text) => {
    const out = await nad(argv);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(text);
  });

  it("fails on YAML that does not parse, and on a file without any SpiderMultusConfig", async () => {
    const broken = join(box.root, "broken.yaml");
    await writeFile(broken, "spec: [unterminated\n");
    const out = await nad(["-f", broken]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`${broken}: cannot parse as YAML`);
    const empty = join(box.root, "empty.yaml");
    await writeFile(empty, "# nothing\n");
    expect((await nad(["-f", empty])).stderr).toContain("no SpiderMultusConfig in it");
  });
});
