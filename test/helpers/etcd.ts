// Real etcd clusters for tests: members on loopback as child processes of the
// test, each with its own data dir and log file in a private temp dir, talked to
// through etcd's v3 JSON gateway (keys and values are base64 on the wire; the
// helpers here take and return plain strings).
//
//   describe.skipIf(!etcdAvailable())("...", () => {
//     let etcd: EtcdCluster | undefined;
//     beforeAll(async () => { etcd = await startEtcdCluster({ tls: true }); });
//     afterAll(() => etcd?.close());
//     ...
//   });
//
// Members run with etcd's default timing (heartbeat 100 ms, election 1 s):
// shorter settings would speed up start-up and fail-over, but a loaded two-core
// machine would then see spurious elections (requests failing with HTTP 503).
// extraArgs passes any other flag (--max-txn-ops, --quota-backend-bytes...).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { createServer, type AddressInfo, type Server } from "node:net";
import { pollUntil, stopProcess } from "./process";
import { basename, join } from "node:path";
import { makeEtcdCerts, type EtcdCertFiles } from "./etcd-certs";
import { httpRequest, type HttpRequestOptions, type TlsMaterial } from "./http-request";
import { makePrivateTempDir } from "./tmp";

const ETCD = "etcd";
// Kills a member when the test process dies without running its exit handlers (SIGKILL, a vitest timeout).
const SETPRIV = "/usr/bin/setpriv";
const DEFAULT_READY_TIMEOUT_MS = 30_000;

/**
 * True when etcd and openssl can be run. Under CI=true their absence throws
 * instead, so a CI run fails rather than silently skipping the etcd tests.
 */
export function etcdAvailable(): boolean {
  const versionArg = { [ETCD]: "--version", openssl: "version" };
  const missing = Object.entries(versionArg).filter(([cmd, arg]) => spawnSync(cmd, [arg], { stdio: "ignore" }).error).map(([cmd]) => cmd);
  if (missing.length > 0 && process.env.CI === "true") {
    throw new Error(`${missing.join(" and ")} not installed (scripts/install-deps.sh installs etcd-server): the etcd tests cannot run`);
  }
  return missing.length === 0;
}

export interface EtcdClusterOptions {
  /** Number of members (default 3). */
  members?: number;
  /** https client URLs with --client-cert-auth; peers stay plain http on loopback (default false). */
  tls?: boolean;
  /** How long to wait for every member to be healthy (default 30 s). */
  readyTimeoutMs?: number;
  /** More etcd flags for every member. */
  extraArgs?: string[];
}

export interface EtcdTlsFiles {
  caFile: string;
  /** Client certificate and key, signed by the CA. */
  certFile: string;
  keyFile: string;
}

export type MemberState = "running" | "stopped" | "killed";

export class EtcdMember {
  /** The running (or last) process; replaced by restart(). */
  process!: ChildProcess;
  state: MemberState = "killed";
  /** etcd's member id (decimal, as the gateway prints it); known once the cluster is ready. */
  id: string | undefined;
  exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
    readonly dataDir: string,
    readonly logFile: string,
    readonly args: readonly string[],
  ) {}

  get pid(): number {
    return this.process.pid!;
  }
}

/** A non-2xx answer of the gateway, with etcd's JSON error body when there is one. */
export class EtcdGatewayError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    url: string,
  ) {
    super(`${url}: HTTP ${status} ${body.trim()}`);
    this.name = "EtcdGatewayError";
  }
}

export interface GatewayRequestOptions {
  /** The member to ask (default: the first running one). */
  member?: number;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

interface KeyValueJson {
  key: string;
  value?: string; // absent when the value is empty
}

// Safety net: whatever a test file does, no member outlives the test process.
const liveMembers = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of liveMembers) child.kill("SIGKILL");
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
}

const b64 = (text: string | Buffer) => Buffer.from(text).toString("base64");
const unb64 = (text: string | undefined) => Buffer.from(text ?? "", "base64").toString("utf8");

