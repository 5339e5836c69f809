// Running a delegate plugin (IPAM) the way a runtime runs us: the same
// environment with CNI_COMMAND set, the network configuration on stdin, its
// stderr passed through. The plugin is looked up only in CNI_PATH, and its
// type may not be a path.
import { spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";
import { CniError, ErrorCode } from "./errors";
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
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
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

function delegateError(type: string, command: string, stdout: string, status: number | null, signal: string | null): CniError {
  try {
    const e = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof e.code === "number" && typeof e.msg === "string") {
      // Keep the delegate's own code and words: they say what the user must fix.
      return new CniError(e.code, e.msg, typeof e.details === "string" ? e.details : "");
    }
  } catch {
    /* not a CNI error object */
  }
  const how = signal ? `was killed by ${signal}` : `exited with ${status}`;
  return new CniError(ErrorCode.DelegateFailure, `IPAM plugin ${type} ${command} ${how}`, stdout.slice(0, 500));
}

/** Runs the delegate; returns its parsed stdout for ADD, nothing otherwise. */
export function execDelegate(opts: DelegateOptions): CniResult | undefined {
  const file = findPlugin(opts.type, opts.cniPath);
  const r = spawnSync(file, [], {
    env: { ...opts.env, CNI_COMMAND: opts.command },
    input: opts.stdin,
    encoding: "utf8",
    stdio: ["pipe", "pipe", "inherit"],
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.error) throw new CniError(ErrorCode.DelegateFailure, `cannot run IPAM plugin ${file}: ${r.error.message}`);
  if (r.status !== 0) throw delegateError(opts.type, opts.command, r.stdout ?? "", r.status, r.signal);
  if (opts.command !== "ADD") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout);
  } catch {
    throw new CniError(ErrorCode.DecodeFailure, `IPAM plugin ${opts.type} printed a result that is not JSON`, r.stdout.slice(0, 500));
  }
  return parseResult(parsed, "1.1.0");
}
