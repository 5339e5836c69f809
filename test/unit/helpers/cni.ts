// Shared helpers for the CNI protocol-layer unit tests: an in-memory PluginIO,
// recording handlers and small env/config builders.
import { dispatch, type CniRequest, type Outcome, type PluginCommands, type PluginIO } from "../../../lib/cni/skel";
import type { CniResult } from "../../../lib/cni/types";

export const VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export type SpecVersion = (typeof VERSIONS)[number];

/** All CNI_* variables a full ADD needs, plus CNI_ARGS and CNI_PATH. */
export const FULL_ENV = {
  CNI_CONTAINERID: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  CNI_NETNS: "/var/run/netns/cni-test",
  CNI_IFNAME: "eth0",
  CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0",
  CNI_PATH: "/opt/cni/bin:/usr/lib/cni",
} as const;

export function envFor(command: string, overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { CNI_COMMAND: command, ...FULL_ENV, ...overrides };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

export function conf(cniVersion: unknown = "1.1.0", extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion, name: "underlay-net", type: "spiderpool-ipam", ...extra };
}

export const confText = (cniVersion: unknown = "1.1.0", extra: Record<string, unknown> = {}) =>
  JSON.stringify(conf(cniVersion, extra));

export interface Recorder {
  commands: PluginCommands;
  calls: { name: string; req: CniRequest }[];
}

type Handler = (req: CniRequest) => unknown;

/** Handlers that record each call; any of them can be replaced. ADD returns `result`. */
export function recorder(result: CniResult = { cniVersion: "1.1.0" }, overrides: Partial<Record<keyof PluginCommands, Handler>> = {}): Recorder {
  const calls: Recorder["calls"] = [];
  const wrap = (name: keyof PluginCommands, fallback: Handler) => async (req: CniRequest) => {
    calls.push({ name, req });
    const h = overrides[name] ?? fallback;
    return h(req);
  };
  const commands = {
    add: wrap("add", () => result),
    del: wrap("del", () => undefined),
    check: wrap("check", () => undefined),
    gc: wrap("gc", () => undefined),
    status: wrap("status", () => undefined),
  } as unknown as PluginCommands;
  return { commands, calls };
}

export interface RunResult {
  outcome: Outcome;
  stdout: string;
  stderr: string;
  stdoutWrites: string[];
  stdinReads: number;
}

export async function run(
  commands: PluginCommands,
  env: Record<string, string | undefined>,
  stdin: string | (() => string) = "",
): Promise<RunResult> {
  const stdoutWrites: string[] = [];
  const stderrWrites: string[] = [];
  let stdinReads = 0;
  const io: PluginIO = {
    env,
    readStdin: () => {
      stdinReads++;
      return typeof stdin === "function" ? stdin() : stdin;
    },
    stdout: (t) => stdoutWrites.push(t),
    stderr: (t) => stderrWrites.push(t),
  };
  const outcome = await dispatch(commands, io);
  return { outcome, stdout: stdoutWrites.join(""), stderr: stderrWrites.join(""), stdoutWrites, stdinReads };
}

export interface ErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details: string;
}

/**
 * Asserts the error contract: exactly one JSON object with exactly the keys
 * cniVersion, code, msg, details, written once, newline-terminated; non-zero exit.
 */
export function expectOneErrorObject(r: RunResult): ErrorJson {
  if (r.outcome.exitCode === 0) throw new Error(`expected a failure, got exit 0 with stdout ${r.stdout}`);
  if (r.stdoutWrites.length !== 1) throw new Error(`expected one stdout write, got ${r.stdoutWrites.length}: ${JSON.stringify(r.stdoutWrites)}`);
  if (!r.stdout.endsWith("\n") || r.stdout.trim().includes("\n")) throw new Error(`expected one line of JSON, got ${JSON.stringify(r.stdout)}`);
  const parsed: unknown = JSON.parse(r.stdout);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`stdout is not an object: ${r.stdout}`);
  const keys = Object.keys(parsed).sort();
  if (JSON.stringify(keys) !== JSON.stringify(["cniVersion", "code", "details", "msg"])) {
    throw new Error(`error object keys are ${JSON.stringify(keys)}`);
  }
  const e = parsed as ErrorJson;
  if (typeof e.cniVersion !== "string" || typeof e.code !== "number" || typeof e.msg !== "string" || typeof e.details !== "string") {
    throw new Error(`error object has wrong field types: ${r.stdout}`);
  }
  return e;
}
