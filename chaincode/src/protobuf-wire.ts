/**
 * The protobuf wire format, as much of it as the peer messages of state-batch.ts need: varints and
 * length-delimited fields. The fabric-protos that knows those messages cannot share a process with
 * the older one fabric-shim 2.5.8 loads: google-protobuf's generated code defines its classes on one
 * global namespace and keeps what is there, so the newer copy's ChaincodeMessage was the shim's,
 * whose types stop before these two (the peer received messages of type UNDEFINED).
 */

export type Field = { field: number; varint: number } | { field: number; bytes: Uint8Array };

function varint(n: number, out: number[]): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`a varint must be a non-negative safe integer, not ${n}`);
  let v = n;
  while (v > 0x7f) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** A message of the given fields, in their order (repeated fields are written as many times). */
export function encodeMessage(fields: Field[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    const head: number[] = [];
    if ('varint' in f) {
      varint(f.field * 8, head);
      varint(f.varint, head);
      parts.push(Uint8Array.from(head));
    } else {
      varint(f.field * 8 + 2, head);
      varint(f.bytes.length, head);
      parts.push(Uint8Array.from(head), f.bytes);
    }
  }
  return Buffer.concat(parts);
}

export const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** The length-delimited values of one field number, in order; other fields are skipped. */
export function bytesFields(message: Uint8Array, field: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  const readVarint = (): number => {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (i >= message.length) throw new Error('a protobuf varint runs past the end of the message');
      const b = message[i++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
      if (scale > 2 ** 63) throw new Error('a protobuf varint is longer than ten bytes');
    }
  };
  while (i < message.length) {
    const key = readVarint();
    const wire = key % 8;
    const number = Math.floor(key / 8);
    if (wire === 0) readVarint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const length = readVarint();
      if (i + length > message.length) throw new Error('a protobuf field runs past the end of the message');
      if (number === field) out.push(message.subarray(i, i + length));
      i += length;
    } else throw new Error(`protobuf wire type ${wire} is not supported`);
    if (i > message.length) throw new Error('a protobuf field runs past the end of the message');
  }
  return out;
}
