// The pod's namespace as ipvlan-attach opens it: one that does not exist is
// the CNI's unknown container (code 3) for ADD and CHECK, and nothing to undo
// for DEL.
import { CniError, ErrorCode } from "../cni/errors";
import { openPodNetns as openNamespace, type PodNetns } from "../net/pod-netns";
import { isNetnsGone } from "../sys/netns";

export function openPodNetns(path: string): PodNetns {
  try {
    return openNamespace(path);
  } catch (e) {
    if (isNetnsGone(e)) throw new CniError(ErrorCode.UnknownContainer, `network namespace ${path} does not exist`);
    throw e;
  }
}

/** Opens the namespace, or returns undefined when it no longer exists (DEL). */
export function openPodNetnsIfPresent(path: string): PodNetns | undefined {
  if (!path) return undefined;
  try {
    return openNamespace(path);
  } catch (e) {
    if (isNetnsGone(e)) return undefined;
    throw e;
  }
}
