// Binds the dispatcher to the real process: stdin/stdout/stderr, exit codes,
// and what a person sees when running a plugin by hand.
import { readAll, writeAll } from "../sys/fs";
import { dispatch, formatError, type Outcome, type PluginCommands, type PluginIO } from "./skel";
import { CniError, ErrorCode } from "./errors";
import { LATEST_VERSION, SUPPORTED_VERSIONS } from "./version";
import { mark, timingLine } from "../timing";

export interface PluginInfo {
  name: string;
  version: string;
  about: string;
  /** Extra lines for --help: CLI subcommands, configuration pointers. */
  usage?: string;
}

function writeQuietly(fd: number, text: string): void {
  try {
    writeAll(fd, text);
  } catch {
    // EPIPE: the reader went away; nothing useful can be reported anywhere.
  }
}

export const processIO = (): PluginIO => ({
  env: process.env,
  readStdin: () => readAll(0),
  stdout: (t) => writeQuietly(1, t),
  stderr: (t) => writeQuietly(2, t),
});

export function helpText(info: PluginInfo): string {
  return [
    `${info.name} ${info.version}: ${info.about}`,
    "",
    "This is a CNI plugin: a container runtime runs it with CNI_COMMAND and the other CNI_*",
    "variables set and the network configuration on stdin.",
    `CNI spec versions: ${SUPPORTED_VERSIONS.join(", ")}`,
    info.usage ? `\n${info.usage}` : "",
    "",
    "  --help       this text",
    "  --version    the plugin's version and supported CNI versions",
    "",
  ].join("\n");
}

export const versionText = (info: PluginInfo) =>
  `${info.name} ${info.version} (CNI spec ${SUPPORTED_VERSIONS.join(", ")})\n`;

/**
 * Runs one CNI invocation and exits. Anything thrown outside the dispatcher
 * still ends as one CNI error on stdout.
 */
export async function runCni(commands: PluginCommands, onDone?: (o: Outcome, ms: number) => Promise<void> | void): Promise<never> {
  const io = processIO();
  const fatal = (e: unknown) => {
    const msg = e instanceof Error ? e.message : String(e);
    io.stdout(formatError(new CniError(ErrorCode.Internal, `internal error: ${msg}`), LATEST_VERSION));
    io.stderr(`${e instanceof Error && e.stack ? e.stack : msg}\n`);
    process.exit(1);
  };
  process.on("uncaughtException", fatal);
  process.on("unhandledRejection", fatal);
  const start = performance.now();
  const outcome = await dispatch(commands, io);
  await onDone?.(outcome, performance.now() - start);
  mark("done");
  const timing = timingLine(outcome.command ?? "?");
  if (timing) io.stderr(timing);
  process.exit(outcome.exitCode);
}

/** True when the process was started by a runtime rather than by a person. */
export const invokedAsCni = () => (process.env.CNI_COMMAND ?? "") !== "";
