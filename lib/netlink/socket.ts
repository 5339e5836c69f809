// A NETLINK_ROUTE socket doing one request at a time, synchronously.
// The socket belongs to the netns of the thread that created it: to work in a
// pod's netns, construct it inside withNetns(podFd, () => new NetlinkSocket()).
import { assertNotStranded } from "../sys/netns";
import { Errno } from "../sys/errno";
import { SysError } from "../sys/errors";
import {
  MSG_TRUNC,
  SO_RCVTIMEO,
  SOCK_RAW,
  SOL_SOCKET,
  sysBind,
  sysClose,
  sysRecv,
  sysSend,
  sysSetsockopt,
  sysSocket,
} from "../sys/libc";
import { AF_NETLINK, NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_ROUTE, NLM_F, SOL_NETLINK } from "./constants";
import { NetlinkError } from "./error";
import { Exchange } from "./exchange";
import { decodeMessages, encodeMessage, type NetlinkMessage } from "./message";

const MSG_PEEK = 0x2;
const RECV_TIMEOUT_SECONDS = 10;
const DUMP_ATTEMPTS = 3;

export interface NetlinkRequest {
  type: number;
  /** Added to NLM_F_REQUEST (and NLM_F_ACK / NLM_F_DUMP, which the socket sets). */
  flags?: number;
  /** Family header + attributes (see buildPayload). */
  payload: Uint8Array;
}

export class NetlinkSocket {
  private fd: number;
  private seq = 0;
  // Kept for the socket's life: recv writes into it through a raw pointer.
  private buffer = new Uint8Array(64 * 1024);
  private readonly peekBuffer = new Uint8Array(16);

  constructor() {
    assertNotStranded();
    this.fd = sysSocket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    try {
      // sockaddr_nl { u16 family; u16 pad; u32 pid (0: the kernel picks); u32 groups }
      const address = new Uint8Array(12);
      new DataView(address.buffer).setUint16(0, AF_NETLINK, true);
      sysBind(this.fd, address);
      const on = int32(1);
      sysSetsockopt(this.fd, SOL_NETLINK, NETLINK_EXT_ACK, on); // kernel error strings
      sysSetsockopt(this.fd, SOL_NETLINK, NETLINK_CAP_ACK, on); // errors without the echoed request
      // struct timeval { i64 sec; i64 usec }: never hang if an answer gets lost.
      const timeout = new Uint8Array(16);
      new DataView(timeout.buffer).setBigInt64(0, BigInt(RECV_TIMEOUT_SECONDS), true);
      sysSetsockopt(this.fd, SOL_SOCKET, SO_RCVTIMEO, timeout);
    } catch (err) {
      sysClose(this.fd);
      throw err;
    }
  }

  /**
   * Sends one request and waits for its ack. Returns the replies that came
   * before the ack (a GET answers with one). Throws NetlinkError on a kernel error.
   */
  request(req: NetlinkRequest, op: string): NetlinkMessage[] {
    const seq = this.send(req.type, NLM_F.REQUEST | NLM_F.ACK | (req.flags ?? 0), req.payload, op);
    return this.collect(new Exchange(seq, "request", op)).replies;
  }

  /** Runs a dump; repeats it when the kernel flags it as interrupted by a concurrent change. */
  dump(req: NetlinkRequest, op: string): NetlinkMessage[] {
    for (let attempt = 1; ; attempt++) {
      const seq = this.send(req.type, NLM_F.REQUEST | NLM_F.DUMP | (req.flags ?? 0), req.payload, op);
      const exchange = this.collect(new Exchange(seq, "dump", op));
      if (!exchange.interrupted || attempt === DUMP_ATTEMPTS) return exchange.replies;
    }
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    sysClose(fd);
  }

  private collect(exchange: Exchange): Exchange {
    while (!exchange.accept(this.receive(exchange.op)));
    return exchange;
  }

  private send(type: number, flags: number, payload: Uint8Array, op: string): number {
    if (this.fd < 0) throw new Error(`${op}: netlink socket is closed`);
    const seq = (this.seq = (this.seq + 1) >>> 0);
    const bytes = encodeMessage({ type, flags, seq }, payload);
    try {
      sysSend(this.fd, bytes);
    } catch (err) {
      throw asNetlinkError(err, op);
    }
    return seq;
  }

  /** One datagram, copied out of the receive buffer so parsed views survive the next recv. */
  private receive(op: string): NetlinkMessage[] {
    try {
      // Peek the datagram's real size first so a large reply is never truncated.
      const size = sysRecv(this.fd, this.peekBuffer, MSG_PEEK | MSG_TRUNC);
      if (size > this.buffer.length) this.buffer = new Uint8Array(size);
      const n = sysRecv(this.fd, this.buffer, 0);
      return decodeMessages(this.buffer.slice(0, n));
    } catch (err) {
      throw asNetlinkError(err, op);
    }
  }
}

function asNetlinkError(err: unknown, op: string): unknown {
  if (!(err instanceof SysError)) return err;
  if (err.errno === Errno.EAGAIN) return new NetlinkError(op, Errno.ETIMEDOUT, `no answer from the kernel within ${RECV_TIMEOUT_SECONDS} s`);
  return new NetlinkError(op, err.errno, `${err.syscall} on the netlink socket failed`);
}

function int32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, value, true);
  return bytes;
}
