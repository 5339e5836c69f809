// `spiderpool-ipam pools discover --imds` of the BUILT executable, run inside
// a network namespace where 169.254.169.254:80 is a fake IMDSv2 service
// (test/helpers/imds-server.ts) answering with the seed's two nodes; the
// store is the plugin's own, filled by real ADDs.
import type { ChildProcess } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { copyFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { addressesOf, IpamSandbox, IPAM_BIN, requireBuiltIpam, SEED_POOLS_FILE, writerOf } from "./ipam-harness";
import { cniOk, describeRun, runProcess } from "../helpers/cni";
import { ImdsNetns } from "../helpers/imds-netns";
import type { ImdsState } from "../helpers/imds-server";
import { etcdAvailable, startEtcdCluster } from "../helpers/etcd";
import { TempDirs } from "../helpers/tmp";
import { Scratch, startLockHolder } from "../fixtures/net/scaffold";
import { stopProcess } from "../helpers/process";
import { MASTER_MAC, masterState, worker1State } from "../fixtures/imds/seed-nodes";
import { loadPoolFile, poolNamed, seedPools } from "../fixtures/pools/helpers";
import { formatIPRange } from "../../lib/ip/range";

const scratch = new Scratch();
const tmp = new TempDirs();
let imds: ImdsNetns;
let box: IpamSandbox;

beforeAll(async () => {
  requireBuiltIpam();
  imds = await ImdsNetns.start(scratch, masterState());
});
afterAll(async () => {
  await imds?.close();
  scratch.cleanup();
});
beforeEach(async () => {
  box = await IpamSandbox.create(tmp, { seed: false });
  await imds.setState(masterState());
});
afterEach(() => tmp.cleanup());

const MASTER_FILE = () => join(box.poolDir, "master-imds.yaml");

/** discover for `node` inside the namespace, with this test's pool and data directories. */
const discover = (node: string, ...extra: string[]) => imds.run(["pools", "discover", "--imds", "--node", node, ...box.dirArgs(), ...extra]);

/** The master state with other IPv4 prefixes on its ENI. */
function masterWithPrefixes(prefixes: string[]): ImdsState {
  const state = masterState();
  state.interfaces[MASTER_MAC]!["ipv4-prefix"] = prefixes;
  return state;
}

async function writeMaster(): Promise<string> {
  const out = await discover("master", "-o", MASTER_FILE());
  expect(out.code, describeRun(out)).toBe(0);
  return readFileSync(MASTER_FILE(), "utf8");
}

/** Kills a lock holder and waits until it is gone (its lock with it). */
async function stopHolder(holder: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => holder.once("exit", resolve));
  holder.kill("SIGKILL");
  await exited;
}

/** The visible and hidden entries of poolDir: a temp file left behind would show here. */
const poolDirEntries = () => readdirSync(box.poolDir).sort();

describe("the seed's nodes", () => {
  it("gives master's and worker1's pools as the seed writes them by hand, and validate accepts them", async () => {
    const seed = seedPools();
    for (const [node, state] of [
      ["master", masterState()],
      ["worker1", worker1State()],
    ] as const) {
      await imds.setState(state);
      const file = join(box.poolDir, `${node}-imds.yaml`);
      const out = await discover(node, "--multus-name", "kube-system/ipvlan-ens5", "-o", file);
      expect(out.code, describeRun(out)).toBe(0);
      expect(out.stdout).toContain(`+ pool ${node}-v4: added`);
      const pools = loadPoolFile(file);
      expect(pools.map((p) => p.name)).toEqual([`${node}-v4`, `${node}-v6`]);
      for (const p of pools) {
        const s = poolNamed(seed, p.name);
        expect([p.subnet, p.gateway, p.nodeName, p.isDefault, p.multusName]).toEqual([s.subnet, s.gateway, s.nodeName, s.isDefault, s.multusName]);
        // IPv4: the same addresses. IPv6: the seed lists the /80's first 16; the pool is the whole /80 the ENI holds.
        if (p.family === 4) expect(p.usable.map(formatIPRange)).toEqual(s.usable.map(formatIPRange));
        else for (const r of s.usable) expect(p.usable.some((q) => q.start <= r.start && r.end <= q.end), `${p.name} covers ${formatIPRange(r)}`).toBe(true);
      }
      // Without -o the same YAML goes to standard output.
      const printed = await discover(node, "--multus-name", "kube-system/ipvlan-ens5");
      expect(printed.code, describeRun(printed)).toBe(0);
      expect(printed.stdout).toBe(readFileSync(file, "utf8"));
    }
    const valid = await runProcess(IPAM_BIN, ["validate", join(box.poolDir, "master-imds.yaml"), join(box.poolDir, "worker1-imds.yaml")]);
    expect(valid.code, describeRun(valid)).toBe(0);
    expect(valid.stdout).toContain("4 pool(s) valid");
  });

  it("comments every value with the metadata path it came from; asks the service directly whatever HTTP_PROXY says", async () => {
    const proxy = "http://127.0.0.1:9"; // nothing listens there: a request through it fails
    const out = await imds.run(["pools", "discover", "--imds", "--node", "master", ...box.dirArgs(), "-o", MASTER_FILE()], { HTTP_PROXY: proxy, http_proxy: proxy });
    expect(out.code, describeRun(out)).toBe(0);
    const text = readFileSync(MASTER_FILE(), "utf8");
    const base = `network/interfaces/macs/${MASTER_MAC}`;
    expect(text).toContain(`subnet: 172.31.16.0/20  # ${base}/subnet-ipv4-cidr-block`);
    expect(text).toContain(`- 172.31.28.16-172.31.28.31  # ${base}/ipv4-prefix 172.31.28.16/28`);
    expect(text).toContain(`- 2406:da1e:c4:ed01:c57d::-2406:da1e:c4:ed01:c57d:ffff:ffff:ffff  # ${base}/ipv6-prefix 2406:da1e:c4:ed01:c57d::/80`);
    expect(text).toContain("gateway: 172.31.16.1  # the VPC router");
    // The primary address is the node's own, never a pod's.
    expect(text).not.toContain("- 172.31.22.228");
  });
});

