// struct nlattr: { u16 len; u16 type } + value, padded to 4 bytes. len counts
// header + value but not the padding. Integers are in host byte order; the
// targets (x86_64, arm64) are little-endian, so the codec writes LE.
import { NLA_F_NESTED, NLA_TYPE_MASK } from "./constants";

export interface Attr {
  type: number;
  /** Bytes, or child attributes (encoded with NLA_F_NESTED). */
  value: Uint8Array | Attr[];
}

/** Netlink's alignment: lengths rounded up to a multiple of 4. */
export const align4 = (n: number) => (n + 3) & ~3;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

function intBytes(size: 1 | 2 | 4, value: number, signed = false): Uint8Array {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  if (size === 1) view.setUint8(0, value);
  else if (size === 2) view.setUint16(0, value, true);
  else if (signed) view.setInt32(0, value, true);
  else view.setUint32(0, value, true);
  return bytes;
}

/** Attribute builders. */
export const nla = {
  u8: (type: number, value: number): Attr => ({ type, value: intBytes(1, value) }),
  u16: (type: number, value: number): Attr => ({ type, value: intBytes(2, value) }),
  u32: (type: number, value: number): Attr => ({ type, value: intBytes(4, value) }),
  s32: (type: number, value: number): Attr => ({ type, value: intBytes(4, value, true) }),
  /** NUL-terminated string (NLA_NUL_STRING / NLA_STRING both accept it). */
  str: (type: number, value: string): Attr => {
    const text = textEncoder.encode(value);
    const bytes = new Uint8Array(text.length + 1);
    bytes.set(text);
    return { type, value: bytes };
  },
  bytes: (type: number, value: Uint8Array): Attr => ({ type, value }),
  nested: (type: number, children: Attr[]): Attr => ({ type, value: children }),
};

function encodedSize(attrs: Attr[]): number {
  let size = 0;
  for (const a of attrs) size += align4(4 + valueSize(a));
  return size;
}

function valueSize(a: Attr): number {
  return a.value instanceof Uint8Array ? a.value.length : encodedSize(a.value);
}

function writeAttrs(attrs: Attr[], out: Uint8Array, offset: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (const a of attrs) {
    const len = 4 + valueSize(a);
    view.setUint16(offset, len, true);
    if (a.value instanceof Uint8Array) {
      view.setUint16(offset + 2, a.type, true);
      out.set(a.value, offset + 4);
    } else {
      view.setUint16(offset + 2, a.type | NLA_F_NESTED, true);
      writeAttrs(a.value, out, offset + 4);
    }
    offset += align4(len); // padding bytes stay zero (fresh buffer)
  }
  return offset;
}

export function encodeAttrs(attrs: Attr[]): Uint8Array {
  const out = new Uint8Array(encodedSize(attrs));
  writeAttrs(attrs, out, 0);
  return out;
}

/** Parsed attributes of one level; values are views into the message. */
export class AttrTable {
  readonly list: ReadonlyArray<{ type: number; value: Uint8Array }>;
  private readonly byType = new Map<number, Uint8Array>();

  constructor(list: Array<{ type: number; value: Uint8Array }>) {
    this.list = list;
    for (const a of list) this.byType.set(a.type, a.value); // last one wins, like the kernel's nla_parse
  }

  has(type: number): boolean {
    return this.byType.has(type);
  }

  bytes(type: number): Uint8Array | undefined {
    return this.byType.get(type);
  }

  u8(type: number): number | undefined {
    const v = this.byType.get(type);
    return v && v.length >= 1 ? v[0] : undefined;
  }

  u16(type: number): number | undefined {
    const v = this.byType.get(type);
    return v && v.length >= 2 ? dataView(v).getUint16(0, true) : undefined;
  }

  u32(type: number): number | undefined {
    const v = this.byType.get(type);
    return v && v.length >= 4 ? dataView(v).getUint32(0, true) : undefined;
  }

  s32(type: number): number | undefined {
    const v = this.byType.get(type);
    return v && v.length >= 4 ? dataView(v).getInt32(0, true) : undefined;
  }

  /** String up to the first NUL (the kernel sends NUL-terminated strings). */
  str(type: number): string | undefined {
    const v = this.byType.get(type);
    if (!v) return undefined;
    const end = v.indexOf(0);
    return textDecoder.decode(end === -1 ? v : v.subarray(0, end));
  }

  nested(type: number): AttrTable | undefined {
    const v = this.byType.get(type);
    return v ? decodeAttrs(v) : undefined;
  }
}

const dataView = (v: Uint8Array) => new DataView(v.buffer, v.byteOffset, v.byteLength);

/** Decodes a run of attributes; a truncated trailing attribute is ignored (as the kernel does). */
export function decodeAttrs(bytes: Uint8Array): AttrTable {
  const view = dataView(bytes);
  const list: Array<{ type: number; value: Uint8Array }> = [];
  let offset = 0;
  while (offset + 4 <= bytes.length) {
    const len = view.getUint16(offset, true);
    if (len < 4 || offset + len > bytes.length) break;
    list.push({
      type: view.getUint16(offset + 2, true) & NLA_TYPE_MASK,
      value: bytes.subarray(offset + 4, offset + len),
    });
    offset += align4(len);
  }
  return new AttrTable(list);
}
