// CHECK: the allocation ADD made is still recorded and every address is still
// claimed by this container's interface.
import { CniError, ErrorCode } from "../../../lib/cni/errors";
import type { CniRequest } from "../../../lib/cni/skel";
import { ipamConfig, openStore } from "../context";

export function ipamCheck(req: CniRequest): void {
  const cfg = ipamConfig(req);
  const { containerId, ifname } = req.env;
  openStore(cfg).withLock((tx) => {
    const record = tx.attachment(containerId, ifname);
    if (!record) {
      throw new CniError(ErrorCode.AllocationMissing, `no allocation recorded for container ${containerId} interface ${ifname}`);
    }
    for (const entry of record.ips) {
      const owner = tx.claim(entry.address);
      if (!owner || owner.containerID !== containerId || owner.ifname !== ifname) {
        throw new CniError(
          ErrorCode.AllocationMissing,
          `address ${entry.address} of container ${containerId} interface ${ifname} is not claimed by it${owner ? ` (held by ${owner.containerID}/${owner.ifname})` : ""}`,
        );
      }
    }
    const expected = (req.prevResult?.ips ?? []).map((ip) => ip.address.split("/")[0]);
    const recorded = new Set(record.ips.map((e) => e.address));
    for (const address of expected) {
      if (address && !recorded.has(address)) {
        throw new CniError(ErrorCode.AllocationMissing, `prevResult address ${address} is not allocated to container ${containerId} interface ${ifname}`);
      }
    }
  });
}
