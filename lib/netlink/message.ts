// struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid } and the
// NLMSG_ERROR payload { s32 error; struct nlmsghdr request; [request payload];
// [extended ack TLVs] }.
import { align4, decodeAttrs, encodeAttrs, type Attr } from "./attr";
import { NLM_F, NLMSG_ERROR, NLMSGERR_ATTR } from "./constants";

export const NLMSG_HDRLEN = 16;

export interface NetlinkHeader {
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

export interface NetlinkMessage extends NetlinkHeader {
  /** Everything after the 16-byte header (family struct + attributes). */
  payload: Uint8Array;
}

/** Concatenates a family header struct and its attributes into one payload. */
export function buildPayload(struct: Uint8Array, attrs: Attr[] = []): Uint8Array {
  const tail = encodeAttrs(attrs);
  const out = new Uint8Array(struct.length + tail.length);
  out.set(struct);
  out.set(tail, struct.length);
  return out;
}

export function encodeMessage(header: Omit<NetlinkHeader, "pid"> & { pid?: number }, payload: Uint8Array): Uint8Array {
  const len = NLMSG_HDRLEN + payload.length;
  const out = new Uint8Array(align4(len));
  const view = new DataView(out.buffer);
  view.setUint32(0, len, true);
  view.setUint16(4, header.type, true);
  view.setUint16(6, header.flags, true);
  view.setUint32(8, header.seq >>> 0, true);
  view.setUint32(12, header.pid ?? 0, true);
  out.set(payload, NLMSG_HDRLEN);
  return out;
}

function decodeHeader(view: DataView, offset: number): NetlinkHeader & { len: number } {
  return {
    len: view.getUint32(offset, true),
    type: view.getUint16(offset + 4, true),
    flags: view.getUint16(offset + 6, true),
    seq: view.getUint32(offset + 8, true),
    pid: view.getUint32(offset + 12, true),
  };
}

/** Splits one received datagram into messages. Payloads are views into `bytes`. */
export function decodeMessages(bytes: Uint8Array): NetlinkMessage[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const messages: NetlinkMessage[] = [];
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= bytes.length) {
    const len = view.getUint32(offset, true);
    if (len < NLMSG_HDRLEN || offset + len > bytes.length) {
      throw new Error(`malformed netlink message: length ${len} at offset ${offset} of ${bytes.length}`);
    }
    // One object per message, built in place: a dump of a busy node's
    // addresses or routes has hundreds (no destructuring and re-spreading).
    messages.push({
      type: view.getUint16(offset + 4, true),
      flags: view.getUint16(offset + 6, true),
      seq: view.getUint32(offset + 8, true),
      pid: view.getUint32(offset + 12, true),
      payload: bytes.subarray(offset + NLMSG_HDRLEN, offset + len),
    });
    offset += align4(len);
  }
  return messages;
}

export interface NetlinkErrorReport {
  /** Positive errno; 0 means this is an ack. */
  errno: number;
  /** Header of the request the kernel answers. */
  request?: NetlinkHeader;
  /** Extended ack text ("Unknown device type"). */
  kernelMessage?: string;
  /** Offset of the offending attribute in the request (from the start of its nlmsghdr). */
  badAttrOffset?: number;
  /** Attribute type the kernel expected but did not get. */
  missingAttrType?: number;
}

/** Decodes an NLMSG_ERROR (ack or error), with or without NETLINK_CAP_ACK. */
export function decodeError(msg: NetlinkMessage): NetlinkErrorReport {
  if (msg.type !== NLMSG_ERROR) throw new Error(`not an NLMSG_ERROR message (type ${msg.type})`);
  const p = msg.payload;
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (p.length < 4) throw new Error("truncated NLMSG_ERROR");
  const report: NetlinkErrorReport = { errno: 0 - view.getInt32(0, true) }; // 0 - x: no -0 for acks
  if (p.length < 4 + NLMSG_HDRLEN) return report;
  const { len: requestLen, ...request } = decodeHeader(view, 4);
  report.request = request;
  if (!(msg.flags & NLM_F.ACK_TLVS)) return report;
  // Without CAPPED the whole request follows (its own length); with it only its header.
  const tlvStart = 4 + (msg.flags & NLM_F.CAPPED ? NLMSG_HDRLEN : align4(requestLen));
  if (tlvStart > p.length) return report;
  const tlvs = decodeAttrs(p.subarray(tlvStart));
  const text = tlvs.str(NLMSGERR_ATTR.MSG);
  if (text) report.kernelMessage = text;
  const offs = tlvs.u32(NLMSGERR_ATTR.OFFS);
  if (offs !== undefined) report.badAttrOffset = offs;
  const missing = tlvs.u32(NLMSGERR_ATTR.MISS_TYPE);
  if (missing !== undefined) report.missingAttrType = missing;
  return report;
}