/** The end of the key range holding every key that starts with `prefix` (clientv3's GetPrefixRangeEnd). */
function prefixRangeEnd(prefix: Buffer): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i]!++;
      return end;
    }
  }
  return Buffer.from([0]); // "\0": up to the end of the keyspace
}

/** Distinct free loopback ports, asked from the kernel: all held open at once, then released for etcd. */
async function freeLoopbackPorts(count: number): Promise<number[]> {
  const listen = () =>
    new Promise<Server>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve(server));
    });
  const servers = await Promise.all(Array.from({ length: count }, listen));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function logTail(file: string, lines = 25): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.split("\n").slice(-lines).join("\n");
}

class MemberExitedError extends Error {}

export class EtcdCluster {
  readonly members: EtcdMember[] = [];
  tls?: EtcdTlsFiles;
  private certs?: EtcdCertFiles;
  private tlsMaterial?: TlsMaterial;
  private closing?: Promise<void>;

  private constructor(
    /** The private temp dir holding data dirs, logs and certificates. */
    readonly dir: string,
    private readonly readyTimeoutMs: number,
  ) {}

  /** Client URLs of all members, in member order. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  static async start(opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    installExitHook();
    const cluster = new EtcdCluster(await makePrivateTempDir("etcd-test-"), opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    liveDirs.add(cluster.dir);
    try {
      if (opts.tls) await cluster.makeCerts();
      await cluster.startMembers(opts.members ?? 3, opts.extraArgs ?? []);
      return cluster;
    } catch (err) {
      await cluster.close();
      throw err;
    }
  }

  private async makeCerts(): Promise<void> {
    const certs = await makeEtcdCerts(this.dir);
    this.certs = certs;
    this.tls = { caFile: certs.caFile, certFile: certs.certFile, keyFile: certs.keyFile };
    this.tlsMaterial = { ca: readFileSync(certs.caFile), cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) };
  }

  /** Starts the members; a port taken by someone else between picking and binding means a fresh try with new ports. */
  private async startMembers(count: number, extraArgs: string[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.defineMembers(count, await freeLoopbackPorts(2 * count), extraArgs);
      this.members.forEach((_, i) => this.spawnMember(i));
      try {
        await this.waitReady(this.members.map((_, i) => i));
        await this.learnMemberIds();
        return;
      } catch (err) {
        const clash = await Promise.all(this.members.map(async (m) => (await logTail(m.logFile, 200)).includes("address already in use")));
        if (!(err instanceof MemberExitedError) || !clash.some(Boolean) || attempt === 3) throw err;
        await this.killAll();
        await Promise.all(this.members.flatMap((m) => [rm(m.dataDir, { recursive: true, force: true }), rm(m.logFile, { force: true })]));
      }
    }
  }

  private defineMembers(count: number, ports: number[], extraArgs: string[]): void {
    const scheme = this.tls ? "https" : "http";
    const names = Array.from({ length: count }, (_, i) => `m${i}`);
    const peerUrls = names.map((_, i) => `http://127.0.0.1:${ports[count + i]}`);
    const initialCluster = names.map((name, i) => `${name}=${peerUrls[i]}`).join(",");
    const tlsArgs = this.certs
      ? ["--cert-file", this.certs.serverCertFile, "--key-file", this.certs.serverKeyFile, "--client-cert-auth", "--trusted-ca-file", this.certs.caFile]
      : [];
    this.members.splice(0, this.members.length, ...names.map((name, i) => {
      const clientUrl = `${scheme}://127.0.0.1:${ports[i]}`;
      const dataDir = join(this.dir, `${name}.data`);
      const args = [
        "--name", name, "--data-dir", dataDir,
        "--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl,
        "--listen-peer-urls", peerUrls[i]!, "--initial-advertise-peer-urls", peerUrls[i]!,
        "--initial-cluster", initialCluster, "--initial-cluster-state", "new",
        // A token unique to this cluster: members of two clusters never join each other.
        "--initial-cluster-token", basename(this.dir),
        ...tlsArgs,
        ...extraArgs,
      ];
      return new EtcdMember(name, clientUrl, peerUrls[i]!, dataDir, join(this.dir, `${name}.log`), args);
    }));
  }

