// DEL: release the addresses, then remove the link if the namespace still
// exists. Success when the namespace, the link or the allocation is already
// gone; needs neither the master nor a default route.
import type { CniRequest } from "../../../lib/cni/skel";
import { removePodInterface } from "../../../lib/ipvlan/interface";
import { openPodNetnsIfPresent } from "../../../lib/ipvlan/pod-netns";
import { ipam, ipvlanConfig } from "../context";

export function ipvlanDel(req: CniRequest): void {
  const cfg = ipvlanConfig(req);
  ipam(req, cfg, "DEL");
  const pod = openPodNetnsIfPresent(req.env.netns);
  if (!pod) return;
  try {
    removePodInterface(pod, req.env.ifname);
  } finally {
    pod.close();
  }
}
