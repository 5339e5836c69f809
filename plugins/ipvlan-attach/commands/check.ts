// CHECK: what ADD made is still there and unchanged: the link in the right
// namespace, an ipvlan of the configured mode on the configured master, the
// MAC, addresses and routes of prevResult. IPAM CHECK runs too.
import { CniError, ErrorCode } from "../../../lib/cni/errors";
import type { CniRequest } from "../../../lib/cni/skel";
import { resolveParent } from "../../../lib/ipvlan/master";
import { openPodNetns } from "../../../lib/ipvlan/pod-netns";
import { listAddresses } from "../../../lib/net/address";
import { getLinkByName } from "../../../lib/net/link";
import { listRoutes } from "../../../lib/net/route";
import { NetlinkSocket } from "../../../lib/netlink/socket";
import { checkSideChannel } from "../../../lib/coordinator/side-channel";
import { parseIP, formatIP } from "../../../lib/ip/address";
import { ipam, ipvlanConfig } from "../context";

const fail = (msg: string) => new CniError(ErrorCode.InvalidConfig, `CHECK: ${msg}`);
const canonical = (text: string) => {
  const ip = parseIP(text);
  return ip ? formatIP(ip) : text;
};
const canonicalCidr = (text: string) => {
  const [a, p] = text.split("/");
  return `${canonical(a!)}/${p}`;
};

export async function ipvlanCheck(req: CniRequest): Promise<void> {
  const cfg = ipvlanConfig(req);
  const prev = req.prevResult;
  if (!prev) throw new CniError(ErrorCode.InvalidConfig, "CHECK needs prevResult");
  if (cfg.ipamType) await ipam(req, cfg, "CHECK");
  const { ifname, netns } = req.env;
  const index = (prev.interfaces ?? []).findIndex((i) => i.name === ifname && (i.sandbox === undefined || i.sandbox === netns));
  if (index < 0) throw fail(`prevResult has no interface ${ifname} in ${netns}`);
  const expected = prev.interfaces![index]!;

  const pod = openPodNetns(netns);
  const hostSock = new NetlinkSocket();
  try {
    // linkInContainer without "master": the pod's default route now also goes through our
    // own slave, which must not be taken for the master.
    const master = resolveParent(cfg.linkInContainer ? pod.sock : hostSock, cfg, cfg.linkInContainer ? "pod" : "host", {
      create: false,
      ...(cfg.linkInContainer ? { except: ifname } : {}),
    });
    const link = getLinkByName(pod.sock, ifname);
    if (!link) throw fail(`interface ${ifname} is missing from ${netns}`);
    if (link.kind !== "ipvlan") throw fail(`interface ${ifname} is a ${link.kind ?? "plain"} device, not ipvlan`);
    if (link.ipvlanMode !== cfg.mode) throw fail(`interface ${ifname} is in ipvlan mode ${link.ipvlanMode}, configured ${cfg.mode}`);
    if (link.linkIndex !== master.index) throw fail(`interface ${ifname} is not a slave of master ${master.name}`);
    if (expected.mac && link.mac?.toLowerCase() !== expected.mac.toLowerCase()) {
      throw fail(`interface ${ifname} has MAC ${link.mac}, prevResult says ${expected.mac}`);
    }
    const present = new Set(listAddresses(pod.sock, { index: link.index }).map((a) => `${a.ip}/${a.prefix}`));
    for (const ip of prev.ips ?? []) {
      if (ip.interface !== undefined && ip.interface !== index) continue;
      if (!present.has(canonicalCidr(ip.address))) throw fail(`address ${ip.address} is missing from ${ifname}`);
    }
    const routes = [...listRoutes(pod.sock, { family: 4 }), ...listRoutes(pod.sock, { family: 6 })];
    for (const r of prev.routes ?? []) {
      const dst = canonicalCidr(r.dst);
      const found = routes.some((k) => k.dst === dst && k.oif === link.index && (!r.gw || (k.gw !== undefined && canonical(k.gw) === canonical(r.gw))));
      if (!found) throw fail(`route ${r.dst}${r.gw ? ` via ${r.gw}` : ""} is missing on ${ifname}`);
    }
    if (cfg.coordinator.enabled) checkSideChannel(hostSock, pod, cfg.coordinator, req.env.containerId, ifname);
  } finally {
    hostSock.close();
    pod.close();
  }
}
