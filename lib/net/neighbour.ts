// Neighbour entries (RTM_NEWNEIGH / RTM_GETNEIGH): asking the kernel to
// resolve an address on a link, and reading how far it got.
import { decodeAttrs, nla } from "../netlink/attr";
import { NDA, NLM_F, NTF, NUD, RTM } from "../netlink/constants";
import { addressFamily, bytesToIp, ipToBytes } from "../netlink/ipaddr";
import { buildPayload } from "../netlink/message";
import type { NetlinkSocket } from "../netlink/socket";
import { decodeNdMsg, encodeNdMsg, NDMSG_LEN } from "../netlink/structs";
import { formatIP } from "../ip/address";
import { ipOf } from "./ip-text";

/**
 * Makes the kernel resolve `ip` on link `index` now (`ip neigh replace IP dev
 * LINK use`): the entry is created if missing and, unless already valid, an
 * ARP request or neighbour solicitation goes out as for any packet to it.
 */
export function resolveNeighbour(sock: NetlinkSocket, index: number, ip: string): void {
  const address = ipOf(ip);
  const header = encodeNdMsg({ family: addressFamily(address.family), index, state: NUD.NONE, flags: NTF.USE });
  sock.request(
    { type: RTM.NEWNEIGH, flags: NLM_F.CREATE | NLM_F.REPLACE, payload: buildPayload(header, [nla.bytes(NDA.DST, ipToBytes(address))]) },
    `resolve neighbour ${ip} on link index ${index}`,
  );
}

/** The NUD_* state of the entry for `ip` on link `index`; undefined when there is none. */
export function neighbourState(sock: NetlinkSocket, index: number, ip: string): number | undefined {
  const address = ipOf(ip);
  const wanted = formatIP(address);
  const header = encodeNdMsg({ family: addressFamily(address.family) });
  for (const msg of sock.dump({ type: RTM.GETNEIGH, payload: buildPayload(header) }, "list neighbours")) {
    const nd = decodeNdMsg(msg.payload);
    if (nd.index !== index) continue;
    const dst = decodeAttrs(msg.payload.subarray(NDMSG_LEN)).bytes(NDA.DST);
    if (dst && (dst.length === 4 || dst.length === 16) && formatIP(bytesToIp(dst)) === wanted) return nd.state;
  }
  return undefined;
}

/** The neighbour answered: its link-layer address is known (possibly to be confirmed again later). */
export const isResolved = (state: number) => (state & (NUD.REACHABLE | NUD.STALE | NUD.DELAY | NUD.PROBE | NUD.PERMANENT | NUD.NOARP)) !== 0;
