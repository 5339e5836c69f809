// Running a delegate plugin (IPAM) the way a runtime runs us: the same
// environment with CNI_COMMAND set, the network configuration on stdin, its
// stderr passed through. The plugin is looked up only in CNI_PATH, and its
// type may not be a path.
// When the file found is this very executable (installed once, linked under
// each plugin's name) and the caller can run that plugin in-process, its
// whole CNI call runs here instead of in a second process: the same stdin,
// environment, stdout and exit code, read back the same way.
// Bun.spawnSync and lib/sys/fs, not node:child_process and node:fs: loading
// those two costs every call start-up time (docs/performance.md).
import { isExecutable, statPath } from "../sys/fs";
import { joinPath as join } from "../sys/path";
import { CniError, ErrorCode } from "./errors";
import { DELEGATOR_PID_ENV } from "./delegator";
import { parseResult } from "./result";
import type { CniResult } from "./types";

export function findPlugin(type: string, cniPath: string[]): string {
  if (type === "" || type.includes("/") || type === "." || type === ".." || type.includes("\0")) {
    throw new CniError(ErrorCode.InvalidConfig, `plugin type ${JSON.stringify(type)} must be a plain executable name, not a path`);
  }
  for (const dir of cniPath) {
    if (!dir.startsWith("/")) continue; // a relative CNI_PATH entry would depend on our cwd
    const file = join(dir, type);
    try {
      if (statPath(file).isFile() && isExecutable(file)) return file;
    } catch {
      /* not here */
    }
  }
  throw new CniError(
    ErrorCode.InvalidConfig,
    `failed to find plugin "${type}" in path [${cniPath.join(" ")}]`,
    "install it into one of the CNI_PATH directories (usually /opt/cni/bin)",
  );
}

/** True when `file` (links followed) is the executable this process runs: same device and inode. */
export function isThisExecutable(file: string): boolean {
  try {
    const self = statPath("/proc/self/exe");
    const other = statPath(file);
    return self.dev === other.dev && self.ino === other.ino;
  } catch {
    return false;
  }
}

/** What a plugin's process would have given: its stdout and exit code. */
export interface DelegateOutput {
  stdout: string;
  exitCode: number;
}

/** A plugin's whole CNI call run in this process (its stderr is ours). */
export type InProcessPlugin = (stdin: string, env: Record<string, string | undefined>) => Promise<DelegateOutput>;

export interface DelegateOptions {
  command: "ADD" | "DEL" | "CHECK" | "GC" | "STATUS";
  type: string;
  /** The full network configuration, exactly as we received it (or rewritten). */
  stdin: string;
  env: Record<string, string | undefined>;
  cniPath: string[];
  /**
   * The plugin types this executable can run in-process, and how to load
   * each: used only when the type's file in CNI_PATH is this executable.
   */
  inProcess?: Record<string, () => Promise<InProcessPlugin>>;
}

function delegateError(type: string, command: string, stdout: string, status: number | null, signal: string | number | undefined): CniError {
  try {
    const e = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof e.code === "number" && typeof e.msg === "string") {
      // Keep the delegate's own code and words: they say what the user must fix.
      return new CniError(e.code, e.msg, typeof e.details === "string" ? e.details : "");
    }
  } catch {
    /* not a CNI error object */
  }
  const how = signal !== undefined ? `was killed by ${signal}` : `exited with ${status}`;
  return new CniError(ErrorCode.DelegateFailure, `IPAM plugin ${type} ${command} ${how}`, stdout.slice(0, 500));
}

/** The delegate's answer read from its stdout: the result for ADD, nothing otherwise. */
function readOutput(opts: DelegateOptions, stdout: string): CniResult | undefined {
  if (opts.command !== "ADD") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new CniError(ErrorCode.DecodeFailure, `IPAM plugin ${opts.type} printed a result that is not JSON`, stdout.slice(0, 500));
  }
  return parseResult(parsed, "1.1.0");
}

function execPlugin(file: string, opts: DelegateOptions): CniResult | undefined {
  let r;
  try {
    r = Bun.spawnSync({
      cmd: [file],
      env: { ...opts.env, CNI_COMMAND: opts.command, [DELEGATOR_PID_ENV]: String(process.pid) },
      stdin: new TextEncoder().encode(opts.stdin),
      stdout: "pipe",
      stderr: "inherit",
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (e) {
    throw new CniError(ErrorCode.DelegateFailure, `cannot run IPAM plugin ${file}: ${(e as Error).message}`);
  }
  const stdout = r.stdout ? new TextDecoder().decode(r.stdout) : "";
  if (r.exitedDueToMaxBuffer) throw new CniError(ErrorCode.DelegateFailure, `IPAM plugin ${opts.type} ${opts.command} printed more than 16 MiB`);
  if (!r.success) throw delegateError(opts.type, opts.command, stdout, r.exitCode, r.signalCode ?? undefined);
  return readOutput(opts, stdout);
}

/**
 * Runs the delegate; returns its parsed stdout for ADD, nothing otherwise.
 * In-process when `opts.inProcess` knows the type and CNI_PATH's file for
 * it is this executable; a separate process otherwise (another version,
 * another IPAM). The delegator variable is not set in-process: nothing
 * can outlive this process there.
 */
export async function runDelegate(opts: DelegateOptions): Promise<CniResult | undefined> {
  const file = findPlugin(opts.type, opts.cniPath);
  const load = Object.hasOwn(opts.inProcess ?? {}, opts.type) ? opts.inProcess![opts.type] : undefined;
  if (!load || !isThisExecutable(file)) return execPlugin(file, opts);
  const run = await load();
  const out = await run(opts.stdin, { ...opts.env, CNI_COMMAND: opts.command });
  if (out.exitCode !== 0) throw delegateError(opts.type, opts.command, out.stdout, out.exitCode, undefined);
  return readOutput(opts, out.stdout);
}
