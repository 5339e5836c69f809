// Waiting on other processes by what the kernel shows of them, never by sleeps.
import { readFileSync } from "node:fs";

const POLL_INTERVAL_MS = 10;

/** The kernel's state letter for a process (R, S, T for stopped, Z for a zombie...), undefined once it is gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0];
  } catch {
    return undefined;
  }
}

/** Polls `probe` until it returns a value other than undefined; throws `describe()`'s text after timeoutMs. */
export async function pollUntil<T>(probe: () => Promise<T | undefined>, timeoutMs: number, describe: () => Promise<string> | string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${await describe()}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/**
 * SIGSTOPs a process and waits until the kernel shows it stopped. Sending the
 * signal is not enough: a process not yet scheduled still runs until it
 * handles it, and one woken from a lock wait takes the lock first.
 */
export async function stopProcess(pid: number, timeoutMs = 10_000): Promise<void> {
  process.kill(pid, "SIGSTOP");
  await pollUntil(async () => (processState(pid) === "T" ? true : undefined), timeoutMs, () => `process ${pid} not stopped (state ${processState(pid)})`);
}
