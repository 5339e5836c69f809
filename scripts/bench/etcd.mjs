// The etcd store's rows of `npm run bench`: a 3-member etcd cluster on
// loopback (Debian's etcd-server), started here and always stopped.
//   etcd: ADD+DEL with the etcd store vs the local store, same binary, same pools
//   etcd-burst: 300 ADDs at once from 3 simulated nodes on one shared pool,
//               wall time and how many transactions were tried again
import { spawn, spawnSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { ROOT, bin, cniEnv, compare, ms, podEnv, privateDir, privateTmp, run, writePool } from "./lib.mjs";

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** Three members with their own data dirs under `dir`; resolves once each answers /health. */
async function startCluster(dir) {
  const ports = [];
  for (let i = 0; i < 6; i++) ports.push(await freePort());
  const names = [0, 1, 2].map((i) => `b${i}`);
  const peer = (i) => `http://127.0.0.1:${ports[3 + i]}`;
  const endpoints = [0, 1, 2].map((i) => `http://127.0.0.1:${ports[i]}`);
  const initial = names.map((n, i) => `${n}=${peer(i)}`).join(",");
  const members = names.map((name, i) =>
    spawn("etcd", [
      "--name", name, "--data-dir", join(dir, name),
      "--listen-client-urls", endpoints[i], "--advertise-client-urls", endpoints[i],
      "--listen-peer-urls", peer(i), "--initial-advertise-peer-urls", peer(i),
      "--initial-cluster", initial, "--initial-cluster-state", "new", "--log-level", "error",
    ], { stdio: "ignore" }),
  );
  const stop = () => members.forEach((m) => m.kill("SIGKILL"));
  const deadline = Date.now() + 30_000;
  for (const endpoint of endpoints) {
    for (;;) {
      const health = await fetch(`${endpoint}/health`).then((r) => r.json()).catch(() => undefined);
      if (health?.health === "true") break;
      if (Date.now() > deadline) {
        stop();
        throw new Error(`etcd member ${endpoint} not healthy within 30 s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { endpoints, stop };
}

function conf({ poolDir, dataDir, nodeName, store }) {
  return JSON.stringify({ cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan-attach", ipam: { type: "spiderpool-ipam", poolDir, dataDir, nodeName, ...(store ? { store } : {}) } });
}

const addDel = (stdin, prefix) => (i) => {
  const env = podEnv(`${prefix}${i}`);
  return run(bin("spiderpool-ipam"), cniEnv("ADD", env), stdin) + run(bin("spiderpool-ipam"), cniEnv("DEL", env), stdin);
};

/** Starts one ADD; resolves to the etcd retries its timing line reports. */
function startAdd(stdin, id) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin("spiderpool-ipam"), [], { env: { ...cniEnv("ADD", podEnv(id)), SPIDERPOOL_TIMING: "1" }, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("error", reject);
    p.on("close", (code) => {
      if (code !== 0) return reject(new Error(`ADD ${id} failed (${code}): ${out}${err}`));
      resolve(Number(/etcd-retries=(\d+)/.exec(err)?.[1] ?? 0));
    });
    p.stdin.end(stdin);
  });
}

export async function etcdRows({ runs }) {
  if (spawnSync("etcd", ["--version"]).error) throw new Error("etcd is not installed (scripts/install-deps.sh installs etcd-server)");
  const dir = privateTmp();
  let cluster;
  try {
    cluster = await startCluster(privateDir(join(dir, "etcd")));
    const poolDir = privateDir(join(dir, "pools"));
    cpSync(join(ROOT, "test", "fixtures", "pools", "seed-pools.yaml"), join(poolDir, "seed.yaml"));
    const store = { type: "etcd", endpoints: cluster.endpoints, prefix: "/bench" };
    const viaEtcd = conf({ poolDir, dataDir: join(dir, "etcd-node"), nodeName: "master", store });
    const local = conf({ poolDir, dataDir: join(dir, "local-node"), nodeName: "master" });
    const pair = await compare(addDel(viaEtcd, "e"), addDel(local, "l"), { runs: Math.max(20, Math.ceil(runs / 4)) });

    // 300 ADDs at once, 100 per node, on one pool without nodeName.
    const sharedDir = privateDir(join(dir, "shared-pools"));
    writePool(sharedDir, "shared.yaml", [{ name: "shared-v4", subnet: "10.90.0.0/23", ips: ["10.90.0.10-10.90.1.250"], gateway: "10.90.0.1" }]);
    const samples = Math.max(3, Math.min(5, Math.ceil(runs / 40)));
    const walls = [];
    let retries = 0;
    for (let round = 0; round < samples; round++) {
      // 300 processes on this machine's cores queue for CPU far longer than on 3 real nodes: a long timeout, so the row measures instead of failing.
      const burstStore = { ...store, prefix: `/burst${round}`, timeoutMs: 60_000 };
      const nodes = ["n1", "n2", "n3"].map((n) => conf({ poolDir: sharedDir, dataDir: join(dir, `burst-${n}`), nodeName: n, store: burstStore }));
      const t0 = process.hrtime.bigint();
      const counts = await Promise.all(Array.from({ length: 300 }, (_, k) => startAdd(nodes[k % 3], `r${round}-${k}`)));
      walls.push(ms(t0));
      retries += counts.reduce((a, b) => a + b, 0);
    }
    walls.sort((a, b) => a - b);
    return [
      { id: "etcd", name: "IPAM ADD+DEL dual-stack: etcd store (3 members, loopback) vs local store", unit: "ms", goal: { ratio: 1.5 }, ...pair },
      {
        id: "etcd",
        name: "  300 ADDs at once from 3 nodes on one shared pool (etcd store): wall until all exit",
        unit: "ms",
        ours: walls[Math.floor(walls.length / 2)],
        samples,
        note: `${(retries / samples).toFixed(1)} transactions tried again per 300 ADDs (median wall of ${samples} rounds)`,
      },
    ];
  } finally {
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
