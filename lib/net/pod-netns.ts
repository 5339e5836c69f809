// A pod's network namespace opened for work: the fd (for IFLA_NET_NS_FD and
// setns) and a netlink socket living inside it.
import { NetlinkSocket } from "../netlink/socket";
import { closeNetns, openNetns, withNetns } from "../sys/netns";

export interface PodNetns {
  path: string;
  fd: number;
  sock: NetlinkSocket;
  /** Runs synchronous work (sysctl writes) inside the namespace. */
  run<T>(fn: () => T): T;
  close(): void;
}

/** Opens the namespace at `path`; when it does not exist, openNetns's error (isNetnsGone). */
export function openPodNetns(path: string): PodNetns {
  const fd = openNetns(path);
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
