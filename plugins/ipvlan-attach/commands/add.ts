// ADD: vet the master, get addresses (IPAM, or prevResult when chained),
// create and configure the pod's ipvlan interface (IPv4 addresses ARP-probed
// before they are added, with detectIPConflict), check the gateways answer
// (detectGateway), then the side channel to the node (coordinator). Any
// failure after IPAM ADD removes what was made and releases the addresses:
// nothing is left behind, except that addresses another host turned out to
// use stay quarantined in IPAM.
import { CniError, ErrorCode } from "../../../lib/cni/errors";
import type { CniRequest } from "../../../lib/cni/skel";
import type { CniResult } from "../../../lib/cni/types";
import { assertInterfaceAbsent, configurePodInterface, createPodIpvlan, interfaceTable, removePodInterface, setPodRPFilter } from "../../../lib/ipvlan/interface";
import { AddressConflictError } from "../../../lib/ipvlan/conflict";
import { awaitGateways } from "../../../lib/ipvlan/gateway";
import { resolveParent } from "../../../lib/ipvlan/master";
import { openPodNetns } from "../../../lib/ipvlan/pod-netns";
import { setupSideChannel, teardownSideChannel } from "../../../lib/coordinator/side-channel";
import { getLinkByIndex } from "../../../lib/net/link";
import { NetlinkSocket } from "../../../lib/netlink/socket";
import { ipam, ipvlanConfig } from "../context";
import { mark } from "../../../lib/timing";

function addresses(req: CniRequest, hasIpam: boolean): CniResult | undefined {
  if (hasIpam) return undefined;
  const prev = req.prevResult;
  if (!prev || !prev.ips || prev.ips.length === 0) {
    throw new CniError(ErrorCode.InvalidConfig, 'no "ipam" configured and no prevResult with addresses to use (chained mode)');
  }
  return prev;
}

export async function ipvlanAdd(req: CniRequest): Promise<CniResult> {
  mark("command");
  const cfg = ipvlanConfig(req);
  const { ifname, netns } = req.env;
  const chained = addresses(req, cfg.ipamType !== undefined);

  const pod = openPodNetns(netns);
  // The node's socket: the master's namespace, and where the side channel's node end lives.
  const hostSock = new NetlinkSocket();
  try {
    const masterSock = cfg.linkInContainer ? pod.sock : hostSock;
    const master = resolveParent(masterSock, cfg, cfg.linkInContainer ? "pod" : "host");
    // The kernel takes any IFLA_MTU up to 65535 when it creates an ipvlan (only later changes
    // are bounded by the master's): refuse it here, before anything is allocated.
    if (cfg.mtu > master.mtu) {
      throw new CniError(ErrorCode.InvalidConfig, `mtu ${cfg.mtu} is larger than the mtu ${master.mtu} of master ${master.name}`, 'set "mtu" to at most the master\'s, or 0 to inherit it');
    }
    assertInterfaceAbsent(pod, ifname);

    mark("checked");
    const allocated = chained ?? (await ipam(req, cfg, "ADD"))!;
    mark("ipam");
    let created = false;
    let sideChannel = false;
    try {
      const ips = allocated.ips ?? [];
      if (ips.length === 0) throw new CniError(ErrorCode.InvalidConfig, `IPAM plugin ${cfg.ipamType} returned no addresses`);
      const link = createPodIpvlan({ masterSock, master, pod, ifname, mode: cfg.mode, mtu: cfg.mtu, masterInPod: cfg.linkInContainer, containerId: req.env.containerId });
      created = true;
      mark("created");
      const { tunePodRoutes, podDefaultRouteNIC, detectIPConflict, conflictProbeMs, detectGateway, gatewayTimeoutMs, podRPFilter } = cfg.coordinator;
      const tuned = tunePodRoutes && ifname !== podDefaultRouteNIC;
      configurePodInterface(pod, link, ips, allocated.routes ?? [], {
        dad: cfg.dad,
        ...(tuned ? { ownTable: interfaceTable(link.index) } : {}),
        // The master's namespace: the node's, or the pod's with linkInContainer.
        ...(detectIPConflict ? { conflictProbe: { windowMs: conflictProbeMs, listenOn: { index: master.index, ...(cfg.linkInContainer ? { netnsFd: pod.fd } : {}) } } } : {}),
      });
      mark("configured");
      if (detectGateway) {
        const gateways = [...new Set(ips.flatMap((ip) => (ip.gateway ? [ip.gateway] : [])))];
        if (gateways.length > 0) awaitGateways(pod, link, gateways, gatewayTimeoutMs);
        mark("gateway");
      }
      if (cfg.coordinator.enabled) {
        sideChannel = true;
        const ctx = { hostSock, pod, cfg: cfg.coordinator, containerId: req.env.containerId, ifname, ...(cfg.linkInContainer ? {} : { master }) };
        for (const w of setupSideChannel(ctx, ips.map((ip) => ip.address))) process.stderr.write(`ipvlan-attach: coordinator: ${w}\n`);
      }
      mark("side-channel");
      if (podRPFilter !== undefined) setPodRPFilter(pod, ifname, podRPFilter);
      const final = getLinkByIndex(pod.sock, link.index);
      const result: CniResult = {
        cniVersion: req.conf.cniVersion,
        interfaces: [{ name: ifname, ...(final?.mac ? { mac: final.mac } : {}), sandbox: netns }],
        ips: ips.map((ip) => ({ ...ip, interface: 0 })),
        routes: allocated.routes ?? [],
      };
      if (allocated.dns) result.dns = allocated.dns;
      return result;
    } catch (e) {
      if (sideChannel) {
        try {
          teardownSideChannel(hostSock, cfg.coordinator, req.env.containerId, ifname);
        } catch (rollback) {
          process.stderr.write(`ipvlan-attach: rollback: side channel: ${(rollback as Error).message}\n`);
        }
      }
      if (created) {
        try {
          removePodInterface(pod, ifname, req.env.containerId);
        } catch {
          /* the namespace may be going away; IPAM release below still matters */
        }
      }
      if (!chained) {
        // Only with detection on: ipv6DAD alone has always released a conflicted address.
        const conflicts = cfg.coordinator.detectIPConflict && e instanceof AddressConflictError ? e.conflicts : [];
        try {
          await ipam(req, cfg, "DEL", conflicts);
        } catch (rollback) {
          process.stderr.write(`ipvlan-attach: rollback: IPAM DEL failed: ${(rollback as Error).message}\n`);
        }
      }
      throw e;
    }
  } finally {
    hostSock.close();
    pod.close();
  }
}
