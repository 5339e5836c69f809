// Fixed family headers that follow nlmsghdr, encoded and decoded field by field.
// Sizes: ifinfomsg 16, ifaddrmsg 8, rtmsg 12, fib_rule_hdr 12, ndmsg 12 (all 4-aligned).

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function need(b: Uint8Array, size: number, what: string): DataView {
  if (b.length < size) throw new Error(`truncated ${what}: ${b.length} < ${size} bytes`);
  return view(b);
}

/** struct ifinfomsg { u8 family; u8 pad; u16 type; s32 index; u32 flags; u32 change } */
export interface IfInfoMsg {
  family: number;
  type: number;
  index: number;
  flags: number;
  change: number;
}
export const IFINFOMSG_LEN = 16;

export function encodeIfInfoMsg(m: Partial<IfInfoMsg>): Uint8Array {
  const b = new Uint8Array(IFINFOMSG_LEN);
  const v = view(b);
  v.setUint8(0, m.family ?? 0);
  v.setUint16(2, m.type ?? 0, true);
  v.setInt32(4, m.index ?? 0, true);
  v.setUint32(8, m.flags ?? 0, true);
  v.setUint32(12, m.change ?? 0, true);
  return b;
}

export function decodeIfInfoMsg(b: Uint8Array): IfInfoMsg {
  const v = need(b, IFINFOMSG_LEN, "ifinfomsg");
  return {
    family: v.getUint8(0),
    type: v.getUint16(2, true),
    index: v.getInt32(4, true),
    flags: v.getUint32(8, true),
    change: v.getUint32(12, true),
  };
}

/** struct ifaddrmsg { u8 family; u8 prefixlen; u8 flags; u8 scope; u32 index } */
export interface IfAddrMsg {
  family: number;
  prefixLen: number;
  flags: number;
  scope: number;
  index: number;
}
export const IFADDRMSG_LEN = 8;

export function encodeIfAddrMsg(m: Partial<IfAddrMsg>): Uint8Array {
  const b = new Uint8Array(IFADDRMSG_LEN);
  const v = view(b);
  v.setUint8(0, m.family ?? 0);
  v.setUint8(1, m.prefixLen ?? 0);
  v.setUint8(2, (m.flags ?? 0) & 0xff); // flags above 0xff only fit in IFA_FLAGS
  v.setUint8(3, m.scope ?? 0);
  v.setUint32(4, m.index ?? 0, true);
  return b;
}

export function decodeIfAddrMsg(b: Uint8Array): IfAddrMsg {
  const v = need(b, IFADDRMSG_LEN, "ifaddrmsg");
  return {
    family: v.getUint8(0),
    prefixLen: v.getUint8(1),
    flags: v.getUint8(2),
    scope: v.getUint8(3),
    index: v.getUint32(4, true),
  };
}

/** struct rtmsg { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags } */
export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}
export const RTMSG_LEN = 12;

export function encodeRtMsg(m: Partial<RtMsg>): Uint8Array {
  const b = new Uint8Array(RTMSG_LEN);
  const v = view(b);
  [m.family, m.dstLen, m.srcLen, m.tos, m.table, m.protocol, m.scope, m.type].forEach((x, i) => v.setUint8(i, x ?? 0));
  v.setUint32(8, m.flags ?? 0, true);
  return b;
}

export function decodeRtMsg(b: Uint8Array): RtMsg {
  const v = need(b, RTMSG_LEN, "rtmsg");
  return {
    family: v.getUint8(0),
    dstLen: v.getUint8(1),
    srcLen: v.getUint8(2),
    tos: v.getUint8(3),
    table: v.getUint8(4),
    protocol: v.getUint8(5),
    scope: v.getUint8(6),
    type: v.getUint8(7),
    flags: v.getUint32(8, true),
  };
}

/** struct fib_rule_hdr { u8 family, dst_len, src_len, tos, table, res1, res2, action; u32 flags } */
export interface FibRuleHdr {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  action: number;
  flags: number;
}
export const FIB_RULE_HDR_LEN = 12;

export function encodeFibRuleHdr(m: Partial<FibRuleHdr>): Uint8Array {
  const b = new Uint8Array(FIB_RULE_HDR_LEN);
  const v = view(b);
  v.setUint8(0, m.family ?? 0);
  v.setUint8(1, m.dstLen ?? 0);
  v.setUint8(2, m.srcLen ?? 0);
  v.setUint8(3, m.tos ?? 0);
  v.setUint8(4, m.table ?? 0);
  v.setUint8(7, m.action ?? 0);
  v.setUint32(8, m.flags ?? 0, true);
  return b;
}

export function decodeFibRuleHdr(b: Uint8Array): FibRuleHdr {
  const v = need(b, FIB_RULE_HDR_LEN, "fib_rule_hdr");
  return {
    family: v.getUint8(0),
    dstLen: v.getUint8(1),
    srcLen: v.getUint8(2),
    tos: v.getUint8(3),
    table: v.getUint8(4),
    action: v.getUint8(7),
    flags: v.getUint32(8, true),
  };
}

/** struct ndmsg { u8 family; u8 pad1; u16 pad2; s32 ifindex; u16 state; u8 flags; u8 type } */
export interface NdMsg {
  family: number;
  index: number;
  state: number;
  flags: number;
  type: number;
}
export const NDMSG_LEN = 12;

export function encodeNdMsg(m: Partial<NdMsg>): Uint8Array {
  const b = new Uint8Array(NDMSG_LEN);
  const v = view(b);
  v.setUint8(0, m.family ?? 0);
  v.setInt32(4, m.index ?? 0, true);
  v.setUint16(8, m.state ?? 0, true);
  v.setUint8(10, m.flags ?? 0);
  v.setUint8(11, m.type ?? 0);
  return b;
}

export function decodeNdMsg(b: Uint8Array): NdMsg {
  const v = need(b, NDMSG_LEN, "ndmsg");
  return { family: v.getUint8(0), index: v.getInt32(4, true), state: v.getUint16(8, true), flags: v.getUint8(10), type: v.getUint8(11) };
}
