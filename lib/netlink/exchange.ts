// What the kernel's answers to one request mean, independent of the socket:
// which messages belong to it (by seq), when it is finished (ack, error or
// NLMSG_DONE) and whether it failed. Pure, so it is unit-tested on Node.
import { NLM_F, NLMSG_DONE, NLMSG_ERROR } from "./constants";
import { NetlinkError } from "./error";
import { decodeError, type NetlinkMessage } from "./message";

export class Exchange {
  readonly replies: NetlinkMessage[] = [];
  /** A dump saw NLM_F_DUMP_INTR: the kernel's tables changed while it ran. */
  interrupted = false;
  done = false;

  constructor(
    readonly seq: number,
    readonly kind: "request" | "dump",
    readonly op: string,
  ) {}

  /** Feeds one datagram's messages; returns true once the exchange is complete. Throws NetlinkError. */
  accept(messages: NetlinkMessage[]): boolean {
    for (const msg of messages) {
      if (this.done) break;
      if (msg.seq !== this.seq) continue; // late answer to an earlier request on this socket
      if (msg.flags & NLM_F.DUMP_INTR) this.interrupted = true;
      if (msg.type === NLMSG_ERROR) {
        const report = decodeError(msg);
        if (report.errno !== 0) throw new NetlinkError(this.op, report.errno, report.kernelMessage);
        // An ack ends a request; in a dump it can only be a stray and is skipped.
        if (this.kind === "request") this.done = true;
      } else if (msg.type === NLMSG_DONE) {
        // DONE carries an s32 status, negative when the dump itself failed; extack TLVs may follow.
        const p = msg.payload;
        const status = p.length >= 4 ? new DataView(p.buffer, p.byteOffset, p.byteLength).getInt32(0, true) : 0;
        if (status < 0) throw new NetlinkError(this.op, -status);
        this.done = true;
      } else {
        this.replies.push(msg);
      }
    }
    return this.done;
  }
}
