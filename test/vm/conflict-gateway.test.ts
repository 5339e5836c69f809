// ipvlan-attach's address conflict and gateway detection (coordinator
// detectIPConflict / detectGateway) in a kernel with ipvlan, against a
// foreign host on the "VPC segment": the peer end of the node's ens5 veth, in
// a namespace of its own, holding the pool's first addresses and the
// gateways. What a conflict leaves: code 103 naming the address and the
// foreign MAC, nothing in the pod, the address quarantined in the store, and
// the runtime's retry (DEL, ADD) getting the next address. Run it with:
//   bash scripts/vm/run.sh -- npx vitest run --config scripts/vm/vitest.vm.config.ts test/vm/conflict-gateway.test.ts
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BIN_DIR, cniError, describeRun, Lab, LAB_NODE, ok, POOL_V4, POOL_V6, spiderPool, type Json, type Pod } from "./helpers/lab";

const NETWORK = "lab-conflict";

interface CniOk {
  ips: { address: string; gateway?: string }[];
}

interface PoolCount {
  name: string;
  allocated: number;
  conflicts?: number;
}

/** One ARP frame seen by the capture: kernel receive time (ms), op, sender MAC and addresses. */
interface Captured {
  t: number;
  op: number;
  sha: string;
  sip: string;
  tip: string;
}

// A capture of the ARP frames an interface receives, with the kernel's receive
// timestamps (SO_TIMESTAMPNS), so the probe timing measured is the wire's, not
// this process's. Prints "ready" once bound; one JSON line per frame once its
// stdin closes. Debian's python3 rather than a version manager's shim on PATH,
// and -I -S (no site or user modules): process starts are slow under TCG.
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const CAPTURE = String.raw`
import json, select, socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.setsockopt(socket.SOL_SOCKET, 35, 1)  # SO_TIMESTAMPNS
s.bind((sys.argv[1], 0x0806))
print("ready", flush=True)
frames = []
while True:
    ready, _, _ = select.select([s, sys.stdin], [], [])
    if s in ready:
        data, anc, _, _ = s.recvmsg(2048, 64)
        t = next((struct.unpack("qq", d[:16]) for lvl, typ, d in anc if lvl == socket.SOL_SOCKET and typ == 35), None)
        if len(data) >= 42 and t is not None:
            frames.append({"t": t[0] * 1000 + t[1] / 1e6, "op": struct.unpack("!H", data[20:22])[0], "sha": data[22:28].hex(":"),
                           "sip": socket.inet_ntoa(data[28:32]), "tip": socket.inet_ntoa(data[38:42])})
    if sys.stdin in ready and sys.stdin.read() == "":
        break
for f in frames:
    print(json.dumps(f))
`;

class Capture {
  private out = "";
  private constructor(private readonly child: ChildProcess) {}

  /** Starts capturing on `dev` in `netns`; resolves once the socket is bound. */
  static start(netns: string, dev: string): Promise<Capture> {
    const child = spawn("ip", ["netns", "exec", netns, PYTHON, "-I", "-S", "-c", CAPTURE, dev], { stdio: ["pipe", "pipe", "pipe"] });
    const capture = new Capture(child);
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    return new Promise((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        capture.out += d.toString();
        if (capture.out.startsWith("ready\n")) resolve(capture);
      });
      child.on("exit", (code) => reject(new Error(`capture exited (${code}) before it was ready: ${err}`)));
    });
  }

  /** Ends the capture and returns what it saw. */
  stop(): Promise<Captured[]> {
    return new Promise((resolve) => {
      this.child.removeAllListeners("exit");
      this.child.on("exit", () =>
        resolve(
          this.out
            .split("\n")
            .slice(1)
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l) as Captured),
        ),
      );
      this.child.stdin!.end();
    });
  }
}