describe("the ENI changes", () => {
  it("a prefix added then removed updates the file; --dry-run only says so", async () => {
    const first = await writeMaster();
    await imds.setState(masterWithPrefixes(["172.31.28.16/28", "172.31.29.0/28"]));
    const dry = await discover("master", "-o", MASTER_FILE(), "--dry-run");
    expect(dry.code, describeRun(dry)).toBe(0);
    expect(dry.stdout).toContain("~ pool master-v4: changed\n    ips + 172.31.29.0-172.31.29.15 (16 address(es))");
    expect(dry.stdout).toContain("= pool master-v6: unchanged");
    expect(dry.stdout).toContain("not written");
    expect(readFileSync(MASTER_FILE(), "utf8")).toBe(first);

    const grown = await discover("master", "-o", MASTER_FILE());
    expect(grown.code, describeRun(grown)).toBe(0);
    expect(poolNamed(loadPoolFile(MASTER_FILE()), "master-v4").total).toBe(32n);

    await imds.setState(masterState());
    const shrunk = await discover("master", "-o", MASTER_FILE());
    expect(shrunk.code, describeRun(shrunk)).toBe(0);
    expect(shrunk.stdout).toContain("ips - 172.31.29.0-172.31.29.15");
    expect(readFileSync(MASTER_FILE(), "utf8")).toBe(first);
    const again = await discover("master", "-o", MASTER_FILE());
    expect(again.stdout).toContain("unchanged");
  });

  it("refuses to take out a prefix while an address of it is allocated, naming address, pool and holder; goes ahead once it is released", async () => {
    await imds.setState(masterWithPrefixes(["172.31.28.16/28", "172.31.29.0/28"]));
    await writeMaster();
    const added = cniOk(await box.add("c-held", { args: "IP=172.31.29.5;K8S_POD_NAMESPACE=default;K8S_POD_NAME=nginx" }));
    expect(addressesOf(added)).toContain("172.31.29.5");
    const before = readFileSync(MASTER_FILE(), "utf8");

    await imds.setState(masterState());
    for (const extra of [[], ["--dry-run"]]) {
      const refused = await discover("master", "-o", MASTER_FILE(), ...extra);
      expect(refused.code, describeRun(refused)).not.toBe(0);
      expect(refused.stderr).toContain("172.31.29.5 of pool master-v4 is allocated to container c-held interface eth0 (pod default/nginx)");
      expect(readFileSync(MASTER_FILE(), "utf8")).toBe(before);
    }

    cniOk(await box.del("c-held"));
    const done = await discover("master", "-o", MASTER_FILE());
    expect(done.code, describeRun(done)).toBe(0);
    expect(readFileSync(MASTER_FILE(), "utf8")).not.toContain("172.31.29.0");
  });

  it("replaces the file by rename, leaving no temp file; a service failing half-way leaves it as it was", async () => {
    const first = await writeMaster();
    const inode = statSync(MASTER_FILE()).ino;
    await imds.setState({ ...masterState(), failPaths: [`network/interfaces/macs/${MASTER_MAC}/ipv6-prefix`] });
    const failed = await discover("master", "-o", MASTER_FILE());
    expect(failed.code, describeRun(failed)).not.toBe(0);
    expect(failed.stderr).toContain(`GET http://169.254.169.254/latest/meta-data/network/interfaces/macs/${MASTER_MAC}/ipv6-prefix answered 500`);
    expect(readFileSync(MASTER_FILE(), "utf8")).toBe(first);
    expect(statSync(MASTER_FILE()).ino).toBe(inode);

    await imds.setState(masterWithPrefixes(["172.31.28.16/28", "172.31.29.0/28"]));
    const grown = await discover("master", "-o", MASTER_FILE());
    expect(grown.code, describeRun(grown)).toBe(0);
    expect(statSync(MASTER_FILE()).ino).not.toBe(inode);
    expect(statSync(MASTER_FILE()).mode & 0o777).toBe(0o644);
    expect(poolDirEntries()).toEqual(["master-imds.yaml"]);
  });
});

