// AF_PACKET sockets bound to one interface, for ipvlan-attach's ARP probe:
// whole Ethernet frames out, the frames of one EtherType in. Like netlink
// sockets, a packet socket belongs to the netns of the thread that creates
// it: make it inside withNetns for an interface in another namespace.
import { AF_PACKET, SOCK_RAW, sysBind, sysClose, sysPollIn, sysRecvIfQueued, sysSend, sysSocket } from "./libc";

const ETH_FRAME_MAX = 1514;

/** struct sockaddr_ll { u16 family; be16 protocol; s32 ifindex; u16 hatype; u8 pkttype; u8 halen; u8 addr[8] } */
function linkAddress(ifindex: number, ethertype: number): Uint8Array {
  const address = new Uint8Array(20);
  const view = new DataView(address.buffer);
  view.setUint16(0, AF_PACKET, true);
  view.setUint16(2, ethertype, false); // network byte order
  view.setInt32(4, ifindex, true);
  return address;
}

export class PacketSocket {
  private fd: number;
  private readonly buffer = new Uint8Array(ETH_FRAME_MAX);

  /** Bound to `ifindex`, receiving the frames of `ethertype` that interface sees (sent or received). */
  constructor(ifindex: number, ethertype: number) {
    // Protocol 0 at socket(): nothing is queued until bind names the interface,
    // so no frame of another interface slips in between.
    this.fd = sysSocket(AF_PACKET, SOCK_RAW, 0);
    try {
      sysBind(this.fd, linkAddress(ifindex, ethertype));
    } catch (err) {
      sysClose(this.fd);
      throw err;
    }
  }

  /** Sends one whole frame (Ethernet header included) out of the bound interface. */
  send(frame: Uint8Array): void {
    sysSend(this.fd, frame);
  }

  /** The next frame, waiting at most until `deadline` (a performance.now() time); undefined when none came. */
  receive(deadline: number): Uint8Array | undefined {
    for (;;) {
      const n = sysRecvIfQueued(this.fd, this.buffer);
      if (n >= 0) return this.buffer.slice(0, n);
      const left = deadline - performance.now();
      if (left <= 0 || !sysPollIn(this.fd, left)) return undefined;
    }
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    sysClose(fd);
  }
}
