// Processes in a lock wait, for the tests of lib/sys/flock.ts and the store
// lock: starting one with SIGALRM blocked, and knowing when one is waiting.
import { spawn, type ChildProcess } from "node:child_process";

/**
 * python3 -c: blocks SIGALRM, then execs argv[1..] (searching PATH). The
 * mask survives exec, as it does when a runtime (or a wrapper) blocked it.
 */
const EXEC_WITH_SIGALRM_BLOCKED =
  "import os, signal, sys\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])\nos.execvp(sys.argv[1], sys.argv[1:])";

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

/**
 * Whether a program started with blockSigalrm finds SIGALRM blocked (SigBlk
 * of its /proc/self/status): the control for tests of a blocked SIGALRM,
 * checked on cat because a plugin may change its own mask at any moment.
 */
export async function sigalrmBlockedAfterExec(): Promise<boolean> {
  const { stdout } = await startProcess(["cat", "/proc/self/status"], { blockSigalrm: true }).done;
  const mask = stdout.match(/^SigBlk:\s*([0-9a-f]+)$/m);
  const SIGALRM = 14n;
  return mask !== null && ((BigInt(`0x${mask[1]}`) >> (SIGALRM - 1n)) & 1n) === 1n;
}

/** Resolves once a process is blocked waiting for a flock (/proc/locks); the reliability scripts' own. */
export { lockWaitStarted } from "../../scripts/reliability/lib/common.mjs";