describe("discover and ADDs at the same time", () => {
  it("an ADD that loaded the pools before discover replaced them chooses again from the new file, under the store's lock", async () => {
    await imds.setState(masterWithPrefixes(["172.31.28.16/28", "172.31.29.0/28"]));
    await writeMaster();
    cniOk(await box.add("warm-up")); // the store and its lock file
    cniOk(await box.del("warm-up"));
    const holder = await startLockHolder(join(box.dataDir, "lock"));
    let writer: number | undefined;
    try {
      const add = box.add("pod-a", { ipam: { lockTimeoutMs: 60_000 }, timeoutMs: 60_000 });
      writer = writerOf(await box.prestagedTemp("pod-a")); // it has the old pools and waits for the lock
      await stopProcess(writer);
      await stopHolder(holder);

      await imds.setState(masterWithPrefixes(["172.31.29.0/28"]));
      const shrunk = await discover("master", "-o", MASTER_FILE());
      expect(shrunk.code, describeRun(shrunk)).toBe(0);
      expect(shrunk.stdout).toContain("ips - 172.31.28.16-172.31.28.31");

      process.kill(writer, "SIGCONT");
      writer = undefined;
      const v4 = addressesOf(cniOk(await add)).find((a) => !a.includes(":"))!;
      expect(v4.startsWith("172.31.29."), v4).toBe(true);
    } finally {
      if (writer !== undefined) process.kill(writer, "SIGKILL");
      holder.kill("SIGKILL");
    }
  });

  it("discover writes under the store's lock: while another holds it, discover waits and gives up (code 11), the file as it was", async () => {
    const first = await writeMaster();
    cniOk(await box.add("warm-up"));
    cniOk(await box.del("warm-up"));
    const holder = await startLockHolder(join(box.dataDir, "lock"));
    try {
      const config = join(box.root, "net.conf");
      await writeFile(config, JSON.stringify({ cniVersion: "1.0.0", name: "ipvlan-ens5", type: "ipvlan-attach", ipam: { type: "spiderpool-ipam", poolDir: box.poolDir, dataDir: box.dataDir, lockTimeoutMs: 300 } }));
      await imds.setState(masterWithPrefixes(["172.31.28.16/28", "172.31.29.0/28"]));
      const waited = await imds.run(["pools", "discover", "--imds", "--node", "master", "--config", config, "-o", MASTER_FILE()]);
      expect(waited.code, describeRun(waited)).toBe(1);
      expect(waited.stderr).toContain("timed out after 300 ms waiting for the lock");
      expect(readFileSync(MASTER_FILE(), "utf8")).toBe(first);
    } finally {
      holder.kill("SIGKILL");
    }
  });
});

describe("refusals that keep the pool files working", () => {
  it("refuses a file in poolDir whose pools clash with another pool file there (the plugin would refuse them all)", async () => {
    await copyFile(SEED_POOLS_FILE, join(box.poolDir, "seed.yaml"));
    const out = await discover("master", "-o", MASTER_FILE());
    expect(out.code, describeRun(out)).not.toBe(0);
    expect(out.stderr).toMatch(/master-v4.*duplicate pool name, already defined in .*seed\.yaml/);
    expect(poolDirEntries()).toEqual(["seed.yaml"]);
  });

  it("refuses to replace a file holding another node's pools", async () => {
    const file = join(box.poolDir, "seed.yaml");
    await copyFile(SEED_POOLS_FILE, file);
    const before = readFileSync(file, "utf8");
    const out = await discover("master", "-o", file);
    expect(out.code, describeRun(out)).not.toBe(0);
    expect(out.stderr).toContain("holds pool worker1-v4 (nodeName [worker1]), which is not node master's alone");
    expect(readFileSync(file, "utf8")).toBe(before);
  });
});

