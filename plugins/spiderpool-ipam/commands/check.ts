// CHECK: the allocation ADD made is still recorded, every address is still
// held by this container's interface, and the runtime's prevResult lists
// nothing else.
import { CniError, ErrorCode } from "../../../lib/cni/errors";
import type { CniRequest } from "../../../lib/cni/skel";
import { ipamConfig, openStore } from "../context";

export async function ipamCheck(req: CniRequest): Promise<void> {
  const cfg = ipamConfig(req);
  const { containerId, ifname } = req.env;
  const record = await (await openStore(cfg)).verify(containerId, ifname);
  const recorded = new Set(record.ips.map((e) => e.address));
  for (const ip of req.prevResult?.ips ?? []) {
    const address = ip.address.split("/")[0];
    if (address && !recorded.has(address)) {
      throw new CniError(ErrorCode.AllocationMissing, `prevResult address ${address} is not allocated to container ${containerId} interface ${ifname}`);
    }
  }
}