describe("ipvlan-attach conflict and gateway detection", () => {
  let lab: Lab;
  let node: string;
  /** The foreign host (and the VPC's router) on the master's segment. */
  let foreign: string;
  let foreignMac: string;
  let masterMac: string;

  beforeAll(() => {
    expect(process.getuid?.(), "network namespaces need root").toBe(0);
    lab = new Lab("ivconf");
    const n = lab.node("node", { veth: true });
    node = n.netns;
    foreign = n.peer!;
    // The pools' first addresses (192.0.2.10, 2001:db8:1::10) and both gateways.
    lab.ipBatch(foreign, [
      "addr add 192.0.2.10/24 dev eth0",
      "addr add 192.0.2.1/24 dev eth0",
      "addr add 2001:db8:1::10/64 dev eth0 nodad",
      "addr add 2001:db8:1::1/64 dev eth0 nodad",
    ]);
    foreignMac = lab.link(foreign, "eth0")!.address!;
    masterMac = lab.link(node, "ens5")!.address!;
  });
  afterEach(() => lab?.removePods());
  afterAll(() => lab?.teardown());

  const DETECT = { detectIPConflict: true, detectGateway: true };
  const conf = (ipam: Json, coordinator: Json = DETECT, extra: Json = {}): Json => ({
    cniVersion: "1.0.0",
    name: NETWORK,
    type: "ipvlan-attach",
    master: "ens5",
    ipam,
    coordinator,
    ...extra,
  });

  /** A store with its pools in files, so the CLI reads the same pools as the plugin. */
  const store = (name: string, pools: Json[]) => {
    const { ipam, dataDir } = lab.spiderIpam(name, pools, { inline: false });
    return { ipam, dataDir, poolDir: (ipam as { poolDir: string }).poolDir };
  };

  function cli(...args: string[]): ReturnType<typeof spawnSync> & { stdout: string } {
    return spawnSync(join(BIN_DIR, "spiderpool-ipam"), args, { encoding: "utf8" });
  }

  function poolCounts(s: { dataDir: string; poolDir: string }): Record<string, PoolCount> {
    const r = cli("pools", "--pool-dir", s.poolDir, "--data-dir", s.dataDir, "--node", LAB_NODE, "-o", "json");
    expect(r.status, `pools: ${r.stdout}${r.stderr}`).toBe(0);
    return Object.fromEntries((JSON.parse(r.stdout) as { pools: PoolCount[] }).pools.map((p) => [p.name, p]));
  }

  function expectStoreConsistent(dataDir: string): void {
    const r = cli("store", "check", "--data-dir", dataDir);
    expect(r.status, `store check: ${r.stdout}${r.stderr}`).toBe(0);
  }

  function expectPodEmpty(pod: Pod): void {
    expect(lab.links(pod.netns).map((l) => l.ifname)).toEqual(["lo"]);
    // The side channel's node end went too.
    expect(lab.links(node).map((l) => l.ifname).sort()).toEqual(["ens5", "lo"]);
  }

  const rpFilter = (pod: Pod, dev: string) => lab.ip("netns", "exec", pod.netns, "sysctl", "-n", `net.ipv4.conf.${dev}.rp_filter`).trim();

  const pings = (pod: Pod, to: string) => spawnSync("ip", ["netns", "exec", pod.netns, "ping", "-c", "1", "-W", "5", to]).status === 0;

  it("a foreign host already holding the pool's first IPv4 address: code 103 naming it and its MAC, quarantined; the retry gets the second and reaches it and the gateway", () => {
    const s = store("v4", [POOL_V4]);
    const pod = lab.pod("v4");
    const r = lab.cni(node, pod, "ADD", conf(s.ipam));
    const e = cniError(r);
    expect(e.code, describeRun(r)).toBe(103);
    expect(e.msg).toContain("192.0.2.10");
    expect(e.msg).toContain(foreignMac);
    expectPodEmpty(pod);
    const quarantined = poolCounts(s)["lab-v4"]!;
    expect(quarantined.conflicts).toBe(1);
    expectStoreConsistent(s.dataDir);

    // The runtime's retry: DEL, then ADD again.
    ok(lab.cni(node, pod, "DEL", conf(s.ipam)));
    const podRPFilter = rpFilter(pod, "all");
    const result = ok<CniOk>(lab.cni(node, pod, "ADD", conf(s.ipam)));
    expect(result.ips.map((ip) => ip.address)).toEqual(["192.0.2.11/24"]);
    // Without podRPFilter the pod's rp_filter is left alone.
    expect(rpFilter(pod, "all")).toBe(podRPFilter);
    expect(pings(pod, "192.0.2.10")).toBe(true);
    expect(pings(pod, "192.0.2.1")).toBe(true);
    expect(poolCounts(s)["lab-v4"]).toMatchObject({ allocated: quarantined.allocated + 1, conflicts: 1 });
    // The foreign host keeps its address.
    expect(lab.addresses(foreign, "eth0").map((a) => a.local)).toContain("192.0.2.10");
    ok(lab.cni(node, pod, "DEL", conf(s.ipam, DETECT, { prevResult: result })));
    expect(poolCounts(s)["lab-v4"]).toMatchObject({ allocated: quarantined.allocated, conflicts: 1 });
    expectStoreConsistent(s.dataDir);
  });

  it("once the foreign host has left, release --conflicts frees the quarantined address and the next ADD gets it", () => {
    const s = store("released", [POOL_V4]);
    const first = lab.pod("rel1");
    expect(cniError(lab.cni(node, first, "ADD", conf(s.ipam))).code).toBe(103);
    ok(lab.cni(node, first, "DEL", conf(s.ipam)));
    expect(poolCounts(s)["lab-v4"]!.conflicts).toBe(1);
    // 192.0.2.10 is eth0's primary address: without promotion its secondaries (the gateway) would go with it.
    lab.ip("netns", "exec", foreign, "sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=1");
    lab.ipBatch(foreign, ["addr del 192.0.2.10/24 dev eth0"]);
    try {
      const released = cli("release", "--conflicts", "192.0.2.10", "--pool-dir", s.poolDir, "--data-dir", s.dataDir);
      expect(released.status, `${released.stdout}${released.stderr}`).toBe(0);
      expect(released.stdout).toContain("192.0.2.10");
      expect(poolCounts(s)["lab-v4"]).toMatchObject({ allocated: 0, conflicts: 0 });
      const second = lab.pod("rel2");
      const result = ok<CniOk>(lab.cni(node, second, "ADD", conf(s.ipam)));
      expect(result.ips.map((ip) => ip.address)).toEqual(["192.0.2.10/24"]);
      expect(pings(second, "192.0.2.1")).toBe(true);
      ok(lab.cni(node, second, "DEL", conf(s.ipam, DETECT, { prevResult: result })));
    } finally {
      lab.ipBatch(foreign, ["addr add 192.0.2.10/24 dev eth0"]);
    }
    expectStoreConsistent(s.dataDir);
  });

  it("no conflict: ADD succeeds after three probes from 0.0.0.0 within the window, and announces the address once it is on the interface; podRPFilter set in the pod", async () => {
    const s = store("free", [spiderPool("lab-free", { subnet: "192.0.2.0/24", ips: ["192.0.2.20-192.0.2.30"], gateway: "192.0.2.1" })]);
    const pod = lab.pod("free");
    const WINDOW = 600;
    const capture = await Capture.start(foreign, "eth0");
    let frames: Captured[];
    let result: CniOk;
    try {
      result = ok<CniOk>(lab.cni(node, pod, "ADD", conf(s.ipam, { ...DETECT, conflictProbeMs: WINDOW, podRPFilter: 2 })));
    } finally {
      frames = await capture.stop();
    }
    expect(result.ips.map((ip) => ip.address)).toEqual(["192.0.2.20/24"]);
    const ours = frames.filter((f) => f.sha === masterMac);
    const probes = ours.filter((f) => f.op === 1 && f.sip === "0.0.0.0" && f.tip === "192.0.2.20");
    const announcements = ours.filter((f) => f.op === 1 && f.sip === "192.0.2.20" && f.tip === "192.0.2.20");
    expect(probes, JSON.stringify(frames)).toHaveLength(3);
    expect(announcements, JSON.stringify(frames)).toHaveLength(1);
    // Spread inside the window, the address used only after it (the whole window listened to),
    // and then at once: the probe adds its window, not more.
    const first = probes[0]!.t;
    expect(probes[2]!.t - first).toBeLessThan(WINDOW);
    expect(probes[1]!.t - first).toBeGreaterThan(WINDOW / 3 - 50);
    expect(announcements[0]!.t - first).toBeGreaterThanOrEqual(WINDOW - 50);
    expect(announcements[0]!.t - first).toBeLessThan(WINDOW + 1000);
    // Nothing came from the pod's address before the announcement.
    expect(ours.filter((f) => f.sip === "192.0.2.20" && f.t < announcements[0]!.t)).toEqual([]);
    expect(pings(pod, "192.0.2.1")).toBe(true);
    expect([rpFilter(pod, "all"), rpFilter(pod, "eth0")]).toEqual(["2", "2"]);
    ok(lab.cni(node, pod, "DEL", conf(s.ipam, DETECT, { prevResult: result })));
    expect(poolCounts(s)["lab-free"]).toMatchObject({ allocated: 0, conflicts: 0 });
  });

  it("a pool whose gateway nobody answers for: code 111 naming it, nothing left behind, nothing quarantined", () => {
    const s = store("nogw", [spiderPool("lab-nogw", { subnet: "192.0.2.0/24", ips: ["192.0.2.40-192.0.2.45"], gateway: "192.0.2.254" })]);
    const pod = lab.pod("nogw");
    const r = lab.cni(node, pod, "ADD", conf(s.ipam, { ...DETECT, gatewayTimeoutMs: 500 }));
    const e = cniError(r);
    expect(e.code, describeRun(r)).toBe(111);
    expect(e.msg).toMatch(/gateway 192\.0\.2\.254 did not answer on eth0 within 500 ms/);
    expectPodEmpty(pod);
    expect(poolCounts(s)["lab-nogw"]).toMatchObject({ allocated: 0, conflicts: 0 });
    expectStoreConsistent(s.dataDir);
    // Without detectGateway the same pool gives an address.
    const result = ok<CniOk>(lab.cni(node, pod, "ADD", conf(s.ipam, { detectIPConflict: true })));
    expect(result.ips.map((ip) => ip.address)).toEqual(["192.0.2.40/24"]);
    ok(lab.cni(node, pod, "DEL", conf(s.ipam, { detectIPConflict: true }, { prevResult: result })));
  });

  it("IPv6: a foreign host already holding the pool's first address fails DAD: code 103, quarantined; the retry gets the second", () => {
    const s = store("v6", [POOL_V6]);
    const pod = lab.pod("v6");
    const r = lab.cni(node, pod, "ADD", conf(s.ipam));
    const e = cniError(r);
    expect(e.code, describeRun(r)).toBe(103);
    expect(e.msg).toMatch(/2001:db8:1::10 is already used by another host/);
    expectPodEmpty(pod);
    expect(poolCounts(s)["lab-v6"]!.conflicts).toBe(1);
    expectStoreConsistent(s.dataDir);

    ok(lab.cni(node, pod, "DEL", conf(s.ipam)));
    const result = ok<CniOk>(lab.cni(node, pod, "ADD", conf(s.ipam)));
    expect(result.ips.map((ip) => ip.address)).toEqual(["2001:db8:1::11/64"]);
    expect(pings(pod, "2001:db8:1::10")).toBe(true);
    expect(pings(pod, "2001:db8:1::1")).toBe(true);
    ok(lab.cni(node, pod, "DEL", conf(s.ipam, DETECT, { prevResult: result })));
  });

  it("linkInContainer: the answers are read on the master inside the pod's namespace", () => {
    const s = store("lic", [POOL_V4]);
    const pod = lab.pod("lic");
    // The pod's own master, a veth to a second foreign host holding 192.0.2.10.
    const other = lab.netns("licforeign");
    lab.ip("link", "add", "ens5", "netns", pod.netns, "type", "veth", "peer", "name", "eth0", "netns", other);
    lab.ipBatch(other, ["link set eth0 up", "addr add 192.0.2.10/24 dev eth0"]);
    lab.ipBatch(pod.netns, ["link set ens5 up"]);
    const otherMac = lab.link(other, "eth0")!.address!;
    const licConf = conf(s.ipam, { enabled: false, detectIPConflict: true }, { linkInContainer: true });
    const e = cniError(lab.cni(node, pod, "ADD", licConf));
    expect(e.code).toBe(103);
    expect(e.msg).toContain(`192.0.2.10 is already used by another host: ${otherMac}`);
    expect(lab.links(pod.netns).map((l) => l.ifname).sort()).toEqual(["ens5", "lo"]);
    expect(poolCounts(s)["lab-v4"]!.conflicts).toBe(1);
    ok(lab.cni(node, pod, "DEL", licConf));
    const result = ok<CniOk>(lab.cni(node, pod, "ADD", licConf));
    expect(result.ips.map((ip) => ip.address)).toEqual(["192.0.2.11/24"]);
    expect(pings(pod, "192.0.2.10")).toBe(true);
    ok(lab.cni(node, pod, "DEL", { ...licConf, prevResult: result }));
  });

  it.each(["l3", "l3s"])("mode %s with the switches: code 7 before anything is allocated", (mode) => {
    const s = store(`mode-${mode}`, [POOL_V4]);
    const pod = lab.pod(`mode${mode}`);
    const e = cniError(lab.cni(node, pod, "ADD", conf(s.ipam, DETECT, { mode })));
    expect(e.code).toBe(7);
    expect(e.msg).toMatch(/need ipvlan mode l2/);
    expectPodEmpty(pod);
    expect(poolCounts(s)["lab-v4"]).toMatchObject({ allocated: 0 });
  });
});