describe("a metadata service that will not serve", () => {
  const FILE_TEXT = "# the pools as they were\n";

  /** discover -o FILE over a file that must survive; returns stderr. */
  async function failing(state: ImdsState, ...extra: string[]): Promise<string> {
    await writeFile(MASTER_FILE(), FILE_TEXT, { mode: 0o644 });
    await imds.setState(state);
    const out = await discover("master", "-o", MASTER_FILE(), ...extra);
    expect(out.code, describeRun(out)).not.toBe(0);
    expect(readFileSync(MASTER_FILE(), "utf8")).toBe(FILE_TEXT);
    expect(poolDirEntries()).toEqual(["master-imds.yaml"]);
    return out.stderr;
  }

  it("an IMDSv1-only service (the token PUT answered 404 or 405)", async () => {
    for (const tokenStatus of [404, 405]) {
      expect(await failing({ ...masterState(), tokenStatus })).toContain(`answered ${tokenStatus}: this metadata service does not offer IMDSv2 session tokens`);
    }
  });

  it("a token refused: at the PUT (401, 403) or on the GETs (401)", async () => {
    expect(await failing({ ...masterState(), tokenStatus: 401 })).toContain("PUT http://169.254.169.254/latest/api/token answered 401: the metadata service refused a session token");
    expect(await failing({ ...masterState(), tokenStatus: 403 })).toContain("answered 403: the metadata service refused a session token");
    expect(await failing({ ...masterState(), getStatus: 401 })).toContain("answered 401: the metadata service refused the session token it issued");
  });

  it("a service that never answers: a timeout error bounded by --timeout-ms", async () => {
    expect(await failing({ ...masterState(), silent: true }, "--timeout-ms", "300")).toContain(
      "PUT http://169.254.169.254/latest/api/token: no answer within 300 ms (--timeout-ms)",
    );
  });

  it("a host that is not on AWS (nothing at 169.254.169.254)", async () => {
    const bare = await ImdsNetns.start(scratch, masterState(), { withServer: false, role: "noimds" });
    await writeFile(MASTER_FILE(), FILE_TEXT, { mode: 0o644 });
    const out = await bare.run(["pools", "discover", "--imds", "--node", "master", ...box.dirArgs(), "-o", MASTER_FILE()]);
    expect(out.code, describeRun(out)).not.toBe(0);
    expect(out.stderr).toContain("no metadata service answered");
    expect(out.stderr).toContain("not an EC2 instance");
    expect(readFileSync(MASTER_FILE(), "utf8")).toBe(FILE_TEXT);
  });

  it("without --imds it names the source it needs", async () => {
    const out = await imds.run(["pools", "discover", "--node", "master"]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain("pools discover needs a source: --imds");
  });
});

describe.skipIf(!etcdAvailable())("with the etcd store (--config)", () => {
  it("refuses to take out an address a pod holds in etcd, naming its node; once released, writes and says how to renew the pool's definition", async () => {
    // etcd listens on the host's loopback, out of the namespace's reach: the service runs beside it.
    const cluster = await startEtcdCluster({ members: 1 });
    const host = await ImdsNetns.onLoopback(scratch, masterWithPrefixes(["172.31.28.16/28", "172.31.29.0/28"]));
    try {
      const store = { type: "etcd", endpoints: cluster.endpoints, prefix: `/discover-${process.pid}`, timeoutMs: 8000 };
      const conf = join(box.root, "net.conf");
      await writeFile(conf, JSON.stringify(box.conf({ ipam: { store } })), { mode: 0o600 });
      const run = () => host.run(["pools", "discover", "--imds", "--url", host.url, "--config", conf, "-o", MASTER_FILE()]);
      expect((await run()).code).toBe(0);
      cniOk(await box.add("c-etcd", { ipam: { store }, args: "IP=172.31.29.5" }));
      expect(await box.claims()).toEqual([]); // held in etcd only

      await host.setState(masterState());
      const refused = await run();
      expect(refused.code, describeRun(refused)).not.toBe(0);
      expect(refused.stderr).toContain("172.31.29.5 of pool master-v4 is allocated to container c-etcd interface eth0 on node master");

      cniOk(await box.del("c-etcd", { ipam: { store } }));
      const done = await run();
      expect(done.code, describeRun(done)).toBe(0);
      expect(done.stdout).toContain(`etcdctl del ${store.prefix}/pools/master-v4`);
    } finally {
      await host.close();
      await cluster.close();
    }
  }, 60_000);
});
