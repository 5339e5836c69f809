// Shared set-up of the spiderpool-ipam integration tests (not a test file
// itself): a private poolDir/dataDir pair per test, the network configuration
// a runtime would send, and shortcuts for each CNI command on the BUILT binary.
import { existsSync, readdirSync } from "node:fs";
import { copyFile, readdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { execCni, runProcess, type CniInvocation, type CniOutput, type ProcessOutput } from "../helpers/cni";
import { afterEach, beforeAll, beforeEach } from "vitest";
import { makePrivateDir, TempDirs } from "../helpers/tmp";

export const REPO_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const IPAM_BIN = join(REPO_ROOT, "dist", "bin", "spiderpool-ipam");
export const SEED_POOLS_FILE = join(REPO_ROOT, "test", "fixtures", "pools", "seed-pools.yaml");
export const NETWORK = "ipvlan-ens5";

/** Fails early and clearly when the executable under test is missing. */
export function requireBuiltIpam(): void {
  if (!existsSync(IPAM_BIN)) throw new Error(`${IPAM_BIN} is missing: run "npm run build" before the integration tests`);
}

export interface ConfOptions {
  cniVersion?: string;
  /** Network name (default ipvlan-ens5). */
  name?: string;
  /** ipam.nodeName; null leaves it out (the plugin then reads NODE_NAME). Default "master". */
  node?: string | null;
  /** Extra or overriding keys of the ipam object. */
  ipam?: Record<string, unknown>;
  /** Extra top-level keys (args, runtimeConfig, prevResult, cni.dev/valid-attachments...). */
  top?: Record<string, unknown>;
}

export interface CallOptions extends ConfOptions {
  ifname?: string;
  args?: CniInvocation["args"];
  env?: Record<string, string | undefined>;
  /** Kill the plugin after this long (execCni's default otherwise). */
  timeoutMs?: number;
}

/** The address strings of a result's ips, without prefix length. */
export const addressesOf = (result: unknown): string[] =>
  ((result as { ips?: { address: string }[] }).ips ?? []).map((ip) => ip.address.split("/")[0]!);

/** The PID a pre-staged temp file's name carries (.tmp-<name>-<pid>-<n>). */
export const writerOf = (temp: string): number => Number(/-(\d+)-\d+$/.exec(temp)![1]);

export class IpamSandbox {
  private constructor(
    readonly root: string,
    readonly poolDir: string,
    readonly dataDir: string,
  ) {}

  /** A fresh root (mkdtemp, 0700) with poolDir and dataDir (0700); the seed pools copied in unless seed is false. */
  static async create(tmp: TempDirs, opts: { seed?: boolean } = {}): Promise<IpamSandbox> {
    const root = await tmp.make("spiderpool-ipam-it-");
    const box = new IpamSandbox(root, await makePrivateDir(join(root, "pools")), await makePrivateDir(join(root, "data")));
    if (opts.seed ?? true) await copyFile(SEED_POOLS_FILE, join(box.poolDir, "seed-pools.yaml"));
    return box;
  }

  /** The CLI's --pool-dir and --data-dir for this sandbox. */
  dirArgs(): string[] {
    return ["--pool-dir", this.poolDir, "--data-dir", this.dataDir];
  }

  async writePoolFile(name: string, text: string): Promise<string> {
    const file = join(this.poolDir, name);
    await writeFile(file, text, { mode: 0o600 });
    return file;
  }

  /**
   * Most tests run one node, with pools that name no node: the local store
   * serves them only with sharedPools "allow" (tests of the refusal and of the
   * etcd store set ipam.store themselves).
   */
  conf(opts: ConfOptions = {}): Record<string, unknown> {
    const ipam: Record<string, unknown> = {
      type: "spiderpool-ipam",
      poolDir: this.poolDir,
      dataDir: this.dataDir,
      store: { type: "local", sharedPools: "allow" },
    };
    if (opts.node !== null) ipam.nodeName = opts.node ?? "master";
    return {
      cniVersion: opts.cniVersion ?? "1.0.0",
      name: opts.name ?? NETWORK,
      type: "ipvlan",
      ipam: { ...ipam, ...opts.ipam },
      ...opts.top,
    };
  }

  run(command: CniInvocation["command"], containerId: string | undefined, opts: CallOptions = {}): Promise<CniOutput> {
    const inv: CniInvocation = { command };
    if (containerId !== undefined) inv.containerId = containerId;
    if (opts.ifname !== undefined) inv.ifname = opts.ifname;
    if (opts.args !== undefined) inv.args = opts.args;
    if (opts.env !== undefined) inv.env = opts.env;
    if (opts.timeoutMs !== undefined) inv.timeoutMs = opts.timeoutMs;
    if (command === "GC") inv.path = "/opt/cni/bin";
    return execCni(IPAM_BIN, inv, this.conf(opts));
  }

  add(containerId: string, opts: CallOptions = {}): Promise<CniOutput> {
    return this.run("ADD", containerId, opts);
  }

  del(containerId: string, opts: CallOptions = {}): Promise<CniOutput> {
    return this.run("DEL", containerId, opts);
  }

  /** CHECK with the given prevResult (what the runtime cached from ADD). */
  check(containerId: string, prevResult: unknown, opts: CallOptions = {}): Promise<CniOutput> {
    return this.run("CHECK", containerId, { ...opts, top: { prevResult, ...opts.top } });
  }

  /** GC (cniVersion 1.1.0) keeping the listed attachments, under the given key. */
  gc(valid: { containerID: string; ifname: string }[], opts: CallOptions & { key?: string } = {}): Promise<CniOutput> {
    const key = opts.key ?? "cni.dev/valid-attachments";
    return this.run("GC", undefined, { cniVersion: "1.1.0", ...opts, top: { [key]: valid, ...opts.top } });
  }

  status(opts: CallOptions = {}): Promise<CniOutput> {
    return this.run("STATUS", undefined, { cniVersion: "1.1.0", ...opts });
  }

  /** The pool CLI, as a person runs it (no CNI_COMMAND). */
  cli(argv: string[], env: Record<string, string | undefined> = {}): Promise<ProcessOutput> {
    return runProcess(IPAM_BIN, argv, { env });
  }

  /** Waits until an ADD has pre-staged a claim in its container's directory (it has loaded the pools); the temp file's name. */
  async prestagedTemp(containerId: string): Promise<string> {
    const dir = join(this.dataDir, "attachments", containerId);
    for (let i = 0; i < 2000; i++) {
      const temp = existsSync(dir) ? readdirSync(dir).find((n) => n.startsWith(".tmp-")) : undefined;
      if (temp) return temp;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no pre-staged claim appeared in ${dir}`);
  }

  /** Claimed addresses: the file names under dataDir/ips, sorted. */
  async claims(): Promise<string[]> {
    return (await listVisible(join(this.dataDir, "ips"))).sort();
  }

  /** Recorded attachments as "containerID/ifname", sorted. */
  async attachments(): Promise<string[]> {
    const base = join(this.dataDir, "attachments");
    const out: string[] = [];
    for (const id of await listVisible(base)) {
      for (const ifname of await listVisible(join(base, id))) out.push(`${id}/${ifname}`);
    }
    return out.sort();
  }
}

async function listVisible(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => !n.startsWith("."));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** A SpiderIPPool document in YAML. */
export function poolYaml(name: string, spec: Record<string, unknown>): string {
  const lines = ["apiVersion: spiderpool.spidernet.io/v2beta1", "kind: SpiderIPPool", "metadata:", `  name: ${name}`, "spec:"];
  for (const [k, v] of Object.entries(spec)) lines.push(`  ${k}: ${JSON.stringify(v)}`);
  return lines.join("\n") + "\n";
}

/**
 * The hooks every IPAM test file needs: the built binary is required, each
 * test gets a fresh sandbox (handed to `use`), and its directories go after
 * it. Returns the TempDirs for any extra directory a test makes.
 */
export function useIpamSandbox(use: (box: IpamSandbox) => void): TempDirs {
  const tmp = new TempDirs();
  beforeAll(requireBuiltIpam);
  beforeEach(async () => use(await IpamSandbox.create(tmp)));
  afterEach(() => tmp.cleanup());
  return tmp;
}
