// A delegate plugin dies with the main plugin that runs it. A runtime that
// gives up on an ADD kills the main plugin (ipvlan-attach), not its IPAM
// child; an orphaned IPAM ADD would go on and record an allocation after the
// runtime's DEL for that container had already found nothing to release, and
// the address would stay taken until GC. The main plugin names itself in the
// delegate's environment; the delegate asks the kernel to SIGKILL it when
// that parent ends. What a killed IPAM call leaves is what any killed writer
// leaves, which ADD, DEL and GC already clean up.
import { CniError, ErrorCode } from "./errors";
import { isDigits } from "../text";
import { sysGetppid, sysSetParentDeathSignal } from "../sys/libc";

/** Set by lib/cni/delegate.ts for the plugins it runs: the delegating plugin's pid. */
export const DELEGATOR_PID_ENV = "SPIDERPOOL_DELEGATOR_PID";

const SIGKILL = 9;

/**
 * When a plugin of ours started this process (the variable is set), the
 * kernel kills this process once that plugin ends; throws (try again
 * later) when it has already ended, so nothing is done for a call nobody
 * waits for. Without the variable (run by a runtime): nothing.
 */
export function stayWithDelegator(env: Record<string, string | undefined>): void {
  const raw = env[DELEGATOR_PID_ENV];
  if (raw === undefined || !isDigits(raw)) return;
  const delegator = Number(raw);
  sysSetParentDeathSignal(SIGKILL);
  // Checked after arming: a parent that died before would never signal.
  if (sysGetppid() !== delegator) {
    throw new CniError(ErrorCode.TryAgainLater, `the plugin that delegated this call (pid ${delegator}) has exited; nothing was done`);
  }
}
