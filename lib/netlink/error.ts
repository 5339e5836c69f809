// A kernel refusal of a netlink request, with the operation that failed and the
// kernel's own explanation (extended ack) when it gave one.
import { errnoMessage, errnoName } from "../sys/errno";

export class NetlinkError extends Error {
  /** Positive errno from the kernel (e.g. 95 for EOPNOTSUPP). */
  readonly errno: number;
  /** "EOPNOTSUPP" */
  readonly errnoName: string;
  /** What was asked, in words: "create ipvlan link tmp1a2b". */
  readonly op: string;
  /** Extended ack text, e.g. "Unknown device type". */
  readonly kernelMessage: string | undefined;

  constructor(op: string, errno: number, kernelMessage?: string) {
    const name = errnoName(errno);
    super(`${op}: ${kernelMessage ?? errnoMessage(errno)} (${name})`);
    this.name = "NetlinkError";
    this.errno = errno;
    this.errnoName = name;
    this.op = op;
    this.kernelMessage = kernelMessage;
  }
}

export const isNetlinkErrno = (err: unknown, errno: number): err is NetlinkError =>
  err instanceof NetlinkError && err.errno === errno;
