// Processes in a lock wait, for the tests of lib/sys/flock.ts and the store
// lock: starting one with SIGALRM blocked, and knowing when one is waiting.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";

/**
 * python3 -c: blocks SIGALRM, then execs argv[1..]. The signal mask survives
 * exec, as it does when a runtime (or a wrapper) blocked the signal.
 */
const EXEC_WITH_SIGALRM_BLOCKED =
  "import os, signal, sys\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])\nos.execv(sys.argv[1], sys.argv[1:])";

export interface Started {
  child: ChildProcess;
  /** Resolves when the process has ended, with what it printed. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed (unless keepStdinOpen). */
  stdin?: string;
  keepStdinOpen?: boolean;
  blockSigalrm?: boolean;
}

/** Starts `argv` (with SIGALRM blocked when asked). */
export function startProcess(argv: string[], { env, stdin = "", keepStdinOpen = false, blockSigalrm = false }: StartOptions = {}): Started {
  const [file, ...args] = blockSigalrm ? ["python3", "-c", EXEC_WITH_SIGALRM_BLOCKED, ...argv] : argv;
  const child = spawn(file!, args, { env, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.on("error", () => {});
  if (keepStdinOpen) child.stdin!.write(stdin);
  else child.stdin!.end(stdin);
  const done = new Promise<Awaited<Started["done"]>>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** The process's end; rejects if it is still running after `ms` (far beyond its own timeout). */
export function endsWithin(started: Started, ms: number): Started["done"] {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms: its wait for the lock ignored its timeout`)), ms);
  });
  return Promise.race([started.done, stuck]).finally(() => clearTimeout(timer));
}

/** Resolves once process `pid` runs `file` (a wrapper has exec'd it). */
export async function runs(pid: number, file: string, withinMs = 20_000): Promise<void> {
  const end = Date.now() + withinMs;
  const target = realpathSync(file); // /proc/<pid>/exe names the file a symbolic link leads to
  while (linkOf(`/proc/${pid}/exe`) !== target) {
    if (Date.now() > end) throw new Error(`process ${pid} does not run ${file} after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Whether signal `signo` is in the blocked mask (SigBlk of /proc/<pid>/status). */
export function signalBlocked(pid: number, signo: number): boolean {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^SigBlk:\s*([0-9a-f]+)$/m);
  return line !== null && ((BigInt(`0x${line[1]}`) >> BigInt(signo - 1)) & 1n) === 1n;
}

/**
 * Resolves once process `pid` waits for a lock: lib/sys/flock.ts then holds an
 * inotify fd watching the lock file (it has none otherwise). Rejects if the
 * process ends first or `withinMs` passes.
 */
export async function lockWaitStarted(pid: number, withinMs = 20_000): Promise<void> {
  const end = Date.now() + withinMs;
  for (;;) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      throw new Error(`process ${pid} ended before it waited for the lock`);
    }
    if (fds.some((fd) => linkOf(`/proc/${pid}/fd/${fd}`) === "anon_inode:inotify")) return;
    if (Date.now() > end) throw new Error(`process ${pid} did not start waiting for the lock within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function linkOf(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined; // closed meanwhile
  }
}
