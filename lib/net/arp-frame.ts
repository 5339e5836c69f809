// ARP over Ethernet frames (RFC 826) for IPv4 conflict detection (RFC 5227):
// the probe and announcement we send, and the fields of any ARP frame read back.
import { formatIP } from "../ip/address";
import { bytesToIp, ipToBytes } from "../netlink/ipaddr";
import { ipOf } from "./ip-text";
import { formatMac } from "./link";
import { NetInputError } from "./errors";

export const ETH_P_ARP = 0x0806;
const ETH_P_IP = 0x0800;
const ARPHRD_ETHER = 1;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
const ETH_HEADER = 14;
const ARP_BODY = 28;
// Ethernet's minimum frame (without the FCS): shorter ones are padded with zeros.
const MIN_FRAME = 60;

export interface ArpFrame {
  /** The Ethernet source. */
  from: string;
  op: number;
  senderMac: string;
  /** "0.0.0.0" for a probe. */
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

export interface ArpConflict {
  ip: string;
  /** The MAC of the host that claims the address. */
  mac: string;
}

function macBytes(mac: string): Uint8Array {
  const parts = mac.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new NetInputError(`invalid MAC address "${mac}"`);
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

function ipv4Bytes(text: string): Uint8Array {
  const ip = ipOf(text);
  if (ip.family !== 4) throw new NetInputError(`address ${text} is not IPv4`);
  return ipToBytes(ip);
}

/** A broadcast ARP request from `mac`; sender and target addresses as given. */
function request(mac: string, senderIp: string, targetIp: string): Uint8Array {
  const frame = new Uint8Array(MIN_FRAME);
  const view = new DataView(frame.buffer);
  const source = macBytes(mac);
  frame.fill(0xff, 0, 6);
  frame.set(source, 6);
  view.setUint16(12, ETH_P_ARP);
  view.setUint16(14, ARPHRD_ETHER);
  view.setUint16(16, ETH_P_IP);
  frame[18] = 6;
  frame[19] = 4;
  view.setUint16(20, ARP_REQUEST);
  frame.set(source, 22);
  frame.set(ipv4Bytes(senderIp), 28);
  // Target hardware address (32..37) stays zero: it is what is being asked.
  frame.set(ipv4Bytes(targetIp), 38);
  return frame;
}

/** RFC 5227 probe: "who has `ip`?" asked from sender address 0.0.0.0, so no neighbour learns anything from it. */
export const arpProbe = (mac: string, ip: string) => request(mac, "0.0.0.0", ip);

/** RFC 5227 announcement: `ip` is now at `mac` (sender and target address both `ip`). */
export const arpAnnouncement = (mac: string, ip: string) => request(mac, ip, ip);

/** The ARP fields of an Ethernet frame; undefined when it is not Ethernet/IPv4 ARP. */
export function parseArpFrame(frame: Uint8Array): ArpFrame | undefined {
  if (frame.length < ETH_HEADER + ARP_BODY) return undefined;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint16(12) !== ETH_P_ARP) return undefined;
  if (view.getUint16(14) !== ARPHRD_ETHER || view.getUint16(16) !== ETH_P_IP || frame[18] !== 6 || frame[19] !== 4) return undefined;
  const ip = (at: number) => formatIP(bytesToIp(frame.subarray(at, at + 4)));
  return {
    from: formatMac(frame.subarray(6, 12)),
    op: view.getUint16(20),
    senderMac: formatMac(frame.subarray(22, 28)),
    senderIp: ip(28),
    targetMac: formatMac(frame.subarray(32, 38)),
    targetIp: ip(38),
  };
}

const ZERO = "0.0.0.0";

/**
 * A frame that shows another host using `ip`: it names `ip` as its sender
 * (a reply to our probe, an announcement, any request from it), or it probes
 * for `ip` itself (RFC 5227 2.1.1: a simultaneous probe is a conflict too).
 * Frames from our own MAC are ours, or a cloud network answering for an
 * address it assigned to us.
 */
export function conflictIn(frame: ArpFrame, ips: readonly string[], ownMac: string): ArpConflict | undefined {
  if (frame.senderMac === ownMac || frame.from === ownMac) return undefined;
  if (ips.includes(frame.senderIp)) return { ip: frame.senderIp, mac: frame.senderMac };
  if (frame.op === ARP_REQUEST && frame.senderIp === ZERO && ips.includes(frame.targetIp)) return { ip: frame.targetIp, mac: frame.senderMac };
  return undefined;
}
