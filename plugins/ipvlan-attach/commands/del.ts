// DEL: release the addresses, remove the side channel's node routes, rules
// and veth, then the link if the namespace still exists. Success when the namespace, the link or the allocation is already
// gone; needs neither the master nor a default route.
import type { CniRequest } from "../../../lib/cni/skel";
import { removePodInterface } from "../../../lib/ipvlan/interface";
import { openPodNetnsIfPresent } from "../../../lib/ipvlan/pod-netns";
import { teardownSideChannel } from "../../../lib/coordinator/side-channel";
import { NetlinkSocket } from "../../../lib/netlink/socket";
import { ipam, ipvlanConfig } from "../context";
import { mark } from "../../../lib/timing";

export async function ipvlanDel(req: CniRequest): Promise<void> {
  mark("command");
  const cfg = ipvlanConfig(req);
  await ipam(req, cfg, "DEL");
  mark("ipam");
  // The node side goes even when the pod's namespace is already gone.
  const hostSock = new NetlinkSocket();
  try {
    teardownSideChannel(hostSock, cfg.coordinator, req.env.containerId, req.env.ifname);
  } finally {
    hostSock.close();
  }
  mark("side-channel");
  const pod = openPodNetnsIfPresent(req.env.netns);
  if (!pod) return;
  try {
    removePodInterface(pod, req.env.ifname, req.env.containerId);
  } finally {
    pod.close();
  }
}
