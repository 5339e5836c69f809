// GC forwards to IPAM; STATUS is ready only when the master is present and up
// and the IPAM plugin says it can allocate.
import { CniError, ErrorCode } from "../../../lib/cni/errors";
import type { CniRequest } from "../../../lib/cni/skel";
import { resolveMaster } from "../../../lib/ipvlan/master";
import { NetlinkSocket } from "../../../lib/netlink/socket";
import { ipam, ipvlanConfig } from "../context";

export async function ipvlanGc(req: CniRequest): Promise<void> {
  await ipam(req, ipvlanConfig(req), "GC");
}

export async function ipvlanStatus(req: CniRequest): Promise<void> {
  const cfg = ipvlanConfig(req);
  if (!cfg.linkInContainer) {
    const sock = new NetlinkSocket();
    try {
      resolveMaster(sock, cfg.master, "host");
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new CniError(ErrorCode.PluginNotAvailable, `not ready: ${msg}`);
    } finally {
      sock.close();
    }
  }
  await ipam(req, cfg, "STATUS");
}
