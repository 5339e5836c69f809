// Running a delegate plugin (IPAM) the way a runtime runs us: the same
// environment with CNI_COMMAND set, the network configuration on stdin, its
// stderr passed through. The plugin is looked up only in CNI_PATH, and its
// type may not be a path.
// Bun.spawnSync and lib/sys/fs, not node:child_process and node:fs: loading
// those two costs an executable ~3 ms per call (measured).
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

export interface DelegateOptions {
  command: "ADD" | "DEL" | "CHECK" | "GC" | "STATUS";
  type: string;
  /** The full network configuration, exactly as we received it (or rewritten). */
  stdin: string;
  env: Record<string, string | undefined>;
  cniPath: string[];
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

/** Runs the delegate; returns its parsed stdout for ADD, nothing otherwise. */
export function execDelegate(opts: DelegateOptions): CniResult | undefined {
  const file = findPlugin(opts.type, opts.cniPath);
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
  if (opts.command !== "ADD") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new CniError(ErrorCode.DecodeFailure, `IPAM plugin ${opts.type} printed a result that is not JSON`, stdout.slice(0, 500));
  }
  return parseResult(parsed, "1.1.0");
}
