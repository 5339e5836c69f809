// A pod's network with ipvlan-attach + spiderpool-ipam against the reference
// ipvlan + host-local, in one kernel (the guest's when the host has no
// ipvlan), same run, alternating. Started by scripts/bench.mjs; writes its
// rows as JSON: { name, unit, ours, reference, goal?, note }.
//   bun scripts/bench-ipvlan.ts OUT.json RUNS EMPTY_EXECUTABLE
// EMPTY_EXECUTABLE: a Bun executable built with our flags that does nothing,
// for the burst's floor (scripts/bench/rows.mjs builds it on the host).
// Ours twice: installed as one file with links (the IPAM runs inside
// ipvlan-attach's process) and with spiderpool-ipam a separate copy (the IPAM
// executed, as for another version or another IPAM).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const [out = "/dev/stdout", runsText = "30", empty] = process.argv.slice(2);
const runs = Number(runsText);
const ROOT = join(import.meta.dirname, "..");
const REF = process.env.CNI_REFERENCE_DIR ?? "/usr/lib/cni";
const EXE = join(ROOT, "dist", "bin", "spiderpool-cni");
const suffix = Math.random().toString(36).slice(2, 8);
const node = `bnode-${suffix}`;
const pod = `bpod-${suffix}`;
const BURST = 20;
const burstPods = Array.from({ length: BURST }, (_, k) => `bpod${k}-${suffix}`);
const work = mkdtempSync(join(tmpdir(), "spd-bench-"));
chmodSync(work, 0o700);
const ip = (...a: string[]) => execFileSync("ip", a, { stdio: "ignore" });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** One IPv4 and one IPv6 pool for node "master" in `dir`, and host-local's ranges for the same addresses. */
function pools(dir: string, v4: [string, string, string, string], v6: [string, string, string, string]) {
  mkdirSync(dir, { mode: 0o700 });
  const doc = (name: string, [subnet, first, last, gateway]: string[]) =>
    `apiVersion: spiderpool.spidernet.io/v2beta1\nkind: SpiderIPPool\nmetadata:\n  name: ${name}\nspec:\n  subnet: ${subnet}\n  ips: ["${first}-${last}"]\n  gateway: ${gateway}\n  default: true\n  nodeName: [master]\n`;
  writeFileSync(join(dir, "pools.yaml"), `${doc("bench-v4", v4)}---\n${doc("bench-v6", v6)}`, { mode: 0o600 });
  const range = ([subnet, rangeStart, rangeEnd, gateway]: string[]) => [{ subnet, rangeStart, rangeEnd, gateway }];
  return [range(v4), range(v6)];
}

