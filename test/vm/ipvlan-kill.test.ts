// A killed ipvlan-attach ADD (kubelet's timeout, a node under pressure)
// leaves nothing that the runtime's follow-up DEL does not remove: the link,
// the side channel (node veth, routes, rules, records) and the addresses.
// The IPAM plugin ADD started is its own process: it ends with ipvlan-attach
// (lib/cni/delegator.ts), so no allocation can be recorded after the
// runtime's DEL has looked.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SeedTopology, type PodHandle } from "../scenario/seed-topology";

let topo: SeedTopology;
beforeAll(() => {
  topo = new SeedTopology().build();
});
afterAll(() => topo?.teardown());

/** Processes whose environment names this container (the plugin and its IPAM child). */
function pluginsOf(containerId: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, "latin1").includes(`CNI_CONTAINERID=${containerId}\0`)) pids.push(Number(pid));
    } catch {
      /* gone */
    }
  }
  return pids;
}

async function killedAdd(pod: PodHandle, afterMs: number): Promise<void> {
  const env = [`NODE_NAME=master`, `CNI_PATH=${topo.cniPath}`, "CNI_COMMAND=ADD", `CNI_CONTAINERID=${pod.containerId}`, `CNI_NETNS=${pod.netnsPath}`, "CNI_IFNAME=eth0"];
  const child = spawn("ip", ["netns", "exec", topo.nodeNetns("master"), "env", "-i", ...env, join(topo.cniPath, "ipvlan-attach")], { stdio: ["pipe", "ignore", "ignore"] });
  const exited = new Promise((r) => child.once("exit", r)); // may finish before the kill
  child.stdin.end(topo.nodeConfig("master"));
  await new Promise((r) => setTimeout(r, afterMs));
  child.kill("SIGKILL");
  await exited;
  for (let i = 0; i < 50 && pluginsOf(pod.containerId).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  expect(pluginsOf(pod.containerId), "an IPAM child outlived the killed ipvlan-attach").toEqual([]);
}

describe("ipvlan-attach killed during ADD", () => {
  // Spread over an ADD that takes ~1-3 s in the emulated guest.
  it.each([50, 300, 600, 900, 1200, 1500, 1800, 2000, 2200, 2600])("killed after %i ms: DEL leaves nothing", async (ms) => {
    const name = `kill${ms}`;
    const ns = `${name}-${topo.suffix}`;
    const pod: PodHandle = { name, node: "master", netns: ns, netnsPath: `/var/run/netns/${ns}`, containerId: `${name}-${topo.suffix}`, ifname: "eth0" };
    topo.addNetnsForTest(ns);
    await killedAdd(pod, ms);
    const del = topo.cni(pod, "DEL");
    expect(del.code, del.stdout + del.stderr).toBe(0);
    const node = topo.nodeNetns("master");
    expect((topo.ipJson(ns, "link") as { ifname: string }[]).map((l) => l.ifname)).toEqual(["lo"]);
    expect((topo.ipJson(node, "link") as { ifname: string }[]).filter((l) => l.ifname.startsWith("spd") || l.ifname.startsWith("ipv"))).toEqual([]);
    expect((topo.ipJson(node, "rule") as { table: string }[]).filter((r) => r.table === "500")).toEqual([]);
    expect(readdirSync(join(topo.dataDir("master"), "ips"))).toEqual([]);
    const state = topo.stateDir("master");
    expect(existsSync(state) ? readdirSync(state) : []).toEqual([]);
  });
});