  private spawnMember(i: number): void {
    const member = this.members[i]!;
    const log = openSync(member.logFile, "a");
    const [cmd, args] = existsSync(SETPRIV) ? [SETPRIV, ["--pdeathsig", "KILL", "--", ETCD, ...member.args]] : [ETCD, member.args];
    // Only PATH: etcd reads ETCD_* variables as flags, and the runner's must not leak in.
    const child = spawn(cmd, args, { stdio: ["ignore", log, log], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    closeSync(log);
    liveMembers.add(child);
    member.process = child;
    member.state = "running";
    member.exited = new Promise((resolve) => {
      const gone = () => {
        liveMembers.delete(child);
        resolve();
      };
      child.once("exit", gone);
      child.once("error", gone); // could not be started at all
    });
  }

  private member(i: number): EtcdMember {
    const member = this.members[i];
    if (!member) throw new Error(`no member ${i} (the cluster has ${this.members.length})`);
    return member;
  }

  private hasExited(member: EtcdMember): boolean {
    const child = member.process as ChildProcess | undefined; // undefined before its first spawn
    return !child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
  }

  private requestOptions(opts: HttpRequestOptions): HttpRequestOptions {
    return this.tlsMaterial ? { ...opts, tls: this.tlsMaterial } : opts;
  }

  /** Whether a member says it is healthy: it has a leader and a quorum read succeeds. */
  private async isHealthy(member: EtcdMember, timeoutMs: number): Promise<boolean> {
    try {
      const res = await httpRequest(`${member.clientUrl}/health`, this.requestOptions({ timeoutMs }));
      return res.status === 200 && (JSON.parse(res.text) as { health?: string }).health === "true";
    } catch {
      return false;
    }
  }

  private async describeMembers(): Promise<string> {
    const tails = await Promise.all(
      this.members.map(async (m) => `--- ${m.name} (${m.clientUrl}, ${m.state}, pid ${m.process?.pid}) ${m.logFile}:\n${await logTail(m.logFile)}`),
    );
    return tails.join("\n");
  }

  /** Waits until each of the given members answers /health with true; fails early when one of them exits. */
  private async waitReady(indices: number[]): Promise<void> {
    const pending = new Set(indices);
    // /health blocks while an election runs: no probe may outlast the deadline.
    const deadline = Date.now() + this.readyTimeoutMs;
    const probeTimeout = () => Math.max(1, Math.min(2000, deadline - Date.now()));
    await pollUntil(
      async () => {
        for (const i of pending) {
          const member = this.member(i);
          if (this.hasExited(member)) throw new MemberExitedError(`etcd ${member.name} exited while starting\n${await this.describeMembers()}`);
          if (await this.isHealthy(member, probeTimeout())) pending.delete(i);
        }
        return pending.size === 0 ? true : undefined;
      },
      this.readyTimeoutMs,
      async () => `etcd members ${[...pending].map((i) => this.member(i).name).join(", ")} not healthy\n${await this.describeMembers()}`,
    );
  }

  private async learnMemberIds(): Promise<void> {
    await Promise.all(
      this.members.map(async (m, i) => {
        m.id = (await this.status(i)).header.member_id;
      }),
    );
  }

  /** `POST /v3/maintenance/status` of one member. */
  status(i: number): Promise<{ header: { member_id: string }; leader?: string; errors?: string[] }> {
    return this.request("/v3/maintenance/status", {}, { member: i, timeoutMs: 2000 });
  }

  /** Waits until every member that is neither killed nor stopped is healthy. */
  waitHealthy(): Promise<void> {
    return this.waitReady(this.members.flatMap((m, i) => (m.state === "running" ? [i] : [])));
  }

  /**
   * The index of the leader that every running member agrees on (it may be a
   * stopped member until the others time it out); throws when there is none.
   */
  async leader(): Promise<number> {
    const running = this.members.flatMap((m, i) => (m.state === "running" ? [i] : []));
    const seen = await Promise.all(running.map((i) => this.status(i).then((s) => s.leader ?? "none", (err: Error) => `error: ${err.message}`)));
    const agreed = seen.every((id) => id === seen[0]) ? this.members.findIndex((m) => m.id === seen[0]) : -1;
    if (agreed < 0) throw new Error(`no leader all running members agree on: ${running.map((i, k) => `${this.member(i).name}: ${seen[k]}`).join("; ")}`);
    return agreed;
  }

  /** SIGKILLs a member and waits until the process is gone (its ports are then closed). */
  async kill(i: number): Promise<void> {
    const member = this.member(i);
    if (!this.hasExited(member)) member.process.kill("SIGKILL");
    await member.exited;
    member.state = "killed";
  }

  /** SIGSTOPs a member and waits until the kernel shows it stopped: it still accepts connections but never answers. */
  async stop(i: number): Promise<void> {
    const member = this.member(i);
    await stopProcess(member.pid);
    member.state = "stopped";
  }

  /** SIGCONTs a stopped member. */
  cont(i: number): void {
    const member = this.member(i);
    member.process.kill("SIGCONT");
    member.state = "running";
  }

  /** Starts a killed member again on its data dir and ports, and waits until it is healthy. */
  async restart(i: number): Promise<void> {
    const member = this.member(i);
    if (member.state !== "killed") throw new Error(`restart(${i}): ${member.name} is ${member.state}, kill it first`);
    this.spawnMember(i);
    await this.waitReady([i]);
  }

  /** POSTs `body` as JSON to a gateway path (e.g. /v3/kv/txn) and returns the parsed answer; throws EtcdGatewayError unless 200. */
  async request<T = any>(path: string, body: unknown, opts: GatewayRequestOptions = {}): Promise<T> {
    const index = opts.member ?? this.members.findIndex((m) => m.state === "running");
    if (index < 0) throw new Error(`${path}: no member of the cluster is running`);
    const url = `${this.member(index).clientUrl}${path}`;
    const res = await httpRequest(url, this.requestOptions({ body: JSON.stringify(body), timeoutMs: opts.timeoutMs, headers: opts.headers }));
    if (res.status !== 200) throw new EtcdGatewayError(res.status, res.text, url);
    return JSON.parse(res.text) as T;
  }

  async put(key: string, value: string, opts?: GatewayRequestOptions): Promise<void> {
    await this.request("/v3/kv/put", { key: b64(key), value: b64(value) }, opts);
  }

  /** The value under `key` (a linearizable read), undefined when the key does not exist. */
  async get(key: string, opts?: GatewayRequestOptions): Promise<string | undefined> {
    const res = await this.request<{ kvs?: KeyValueJson[] }>("/v3/kv/range", { key: b64(key) }, opts);
    const kv = res.kvs?.[0];
    return kv && unb64(kv.value);
  }

  /** Every key starting with `prefix` and its value, in key order. */
  async listPrefix(prefix: string, opts?: GatewayRequestOptions): Promise<Record<string, string>> {
    const start = prefix === "" ? Buffer.from([0]) : Buffer.from(prefix);
    const body = { key: b64(start), range_end: b64(prefixRangeEnd(Buffer.from(prefix))) };
    const res = await this.request<{ kvs?: KeyValueJson[] }>("/v3/kv/range", body, opts);
    return Object.fromEntries((res.kvs ?? []).map((kv) => [unb64(kv.key), unb64(kv.value)]));
  }

  private async killAll(): Promise<void> {
    for (const m of this.members) if (m.state === "stopped") m.process.kill("SIGCONT");
    await Promise.all(this.members.map((_, i) => this.kill(i)));
  }

  /** Kills every member, waits for them to exit and removes the temp dir. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.killAll();
      await rm(this.dir, { recursive: true, force: true });
      liveDirs.delete(this.dir);
    })();
    return this.closing;
  }
}

/** Starts `members` etcd members on free loopback ports and resolves once all are healthy. */
export function startEtcdCluster(opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  return EtcdCluster.start(opts);
}
