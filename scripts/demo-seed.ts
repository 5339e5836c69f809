// The seed's AWS scenario, told step by step: build the VPC and two nodes,
// add two pods per node through our executables, show who got which address,
// ping across the VPC, CHECK, show the pools, DEL, show the pools again.
// The seed's network with the coordinator's address-conflict and gateway
// detection on: each ADD probes its IPv4 address and resolves its gateways.
// Run by `npm run demo` (inside a guest kernel when the host lacks ipvlan).
import { spawnSync } from "node:child_process";
import { SeedTopology, SEED_NODES, seedNetworkDetecting, type PodHandle } from "../test/scenario/seed-topology";

const say = (s = "") => process.stdout.write(s + "\n");
const step = (s: string) => say(`\n== ${s}`);
let failures = 0;
const mark = (ok: boolean) => {
  if (!ok) failures++;
  return ok ? "ok" : "FAILED";
};

const topo = new SeedTopology(seedNetworkDetecting);
try {
  step("Building the VPC router and the nodes (network namespaces)");
  topo.build();
  for (const n of SEED_NODES) say(`  node ${n.name.padEnd(8)} ens5 ${n.ipv4.padEnd(18)} ${n.ipv6.padEnd(26)} gateway ${n.gateway4.split("/")[0]} / ${n.gateway6.split("/")[0]}`);
  say(`  pools: the seed's master-v4, master-v6, worker1-v4, worker1-v6 in each node's poolDir`);
  say(`  network: ${JSON.stringify(JSON.parse(topo.nodeConfig("master")), (k, v) => (k === "poolDir" || k === "dataDir" ? undefined : v))}`);

  step("Adding two pods per node (ipvlan-attach ADD, spiderpool-ipam as its IPAM; conflict and gateway detection on)");
  const pods: PodHandle[] = [];
  for (const [node, name] of [["master", "nginx-m1"], ["master", "nginx-m2"], ["worker1", "nginx-w1"], ["worker1", "nginx-w2"]] as const) {
    const t0 = performance.now();
    const { pod, run } = topo.addPod(node, name);
    const ms = (performance.now() - t0).toFixed(0);
    if (run.code !== 0) {
      failures++;
      say(`  ${name} on ${node}: ADD FAILED: ${run.stdout.trim()}`);
      continue;
    }
    pods.push(pod);
    const ips = pod.result!.ips!.map((i) => i.address).join("  ");
    say(`  ${name.padEnd(9)} on ${node.padEnd(8)} eth0 ${pod.result!.interfaces![0]!.mac}  ${ips}   (${ms} ms)`);
  }

  step("Pinging: each pod to its gateways, across nodes and on the same node (IPv4 and IPv6)");
  const address = (p: PodHandle, v6: boolean) => p.result!.ips!.find((i) => i.address.includes(":") === v6)!.address.split("/")[0]!;
  for (const p of pods) {
    for (const ip of p.result!.ips!) say(`  ${p.name} -> gateway ${ip.gateway!.padEnd(22)} ${mark(topo.ping(p.netns, ip.gateway!))}`);
  }
  const byName = Object.fromEntries(pods.map((p) => [p.name, p]));
  for (const [from, to] of [["nginx-m1", "nginx-w1"], ["nginx-w2", "nginx-m2"], ["nginx-m1", "nginx-m2"]] as const) {
    const a = byName[from];
    const b = byName[to];
    if (!a || !b) continue;
    for (const v6 of [false, true]) say(`  ${from} -> ${to} ${address(b, v6).padEnd(30)} ${mark(topo.ping(a.netns, address(b, v6)))}`);
  }
  if (byName["nginx-m1"]) say(`  nginx-m1 -> node worker1 172.31.32.18        ${mark(topo.ping(byName["nginx-m1"].netns, "172.31.32.18"))}`);

  step("Pod <-> its own node, through the coordinator's veth side channel (plain ipvlan cannot do this)");
  for (const p of pods) {
    const node = SEED_NODES.find((n) => n.name === p.node)!;
    for (const target of [node.ipv4, node.ipv6].map((c) => c.split("/")[0]!)) {
      say(`  ${p.name} -> its node ${p.node.padEnd(8)} ${target.padEnd(24)} ${mark(topo.ping(p.netns, target))}`);
    }
    for (const v6 of [false, true]) {
      const target = address(p, v6);
      say(`  node ${p.node.padEnd(8)} -> ${p.name} ${target.padEnd(28)} ${mark(topo.ping(topo.nodeNetns(p.node), target))}`);
    }
  }

  step("CHECK on every pod");
  for (const p of pods) {
    const r = topo.check(p);
    say(`  ${p.name}: ${r.code === 0 ? "ok" : `FAILED ${r.stdout.trim()}`}`);
    if (r.code !== 0) failures++;
  }

  const showPools = () => {
    for (const n of ["master", "worker1"]) {
      const r = spawnSync(`${topo.cniPath}/spiderpool-ipam`, ["pools", "--pool-dir", topo.poolDir(n), "--data-dir", topo.dataDir(n), "--node", n], { encoding: "utf8" });
      say(`  on ${n}:`);
      for (const line of r.stdout.trimEnd().split("\n")) say(`    ${line}`);
    }
  };
  step("Pools as each node sees them (spiderpool-ipam pools)");
  showPools();

  step("Deleting the pods (ipvlan-attach DEL)");
  for (const p of pods) {
    const r = topo.cni(p, "DEL");
    const left = (topo.ipJson(p.netns, "link") as { ifname: string }[]).map((l) => l.ifname).filter((n) => n !== "lo");
    say(`  ${p.name}: DEL ${r.code === 0 ? "ok" : "FAILED"}, interfaces left: ${left.length ? left.join(",") : "none"}`);
    if (r.code !== 0 || left.length) failures++;
  }
  step("Pools after DEL");
  showPools();
} finally {
  topo.teardown();
}
say(failures === 0 ? "\nDemo finished: everything worked." : `\nDemo finished with ${failures} failure(s).`);
process.exit(failures === 0 ? 0 : 1);
