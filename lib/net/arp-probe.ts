// IPv4 address conflict detection (RFC 5227): before an address is
// configured, ARP probes for it (sender address 0.0.0.0, so no neighbour's
// cache changes) go out of the interface that will hold it, and any other
// host claiming it within the window is a conflict.
//
// Where the answers arrive: a host owning the address answers a probe with a
// unicast reply to our MAC whose target address is 0.0.0.0. On an ipvlan
// master (whose MAC every slave shares) the kernel hands a frame to a slave
// by its target IP; with 0.0.0.0 no slave matches and the frame stays with
// the master. So the replies are read on the master's interface, in the
// master's namespace, not on the interface the probes leave by.
import { formatIP } from "../ip/address";
import { withNetns } from "../sys/netns";
import { PacketSocket } from "../sys/packet";
import { arpAnnouncement, arpProbe, conflictIn, ETH_P_ARP, parseArpFrame, type ArpConflict } from "./arp-frame";
import { ipOf } from "./ip-text";

/** An interface, and the namespace it lives in (undefined: this thread's). */
export interface InterfaceAt {
  index: number;
  netnsFd?: number;
}

export interface ArpProbeOptions {
  /** IPv4 addresses to probe, all within the same window. */
  ips: string[];
  /** Our MAC: the probes' sender, and frames from it are our own (or answers for us). */
  mac: string;
  /** Where the probes leave: the interface that will hold the addresses (up, no IPv4 address yet). */
  from: InterfaceAt;
  /** Where the answers are read (the ipvlan master). */
  listenOn: InterfaceAt;
  /** The whole window: probes spread inside it, answers read until its end. */
  windowMs: number;
  probes?: number;
}

const openOn = (at: InterfaceAt) =>
  at.netnsFd === undefined ? new PacketSocket(at.index, ETH_P_ARP) : withNetns(at.netnsFd, () => new PacketSocket(at.index, ETH_P_ARP));

/**
 * Probes `ips` and returns the first conflict seen within the window, or
 * undefined when no other host claimed any of them. Never waits past the window.
 */
export function probeIPv4(o: ArpProbeOptions): ArpConflict | undefined {
  const ips = o.ips.map((ip) => formatIP(ipOf(ip)));
  const mac = o.mac.toLowerCase();
  const probes = o.probes ?? 3;
  const frames = ips.map((ip) => arpProbe(mac, ip));
  // The listener first: an answer to the first probe must find it open.
  const listener = openOn(o.listenOn);
  try {
    const sender = openOn(o.from);
    try {
      const start = performance.now();
      const end = start + o.windowMs;
      const interval = o.windowMs / probes;
      let sent = 0;
      for (;;) {
        const now = performance.now();
        if (sent < probes && now >= start + sent * interval) {
          for (const frame of frames) sender.send(frame);
          sent++;
          continue;
        }
        if (now >= end) return undefined;
        const frame = listener.receive(sent < probes ? start + sent * interval : end);
        const arp = frame && parseArpFrame(frame);
        const conflict = arp && conflictIn(arp, ips, mac);
        if (conflict) return conflict;
      }
    } finally {
      sender.close();
    }
  } finally {
    listener.close();
  }
}

/** RFC 5227 announcements of addresses just configured after probing (the kernel announces only at link up). */
export function announceIPv4(ips: string[], mac: string, from: InterfaceAt): void {
  const sender = openOn(from);
  try {
    for (const ip of ips) sender.send(arpAnnouncement(mac.toLowerCase(), ip));
  } finally {
    sender.close();
  }
}
