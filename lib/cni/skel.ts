// The dispatcher every plugin hands its commands to: it owns the CNI
// environment, stdin decoding, version negotiation, result conversion and the
// error contract (one JSON object on stdout, non-zero exit, no stack traces).
import { CniError, ErrorCode, toCniError } from "./errors";
import { mark } from "../timing";
import { readCniEnv, type CniEnv } from "./env";
import { convertResult, parseResult } from "./result";
import type { CniResult } from "./types";
import { LATEST_VERSION, parseVersion, requireSupportedVersion, requireVersionForCommand, SUPPORTED_VERSIONS } from "./version";
import { isNameToken } from "../text";
import { jsonMayNestDeeperThan, nestingProblem } from "../nesting";

/** The network configuration on stdin. Plugin keys are read by each plugin. */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  [key: string]: unknown;
}

export interface CniRequest {
  env: CniEnv;
  conf: NetConf;
  /** The exact bytes received, handed unchanged to delegates (IPAM). */
  stdin: string;
  prevResult?: CniResult;
}

export interface PluginCommands {
  add(req: CniRequest): Promise<CniResult> | CniResult;
  del(req: CniRequest): Promise<void> | void;
  check(req: CniRequest): Promise<void> | void;
  gc(req: CniRequest): Promise<void> | void;
  status(req: CniRequest): Promise<void> | void;
}

export interface PluginIO {
  env: Record<string, string | undefined>;
  readStdin(): string;
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface Outcome {
  exitCode: number;
  command?: string;
  /** Known once the environment and stdin were read; for the invocation log. */
  env?: CniEnv;
  conf?: NetConf;
  error?: CniError;
  result?: CniResult;
}

function decodeConf(stdin: string, command: string): NetConf {
  if (stdin.trim() === "" && command === "VERSION") {
    return { cniVersion: LATEST_VERSION, name: "", type: "" };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(ErrorCode.DecodeFailure, "error decoding network configuration from stdin", (e as Error).message);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new CniError(ErrorCode.DecodeFailure, "network configuration on stdin must be a JSON object");
  }
  const tooDeep = jsonMayNestDeeperThan(stdin) && nestingProblem(parsed);
  if (tooDeep) throw new CniError(ErrorCode.InvalidConfig, `network configuration on stdin ${tooDeep}`);
  return parsed as NetConf;
}

function checkConfShape(conf: NetConf, command: string): void {
  if (command === "VERSION") return;
  if (typeof conf.name !== "string" || conf.name === "") {
    throw new CniError(ErrorCode.InvalidConfig, 'network configuration needs a non-empty string "name"');
  }
  if (!isNameToken(conf.name) || conf.name.length > 253) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      `invalid network name ${JSON.stringify(conf.name)}: letters, digits, '_', '.', '-' only, starting with a letter or digit`,
    );
  }
  if (typeof conf.type !== "string" || conf.type === "") {
    throw new CniError(ErrorCode.InvalidConfig, 'network configuration needs a non-empty string "type"');
  }
}

/** The version to stamp on an error: the config's if it looks like one, else ours. */
function errorVersion(stdin: string | undefined, conf: NetConf | undefined): string {
  // Once the config parsed, only its top-level cniVersion counts (not one nested in prevResult).
  if (conf) return typeof conf.cniVersion === "string" && parseVersion(conf.cniVersion) ? conf.cniVersion : LATEST_VERSION;
  if (!stdin) return LATEST_VERSION;
  const m = /"cniVersion"\s*:\s*"([^"]*)"/.exec(stdin);
  return m && parseVersion(m[1]!) ? m[1]! : LATEST_VERSION;
}

export function formatError(err: CniError, cniVersion: string): string {
  return JSON.stringify({ cniVersion, code: err.code, msg: err.message, details: err.details }) + "\n";
}

export async function dispatch(commands: PluginCommands, io: PluginIO): Promise<Outcome> {
  let stdin: string | undefined;
  const outcome: Outcome = { exitCode: 1 };
  try {
    const env = readCniEnv(io.env);
    outcome.command = env.command;
    outcome.env = env;
    try {
      stdin = io.readStdin();
    } catch (e) {
      throw new CniError(ErrorCode.IoFailure, "cannot read network configuration from stdin", (e as Error).message);
    }
    mark("stdin");
    const conf = decodeConf(stdin, env.command);
    outcome.conf = conf;

    if (env.command === "VERSION") {
      const v = typeof conf.cniVersion === "string" && parseVersion(conf.cniVersion) ? conf.cniVersion : LATEST_VERSION;
      io.stdout(JSON.stringify({ cniVersion: v, supportedVersions: [...SUPPORTED_VERSIONS] }) + "\n");
      return { ...outcome, exitCode: 0 };
    }

    const version = requireSupportedVersion(conf.cniVersion);
    requireVersionForCommand(env.command, version);
    checkConfShape(conf, env.command);
    const req: CniRequest = { env, conf, stdin };
    if (conf.prevResult !== undefined && conf.prevResult !== null) {
      req.prevResult = parseResult(conf.prevResult, version);
    }

    switch (env.command) {
      case "ADD": {
        const result = await commands.add(req);
        io.stdout(JSON.stringify(convertResult(result, version)) + "\n");
        mark("written");
        return { ...outcome, exitCode: 0, result };
      }
      case "DEL":
        await commands.del(req);
        break;
      case "CHECK":
        await commands.check(req);
        break;
      case "GC":
        await commands.gc(req);
        break;
      case "STATUS":
        await commands.status(req);
        break;
    }
    return { ...outcome, exitCode: 0 };
  } catch (e) {
    const err = toCniError(e);
    io.stdout(formatError(err, errorVersion(stdin, outcome.conf)));
    // Diagnostics (with the stack for internal faults) go to stderr only.
    const trace = err.code === ErrorCode.Internal && e instanceof Error && e.stack ? `\n${e.stack}` : "";
    io.stderr(`${outcome.command ?? "CNI"} failed: code ${err.code}: ${err.message}${err.details ? ` (${err.details})` : ""}${trace}\n`);
    return { ...outcome, exitCode: 1, error: err };
  }
}