try {
  // One file and links: the IPAM in-process. A copy as spiderpool-ipam: executed.
  const inProcess = join(work, "bin");
  const executed = join(work, "bin-exec");
  mkdirSync(inProcess);
  mkdirSync(executed);
  copyFileSync(EXE, join(inProcess, "spiderpool-cni"));
  chmodSync(join(inProcess, "spiderpool-cni"), 0o755);
  for (const p of ["spiderpool-ipam", "ipvlan-attach"]) symlinkSync("spiderpool-cni", join(inProcess, p));
  symlinkSync(join(inProcess, "spiderpool-cni"), join(executed, "ipvlan-attach"));
  copyFileSync(EXE, join(executed, "spiderpool-ipam"));
  chmodSync(join(executed, "spiderpool-ipam"), 0o755);

  ip("netns", "add", node);
  ip("netns", "add", pod);
  for (const p of burstPods) ip("netns", "add", p);
  ip("-n", node, "link", "add", "ens5", "type", "veth", "peer", "name", "vpc0");
  ip("-n", node, "link", "set", "ens5", "up");
  ip("-n", node, "link", "set", "vpc0", "up");

  const confs = (poolDir: string, dataDir: string, ranges: unknown) => ({
    ours: JSON.stringify({ cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan-attach", master: "ens5", ipam: { type: "spiderpool-ipam", poolDir, dataDir: join(dataDir, "ours"), nodeName: "master" } }),
    // The reference's work only: no veth side channel to the node.
    oursBare: JSON.stringify({ cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan-attach", master: "ens5", coordinator: { enabled: false }, ipam: { type: "spiderpool-ipam", poolDir, dataDir: join(dataDir, "ours-bare"), nodeName: "master" } }),
    theirs: JSON.stringify({ cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan", master: "ens5", ipam: { type: "host-local", dataDir: join(dataDir, "theirs"), ranges, routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }] } }),
  });
  // The seed's master pools (16 addresses per family) for one pod at a time.
  const seed = confs(join(work, "pools"), join(work, "seed"), pools(join(work, "pools"), ["172.31.16.0/20", "172.31.28.16", "172.31.28.31", "172.31.16.1"], ["2406:da1e:c4:ed01::/64", "2406:da1e:c4:ed01:c57d::", "2406:da1e:c4:ed01:c57d::f", "2406:da1e:c4:ed01::1"]));
  // Room for the burst's pods.
  const wide = confs(join(work, "pools-burst"), join(work, "burst"), pools(join(work, "pools-burst"), ["10.80.0.0/24", "10.80.0.10", "10.80.0.250", "10.80.0.1"], ["fd00:80::/64", "fd00:80::10", "fd00:80::fa", "fd00:80::1"]));

  const cniEnv = (command: string, binDir: string, id: string, netns: string) =>
    [`CNI_COMMAND=${command}`, `CNI_CONTAINERID=${id}`, `CNI_NETNS=/var/run/netns/${netns}`, "CNI_IFNAME=eth0", `CNI_PATH=${binDir}:${REF}`];
  class CallFailed extends Error {}
  const call = (file: string, command: string, conf: string, id: string, netns = pod) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync("ip", ["netns", "exec", node, "env", ...cniEnv(command, dirname(file), id, netns), file], { input: conf, encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) {
      const state = (args: string[]) => spawnSync("ip", ["-n", netns, ...args], { encoding: "utf8" }).stdout;
      throw new CallFailed(`${file} ${command} ${id}: ${r.stdout}${r.stderr}\npod netns after it:\n${state(["-d", "addr"])}${state(["-6", "route", "show", "table", "all"])}${state(["-6", "rule"])}`);
    }
    return ms;
  };
  // A failed call of the reference is counted, shown and tried again with the
  // next id; a failure of ours ends the benchmark.
  const referenceFailures: string[] = [];
  const addDel = (file: string, conf: string, i: number): number => {
    try {
      return call(file, "ADD", conf, `b${i}`) + call(file, "DEL", conf, `b${i}`);
    } catch (e) {
      if (!(e instanceof CallFailed) || !file.startsWith(REF) || referenceFailures.length >= 3) throw e;
      referenceFailures.push((e as Error).message);
      process.stderr.write(`bench-ipvlan: the reference failed, trying again: ${(e as Error).message}\n`);
      spawnSync("ip", ["netns", "exec", node, "env", ...cniEnv("DEL", dirname(file), `b${i}`, pod), file], { input: conf });
      return addDel(file, conf, i + 1000);
    }
  };
  // `ip netns exec` itself costs the same for all; measure it to subtract.
  const baseline = () => {
    const t0 = process.hrtime.bigint();
    spawnSync("ip", ["netns", "exec", node, "true"]);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };

  const ours: number[] = [];
  const oursExec: number[] = [];
  const theirs: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const a = addDel(join(inProcess, "ipvlan-attach"), seed.ours, i);
    const b = addDel(join(executed, "ipvlan-attach"), seed.ours, i);
    const c = addDel(join(REF, "ipvlan"), seed.theirs, i);
    const z = 2 * baseline();
    if (i >= 2) (ours.push(a - z), oursExec.push(b - z), theirs.push(c - z), floor.push(z));
  }

  /** Wall time from starting BURST ADDs at once (one pod netns each) until all exited; their DELs follow, untimed. */
  const burst = async (file: string, conf: string, round: number) => {
    const one = (command: string, k: number) =>
      new Promise<void>((resolve, reject) => {
        const p = spawn("ip", ["netns", "exec", node, "env", ...cniEnv(command, dirname(file), `burst${round}-${k}`, burstPods[k]!), file], { stdio: ["pipe", "pipe", "pipe"] });
        let text = "";
        p.stdout.on("data", (d) => (text += d));
        p.stderr.on("data", (d) => (text += d));
        p.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${file} ${command} ${k}: ${text}`))));
        p.stdin.end(conf);
      });
    const t0 = process.hrtime.bigint();
    await Promise.all(burstPods.map((_, k) => one("ADD", k)));
    const took = Number(process.hrtime.bigint() - t0) / 1e6;
    await Promise.all(burstPods.map((_, k) => one("DEL", k)));
    return took;
  };
  /** The same start of BURST processes with an empty executable: the runtime's own cost, no work. */
  const floorBurst = async (file: string) => {
    const t0 = process.hrtime.bigint();
    await Promise.all(
      burstPods.map(
        (netns, k) =>
          new Promise<void>((resolve, reject) => {
            const p = spawn("ip", ["netns", "exec", node, "env", ...cniEnv("VERSION", dirname(file), `floor-${k}`, netns), file], { stdio: ["ignore", "ignore", "inherit"] });
            p.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${file}: exit ${code}`))));
          }),
      ),
    );
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const burstOurs: number[] = [];
  const burstBare: number[] = [];
  const burstTheirs: number[] = [];
  const burstFloor: number[] = [];
  const rounds = Math.max(3, Math.min(10, Math.ceil(runs / 5)));
  for (let r = 0; r < rounds + 1; r++) {
    const a = await burst(join(inProcess, "ipvlan-attach"), wide.ours, r);
    const b = await burst(join(REF, "ipvlan"), wide.theirs, r);
    const c = await burst(join(inProcess, "ipvlan-attach"), wide.oursBare, r);
    const d = empty ? await floorBurst(empty) : NaN;
    if (r >= 1) (burstOurs.push(a), burstTheirs.push(b), burstBare.push(c), burstFloor.push(d));
  }

  /** Peak RSS (MB) of one whole ADD process, GNU time's %M inside the node netns. */
  const rss = (file: string, conf: string, i: number) => {
    const report = join(work, "rss.txt");
    const r = spawnSync("ip", ["netns", "exec", node, "/usr/bin/time", "-f", "%M", "-o", report, "env", ...cniEnv("ADD", dirname(file), `rss${i}`, pod), file], { input: conf, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${file} ADD: ${r.stdout}${r.stderr}`);
    call(file, "DEL", conf, `rss${i}`);
    return Number(readFileSync(report, "utf8").trim().split("\n").pop()) / 1024;
  };
  const rssOurs: number[] = [];
  const rssTheirs: number[] = [];
  for (let i = 0; i < 5; i++) {
    rssOurs.push(rss(join(inProcess, "ipvlan-attach"), seed.ours, i));
    rssTheirs.push(rss(join(REF, "ipvlan"), seed.theirs, i));
  }

  const kernel = `kernel ${execFileSync("uname", ["-r"]).toString().trim()}`;
  const subtracted = `'ip netns exec' cost (${median(floor).toFixed(1)} ms per pair) subtracted`;
  const rows = [
    { name: "pod network ADD+DEL dual-stack: ipvlan-attach (IPAM in-process) vs ipvlan+host-local", unit: "ms", ours: median(ours), reference: median(theirs), goal: { ratio: 0.5 }, note: `${kernel}; ${subtracted}${referenceFailures.length ? `; the reference failed ${referenceFailures.length} time(s), tried again: ${referenceFailures[0]!.split("\n")[0]}` : ""}` },
    { name: "  same, IPAM executed (spiderpool-ipam another file): fallback path", unit: "ms", ours: median(oursExec), reference: median(theirs), note: `${kernel}; ${subtracted}` },
    { name: `${BURST} pods' ADDs at once (wall until all exit): ipvlan-attach vs ipvlan+host-local`, unit: "ms", ours: median(burstOurs), reference: median(burstTheirs), goal: { ratio: 0.6 }, note: `${kernel}; ${rounds} rounds; one netns per pod; 'ip netns exec' included for both`, samples: rounds },
    { name: "  same, coordinator off (the reference's work only)", unit: "ms", ours: median(burstBare), reference: median(burstTheirs), note: `${kernel}; ${rounds} rounds`, samples: rounds },
    ...(empty ? [{ name: `  floor: ${BURST} empty Bun executables at once vs the reference's ${BURST} ADDs: diagnostic`, unit: "ms", ours: median(burstFloor), reference: median(burstTheirs), note: `${kernel}; ${rounds} rounds; built with our flags`, samples: rounds }] : []),
    { name: "peak RSS of a pod ADD: ipvlan-attach with the IPAM in-process (ipvlan for scale)", unit: "MB", ours: median(rssOurs), reference: median(rssTheirs), goal: { max: 40 }, note: `${kernel}; the reference's IPAM is a second process, not counted`, samples: rssOurs.length },
  ];
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(rows) + "\n");
} finally {
  for (const ns of [pod, ...burstPods, node]) spawnSync("ip", ["netns", "del", ns]);
  rmSync(work, { recursive: true, force: true });
}
