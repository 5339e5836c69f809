// Runs a built CNI plugin exactly as a runtime does: CNI_* variables in the
// environment, the network configuration as JSON on stdin, the result (or the
// error object) as JSON on stdout, success or failure in the exit code.
//
//   const out = await execCni(IPAM_BIN, { command: "ADD", containerId: "c1", ifname: "eth0" }, conf);
//   expect(out.code).toBe(0);
//   const result = cniOk(out); // throws with stdout/stderr when it failed
//
// The child gets a clean environment (PATH only, plus what the caller passes),
// so variables of the test runner (NODE_NAME, CNI_*) never leak into a plugin.
import { spawn } from "node:child_process";

export type CniCommand = "ADD" | "DEL" | "CHECK" | "GC" | "STATUS" | "VERSION";

export interface CniInvocation {
  /** CNI_COMMAND; any string, so tests can send invalid ones too. */
  command: CniCommand | (string & {});
  /** CNI_CONTAINERID (omitted when undefined). */
  containerId?: string;
  /** CNI_NETNS; defaults to a plausible path for ADD/CHECK, since IPAM plugins never open it. */
  netns?: string;
  /** CNI_IFNAME; defaults to "eth0" for ADD/DEL/CHECK. */
  ifname?: string;
  /** CNI_ARGS: "K=V;K2=V2" as is, or a map joined in that form. */
  args?: string | Record<string, string>;
  /** CNI_PATH: a ":"-joined string or a list of directories. */
  path?: string | string[];
  /** Extra environment; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>;
  /** Start from the test runner's whole environment instead of PATH only. */
  inheritEnv?: boolean;
  /** Kill the plugin after this long (default 30 s); the result then has signal set. */
  timeoutMs?: number;
}

export interface ProcessOutput {
  /** Exit code, or null when the process was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CniOutput extends ProcessOutput {
  /** stdout parsed as JSON; undefined when stdout is empty or not JSON. */
  json: unknown;
}

/** The error object a failing plugin prints (CNI spec, "Error"). */
export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  inheritEnv?: boolean;
  /** Written to the child's stdin, which is then closed; stdin is empty when undefined. */
  stdin?: string;
  timeoutMs?: number;
  cwd?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

function buildEnv(base: Record<string, string | undefined>, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries({ ...base, ...extra })) {
    if (v !== undefined) env[k] = v;
  }
  return env;
}

/** Runs any executable with the given argv, stdin and environment; never rejects on a non-zero exit. */
export function runProcess(binary: string, argv: string[], opts: RunOptions = {}): Promise<ProcessOutput> {
  const base = opts.inheritEnv ? { ...process.env } : { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" };
  const env = buildEnv(base, opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(binary, argv, { env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    // A plugin that exits before reading stdin makes the write fail with EPIPE:
    // that is the plugin's business, the exit code and stdout still tell the story.
    child.stdin.on("error", () => {});
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${binary}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin.end(opts.stdin ?? "");
  });
}

function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function cniArgsText(args: string | Record<string, string> | undefined): string | undefined {
  if (args === undefined || typeof args === "string") return args;
  return Object.entries(args)
    .map(([k, v]) => `${k}=${v}`)
    .join(";");
}

/**
 * Runs a CNI plugin for one command. `config` is the network configuration:
 * an object (serialised to JSON) or raw text (sent as is, e.g. to test decode
 * errors); undefined sends empty stdin.
 */
export async function execCni(binary: string, inv: CniInvocation, config?: object | string): Promise<CniOutput> {
  const needsIfname = inv.command === "ADD" || inv.command === "DEL" || inv.command === "CHECK";
  const needsNetns = inv.command === "ADD" || inv.command === "CHECK";
  const env: Record<string, string | undefined> = {
    CNI_COMMAND: inv.command,
    CNI_CONTAINERID: inv.containerId,
    CNI_NETNS: inv.netns ?? (needsNetns ? "/var/run/netns/cni-test" : undefined),
    CNI_IFNAME: inv.ifname ?? (needsIfname ? "eth0" : undefined),
    CNI_ARGS: cniArgsText(inv.args),
    CNI_PATH: Array.isArray(inv.path) ? inv.path.join(":") : inv.path,
    ...inv.env,
  };
  const stdin = config === undefined ? "" : typeof config === "string" ? config : JSON.stringify(config);
  const opts: RunOptions = { env, stdin };
  if (inv.inheritEnv !== undefined) opts.inheritEnv = inv.inheritEnv;
  if (inv.timeoutMs !== undefined) opts.timeoutMs = inv.timeoutMs;
  const out = await runProcess(binary, [], opts);
  return { ...out, json: parseJson(out.stdout) };
}

/** A readable one-line account of a run, for assertion messages. */
export function describeRun(out: ProcessOutput): string {
  const status = out.signal ? `killed by ${out.signal}` : `exit ${out.code}`;
  return `${status}; stdout: ${out.stdout.trim() || "<empty>"}; stderr: ${out.stderr.trim() || "<empty>"}`;
}

/** The parsed stdout of a successful run (undefined for commands that print nothing); throws otherwise. */
export function cniOk<T = Record<string, unknown>>(out: CniOutput): T {
  if (out.code !== 0) throw new Error(`expected the plugin to succeed, but: ${describeRun(out)}`);
  return out.json as T;
}

export function isCniError(json: unknown): json is CniErrorJson {
  if (typeof json !== "object" || json === null) return false;
  const o = json as Record<string, unknown>;
  return typeof o.code === "number" && typeof o.msg === "string";
}

/** The error object of a failed run; throws unless the plugin failed with a well-formed one. */
export function cniError(out: CniOutput): CniErrorJson {
  if (out.code === 0) throw new Error(`expected the plugin to fail, but: ${describeRun(out)}`);
  if (!isCniError(out.json)) throw new Error(`the plugin failed without a CNI error object on stdout: ${describeRun(out)}`);
  return out.json;
}
