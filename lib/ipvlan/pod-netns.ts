// A pod's network namespace opened for work: the fd (for IFLA_NET_NS_FD and
// setns) and a netlink socket living inside it.
import { CniError, ErrorCode } from "../cni/errors";
import { NetlinkSocket } from "../netlink/socket";
import { closeNetns, isNetnsGone, openNetns, withNetns } from "../sys/netns";

export interface PodNetns {
  path: string;
  fd: number;
  sock: NetlinkSocket;
  /** Runs synchronous work (sysctl writes) inside the namespace. */
  run<T>(fn: () => T): T;
  close(): void;
}

export function openPodNetns(path: string): PodNetns {
  let fd: number;
  try {
    fd = openNetns(path);
  } catch (e) {
    if (isNetnsGone(e)) throw new CniError(ErrorCode.UnknownContainer, `network namespace ${path} does not exist`);
    throw e;
  }
  let sock: NetlinkSocket;
  try {
    // A socket is bound to the netns of the thread that creates it.
    sock = withNetns(fd, () => new NetlinkSocket());
  } catch (e) {
    closeNetns(fd);
    throw e;
  }
  return {
    path,
    fd,
    sock,
    run: (fn) => withNetns(fd, fn),
    close() {
      sock.close();
      closeNetns(fd);
    },
  };
}

/** Opens the namespace, or returns undefined when it no longer exists (DEL). */
export function openPodNetnsIfPresent(path: string): PodNetns | undefined {
  if (!path) return undefined;
  try {
    return openPodNetns(path);
  } catch (e) {
    if (e instanceof CniError && e.code === ErrorCode.UnknownContainer) return undefined;
    throw e;
  }
}
