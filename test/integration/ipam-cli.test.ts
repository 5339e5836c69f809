// The pool CLI of the built spiderpool-ipam binary (run without CNI_COMMAND,
// as a person on the node runs it): pools, validate, release.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { cniOk, describeRun } from "../helpers/cni";
import { IpamSandbox, SEED_POOLS_FILE, addressesOf, poolYaml, useIpamSandbox } from "./ipam-harness";

interface PoolRow {
  name: string;
  version: number;
  subnet: string;
  allocated: number;
  total: string | number;
  default: boolean;
  nodes: string[];
}

let box: IpamSandbox;
useIpamSandbox((b) => (box = b));


/** The table's rows as arrays of cells (columns are separated by 2+ spaces). */
const tableRows = (stdout: string) =>
  stdout
    .trimEnd()
    .split("\n")
    .map((line) => line.trim().split(/\s{2,}/));

describe("pools", () => {
  it("prints the node's pools as a table with allocated counts", async () => {
    for (const id of ["a", "b", "c"]) cniOk(await box.add(id));
    cniOk(await box.add("w", { node: "worker1" }));
    const out = await box.cli(["pools", ...box.dirArgs(), "--node", "master"]);
    expect(out.code, describeRun(out)).toBe(0);
    expect(tableRows(out.stdout)).toEqual([
      ["NAME", "VERSION", "SUBNET", "ALLOCATED", "CONFLICTS", "TOTAL", "DEFAULT", "NODES", "SHARED"],
      ["master-v4", "4", "172.31.16.0/20", "3", "0", "16", "true", "master", "no"],
      ["master-v6", "6", "2406:da1e:c4:ed01::/64", "3", "0", "16", "true", "master", "no"],
    ]);
  });

  it("-o json lists the pools with their counts for scripts", async () => {
    cniOk(await box.add("a"));
    cniOk(await box.add("b", { top: { args: { cni: { ippool: { ipv4: ["master-v4"] } } } } }));
    const out = await box.cli(["pools", "-o", "json", ...box.dirArgs(), "--node", "master"]);
    expect(out.code, describeRun(out)).toBe(0);
    const json = JSON.parse(out.stdout) as { node: string; pools: PoolRow[] };
    expect(json.node).toBe("master");
    const summary = json.pools.map((p) => ({ name: p.name, allocated: p.allocated, total: String(p.total), version: p.version }));
    expect(summary).toEqual([
      { name: "master-v4", allocated: 2, total: "16", version: 4 },
      { name: "master-v6", allocated: 1, total: "16", version: 6 },
    ]);
  });

  it("--all-nodes shows every pool; the node comes from NODE_NAME when --node is absent", async () => {
    const all = await box.cli(["pools", ...box.dirArgs(), "--all-nodes"]);
    expect(tableRows(all.stdout).slice(1).map((r) => r[0])).toEqual(["master-v4", "master-v6", "worker1-v4", "worker1-v6"]);
    const fromEnv = await box.cli(["pools", ...box.dirArgs()], { NODE_NAME: "worker1" });
    expect(fromEnv.code, describeRun(fromEnv)).toBe(0);
    expect(tableRows(fromEnv.stdout).slice(1).map((r) => r[0])).toEqual(["worker1-v4", "worker1-v6"]);
  });

  it("counts allocations even when the data directory was never used", async () => {
    const out = await box.cli(["pools", "-o", "json", ...box.dirArgs(), "--node", "master"]);
    expect(out.code, describeRun(out)).toBe(0);
    expect((JSON.parse(out.stdout) as { pools: PoolRow[] }).pools.map((p) => p.allocated)).toEqual([0, 0]);
  });

  it("fails naming the file when a pool file is broken", async () => {
    const file = await box.writePoolFile("broken.yaml", "spec: [unterminated\n");
    const out = await box.cli(["pools", ...box.dirArgs(), "--node", "master"]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain(file);
  });

  it("refuses an unknown output format", async () => {
    const out = await box.cli(["pools", "-o", "yaml", ...box.dirArgs()]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain("yaml");
  });
});

describe("validate", () => {
  it("accepts the seed file unchanged (exit 0) and lists its pools", async () => {
    const out = await box.cli(["validate", SEED_POOLS_FILE]);
    expect(out.code, describeRun(out)).toBe(0);
    for (const name of ["master-v4", "master-v6", "worker1-v4", "worker1-v6"]) expect(out.stdout).toContain(name);
    expect(out.stdout).toContain("4 pool(s) valid");
  });

  it("rejects a bad file with a message naming the file, the pool and the field", async () => {
    const file = join(box.root, "bad.yaml");
    await writeFile(file, poolYaml("bad-subnet", { subnet: "10.0.0.5/24", ips: ["10.0.0.10"] }));
    const out = await box.cli(["validate", file]);
    expect(out.code).not.toBe(0);
    expect(out.code).not.toBeNull();
    expect(out.stderr).toContain(file);
    expect(out.stderr).toContain("bad-subnet");
    expect(out.stderr).toContain("spec.subnet");
    expect(out.stderr).toContain("10.0.0.0/24");
    // A person reads this: one clear line, no stack trace or source dump.
    expect(out.stderr).not.toMatch(/\bat .*\(|\$bunfs/);
    expect(out.stdout).not.toContain("valid");
  });

  it("finds overlaps between the files it is given", async () => {
    const file = join(box.root, "overlap.yaml");
    await writeFile(file, poolYaml("overlap-v4", { subnet: "172.31.16.0/21", ips: ["172.31.17.1-172.31.17.5"] }));
    const out = await box.cli(["validate", SEED_POOLS_FILE, file]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain("overlap-v4");
  });

  it("fails without a file", async () => {
    const out = await box.cli(["validate"]);
    expect(out.code).not.toBe(0);
  });
});

describe("release", () => {
  beforeEach(async () => {
    cniOk(await box.add("a", { ifname: "eth0" })); // .16
    cniOk(await box.add("a", { ifname: "net1" })); // .17
    cniOk(await box.add("b", { ifname: "eth0" })); // .18
  });

  it("--container-id --ifname frees one interface, --container-id the rest", async () => {
    const one = await box.cli(["release", "--container-id", "a", "--ifname", "net1", ...box.dirArgs()]);
    expect(one.code, describeRun(one)).toBe(0);
    expect(one.stdout).toContain("a/net1");
    expect(one.stdout).toContain("172.31.28.17");
    expect(await box.attachments()).toEqual(["a/eth0", "b/eth0"]);

    const rest = await box.cli(["release", "--container-id", "a", ...box.dirArgs()]);
    expect(rest.code, describeRun(rest)).toBe(0);
    expect(rest.stdout).toContain("a/eth0");
    expect(await box.attachments()).toEqual(["b/eth0"]);
    expect(await box.claims()).toEqual(["172.31.28.18", "2406:da1e:c4:ed01:c57d::2"]);

    // The released addresses are the first free ones again.
    expect(addressesOf(cniOk(await box.add("c")))).toEqual(["172.31.28.16", "2406:da1e:c4:ed01:c57d::"]);
  });

  it("says so, and succeeds, when nothing is recorded for the container", async () => {
    const out = await box.cli(["release", "--container-id", "unknown", ...box.dirArgs()]);
    expect(out.code, describeRun(out)).toBe(0);
    expect(out.stdout).toContain("nothing recorded");
    expect(await box.attachments()).toHaveLength(3);
  });

  it("needs a valid --container-id", async () => {
    const missing = await box.cli(["release", ...box.dirArgs()]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("--container-id");
    const bad = await box.cli(["release", "--container-id", "../a", ...box.dirArgs()]);
    expect(bad.code).not.toBe(0);
    expect(await box.attachments()).toHaveLength(3);
  });
});

describe("help", () => {
  it("--help names the commands", async () => {
    const out = await box.cli(["--help"]);
    expect(out.code).toBe(0);
    for (const word of ["pools", "validate", "release"]) expect(out.stdout).toContain(word);
  });

  it("an unknown command is an error", async () => {
    const out = await box.cli(["frobnicate"]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain("frobnicate");
  });
});
