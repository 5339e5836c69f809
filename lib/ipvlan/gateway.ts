// Gateway detection: once the pod's addresses are on its interface (and known
// to be ours), the pod resolves each family's gateway, and ADD fails with
// code 111 when one does not answer in time.
//
// The kernel does the asking (an `ip neigh ... use` request): its ARP request
// carries the pod's address as sender, the only one on the interface, and its
// neighbour solicitation the right source and options; the answer fills the
// entry the pod's traffic will use anyway. No frames of our own to build,
// match or retry.
import { sleepSync } from "../sleep";
import { CniError, ErrorCode } from "../cni/errors";
import { isResolved, neighbourState, resolveNeighbour } from "../net/neighbour";
import type { Link } from "../net/link";
import type { PodNetns } from "../net/pod-netns";
import { NUD } from "../netlink/constants";

const POLL_MS = 10;
/** Waits until every gateway answered on `link`, at most `timeoutMs`; code 111 names those that did not. */
export function awaitGateways(pod: PodNetns, link: Link, gateways: string[], timeoutMs: number): void {
  const deadline = performance.now() + timeoutMs;
  const pending = new Set(gateways);
  for (const gw of pending) resolveNeighbour(pod.sock, link.index, gw);
  for (;;) {
    for (const gw of [...pending]) {
      const state = neighbourState(pod.sock, link.index, gw);
      if (state !== undefined && isResolved(state)) pending.delete(gw);
      // The kernel gave up (or dropped the entry) before our deadline: ask again.
      else if (state === undefined || (state & NUD.FAILED) !== 0) resolveNeighbour(pod.sock, link.index, gw);
    }
    if (pending.size === 0) return;
    const left = deadline - performance.now();
    if (left <= 0) {
      const names = [...pending];
      throw new CniError(
        ErrorCode.GatewayUnreachable,
        `gateway ${names.join(", ")} did not answer on ${link.name} within ${timeoutMs} ms`,
        "check the pool's gateway and the network it is on, or raise coordinator.gatewayTimeoutMs",
      );
    }
    sleepSync(Math.min(POLL_MS, left));
  }
}
