// ipvlan-attach + spiderpool-ipam ADD+DEL against the reference ipvlan +
// host-local, in one kernel (the guest's when the host has no ipvlan), same
// run, alternating. Started by scripts/bench.mjs; writes its rows as JSON.
//   bun scripts/bench-ipvlan.ts OUT.json RUNS
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const [out = "/dev/stdout", runsText = "30"] = process.argv.slice(2);
const runs = Number(runsText);
const ROOT = join(import.meta.dirname, "..");
const REF = process.env.CNI_REFERENCE_DIR ?? "/usr/lib/cni";
const suffix = Math.random().toString(36).slice(2, 8);
const node = `bnode-${suffix}`;
const pod = `bpod-${suffix}`;
const work = mkdtempSync(join(tmpdir(), "spd-bench-"));
chmodSync(work, 0o700);
const ip = (...a: string[]) => execFileSync("ip", a, { stdio: "ignore" });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

try {
  const bin = join(work, "bin");
  mkdirSync(bin);
  for (const p of ["spiderpool-ipam", "ipvlan-attach"]) copyFileSync(join(ROOT, "dist", "bin", p), join(bin, p));
  ip("netns", "add", node);
  ip("netns", "add", pod);
  ip("-n", node, "link", "add", "ens5", "type", "veth", "peer", "name", "vpc0");
  ip("-n", node, "link", "set", "ens5", "up");
  ip("-n", node, "link", "set", "vpc0", "up");
  const poolDir = join(work, "pools");
  mkdirSync(poolDir, { mode: 0o700 });
  copyFileSync(join(ROOT, "test", "fixtures", "pools", "seed-pools.yaml"), join(poolDir, "seed.yaml"));
  const ours = JSON.stringify({
    cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan-attach", master: "ens5",
    ipam: { type: "spiderpool-ipam", poolDir, dataDir: join(work, "ours"), nodeName: "master" },
  });
  const theirs = JSON.stringify({
    cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan", master: "ens5",
    ipam: { type: "host-local", dataDir: join(work, "theirs"), ranges: [[{ subnet: "172.31.16.0/20", rangeStart: "172.31.28.16", rangeEnd: "172.31.28.31", gateway: "172.31.16.1" }], [{ subnet: "2406:da1e:c4:ed01::/64", rangeStart: "2406:da1e:c4:ed01:c57d::", rangeEnd: "2406:da1e:c4:ed01:c57d::f", gateway: "2406:da1e:c4:ed01::1" }]], routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }] },
  });
  const call = (file: string, command: string, conf: string, i: number) => {
    const env = { CNI_COMMAND: command, CNI_CONTAINERID: `b${i}`, CNI_NETNS: `/var/run/netns/${pod}`, CNI_IFNAME: "eth0", CNI_PATH: `${bin}:${REF}` };
    const t0 = process.hrtime.bigint();
    const r = spawnSync("ip", ["netns", "exec", node, "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), file], { input: conf, encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${file} ${command}: ${r.stdout}${r.stderr}`);
    return ms;
  };
  // `ip netns exec` itself costs the same for both; measure it to subtract.
  const baseline = (i: number) => {
    const t0 = process.hrtime.bigint();
    spawnSync("ip", ["netns", "exec", node, "true"]);
    return Number(process.hrtime.bigint() - t0) / 1e6 + i * 0;
  };
  const a: number[] = [];
  const b: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const x = call(join(bin, "ipvlan-attach"), "ADD", ours, i) + call(join(bin, "ipvlan-attach"), "DEL", ours, i);
    const y = call(join(REF, "ipvlan"), "ADD", theirs, i) + call(join(REF, "ipvlan"), "DEL", theirs, i);
    const z = 2 * baseline(i);
    if (i >= 2) (a.push(x - z), b.push(y - z), c.push(z));
  }
  const row = {
    name: "ipvlan ADD+DEL dual-stack: ipvlan-attach+spiderpool-ipam vs ipvlan+host-local",
    ours_ms: median(a),
    reference_ms: median(b),
    ratio: median(a) / median(b),
    goal: 1.5,
    note: `kernel ${execFileSync("uname", ["-r"]).toString().trim()}; 'ip netns exec' cost (${median(c).toFixed(1)} ms per pair) subtracted`,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify([row]) + "\n");
} finally {
  spawnSync("ip", ["netns", "del", pod]);
  spawnSync("ip", ["netns", "del", node]);
  rmSync(work, { recursive: true, force: true });
}
