/**
 * A minimal DER reader: enough for X.509 certificates and ECDSA signatures. It keeps every
 * element's exact encoded bytes, because signatures cover encodings, not parsed values.
 */
export interface Tlv {
  tag: number;
  /** The whole element: tag, length and content. */
  raw: Uint8Array;
  content: Uint8Array;
}

export class DerError extends Error {
  override readonly name = 'DerError';
}

export function readTlv(bytes: Uint8Array, at = 0): { tlv: Tlv; next: number } {
  if (at + 2 > bytes.length) throw new DerError('truncated DER element');
  const tag = bytes[at]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not used in certificates');
  let length = bytes[at + 1]!;
  let offset = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new DerError('indefinite or oversized DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + i]!;
    offset += count;
  }
  const end = offset + length;
  if (end > bytes.length) throw new DerError('DER length runs past the end');
  return { tlv: { tag, raw: bytes.subarray(at, end), content: bytes.subarray(offset, end) }, next: end };
}

/** The elements of a constructed value (SEQUENCE, SET, explicit tag). */
export function children(tlv: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let at = 0;
  while (at < tlv.content.length) {
    const { tlv: child, next } = readTlv(tlv.content, at);
    out.push(child);
    at = next;
  }
  return out;
}

export function parseOne(bytes: Uint8Array): Tlv {
  const { tlv, next } = readTlv(bytes, 0);
  if (next !== bytes.length) throw new DerError('trailing bytes after DER element');
  return tlv;
}

export function oid(tlv: Tlv): string {
  if (tlv.tag !== 0x06) throw new DerError('expected an OBJECT IDENTIFIER');
  const c = tlv.content;
  const parts: number[] = [];
  let value = 0;
  for (let i = 0; i < c.length; i++) {
    value = value * 128 + (c[i]! & 0x7f);
    if ((c[i]! & 0x80) === 0) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

export function text(tlv: Tlv): string {
  return new TextDecoder().decode(tlv.content);
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) to epoch milliseconds. */
export function time(tlv: Tlv): number {
  const s = text(tlv);
  const m = tlv.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) throw new DerError(`unsupported time encoding ${s}`);
  let year = Number(m[1]);
  if (tlv.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** A non-negative INTEGER's magnitude, without the sign byte. */
export function unsignedInteger(tlv: Tlv): Uint8Array {
  if (tlv.tag !== 0x02) throw new DerError('expected an INTEGER');
  let c = tlv.content;
  while (c.length > 1 && c[0] === 0) c = c.subarray(1);
  return c;
}

function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

export function encodeTlv(tag: number, content: Uint8Array): Uint8Array {
  const head = [tag, ...derLength(content.length)];
  const out = new Uint8Array(head.length + content.length);
  out.set(head, 0);
  out.set(content, head.length);
  return out;
}

/** INTEGER of a non-negative bigint, minimal two's complement as Go's encoding/asn1 writes it. */
export function encodeUnsigned(value: bigint): Uint8Array {
  if (value < 0n) throw new RangeError('negative');
  const bytes: number[] = [];
  for (let n = value; n > 0n; n >>= 8n) bytes.unshift(Number(n & 0xffn));
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return encodeTlv(0x02, Uint8Array.from(bytes));
}
