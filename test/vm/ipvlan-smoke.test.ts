// Smoke test of the kernel the VM tests run on: ipvlan works. Uses `ip` as scaffolding:
// a dummy `ens5` (the master) in its own netns, two ipvlan L2 slaves on it moved into two
// further namespaces, with addresses from TEST-NET-1, pinging each other both ways.
// Needs root and a kernel with ipvlan: run it through scripts/vm/run.sh (see
// scripts/vm/vitest.vm.config.ts).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const suffix = `${process.pid}`;
const nsMaster = `vmsmoke-master-${suffix}`;
const nsA = `vmsmoke-a-${suffix}`;
const nsB = `vmsmoke-b-${suffix}`;
const addrA = "192.0.2.10";
const addrB = "192.0.2.11";

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}
const ip = (...args: string[]): string => run("ip", args);

// iputils' ping where installed, else busybox's (busybox-static is installed for the VM).
const pingCmd: string[] = ["/usr/bin/ping", "/bin/ping"].some((p) => existsSync(p)) ? ["ping"] : ["busybox", "ping"];
function ping(ns: string, to: string): string {
  return run("ip", ["netns", "exec", ns, ...pingCmd, "-c", "2", "-W", "5", to]);
}

/** The fields of `ip -j -d link show` this test reads. */
interface IpLink {
  address?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
}
function link(ns: string, name: string): IpLink {
  const parsed = JSON.parse(ip("-n", ns, "-j", "-d", "link", "show", "dev", name)) as IpLink[];
  expect(parsed).toHaveLength(1);
  return parsed[0]!;
}

describe("ipvlan on this kernel", () => {
  beforeAll(() => {
    expect(process.getuid?.(), "network namespaces need root").toBe(0);
    for (const ns of [nsMaster, nsA, nsB]) ip("netns", "add", ns);
    ip("-n", nsMaster, "link", "add", "ens5", "type", "dummy");
    ip("-n", nsMaster, "link", "set", "ens5", "up");
    // Slaves are created beside their master, then moved: the usual CNI ipvlan flow.
    for (const [ns, addr, slave] of [
      [nsA, addrA, "ipvl-a"],
      [nsB, addrB, "ipvl-b"],
    ] as const) {
      ip("-n", nsMaster, "link", "add", slave, "link", "ens5", "type", "ipvlan", "mode", "l2");
      ip("-n", nsMaster, "link", "set", slave, "netns", ns);
      ip("-n", ns, "link", "set", slave, "name", "eth0");
      ip("-n", ns, "addr", "add", `${addr}/24`, "dev", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
      ip("-n", ns, "link", "set", "lo", "up");
    }
  });

  afterAll(() => {
    // Deleting a namespace deletes its links; ens5 going takes any slave left with it.
    for (const ns of [nsA, nsB, nsMaster]) {
      try {
        ip("netns", "del", ns);
      } catch {
        // never created (setup failed early)
      }
    }
  });

  it("creates L2 slaves that share the master's MAC address", () => {
    const master = link(nsMaster, "ens5");
    for (const ns of [nsA, nsB]) {
      const slave = link(ns, "eth0");
      expect(slave.linkinfo?.info_kind).toBe("ipvlan");
      expect(slave.linkinfo?.info_data?.mode).toBe("l2");
      expect(slave.address).toBe(master.address);
      expect(slave.flags).toContain("UP");
    }
  });

  it("passes traffic between two slaves in different namespaces, both ways", () => {
    expect(ping(nsA, addrB)).toMatch(/2 packets received|2 received/);
    expect(ping(nsB, addrA)).toMatch(/2 packets received|2 received/);
  });
});
