/**
 * Block hashes exactly as Fabric computes them, so the indexer can prove that the blocks it stores
 * form one unbroken chain.
 *
 * Fabric's header hash (protoutil.BlockHeaderHash) is SHA-256 over the ASN.1 DER encoding of
 * SEQUENCE { number INTEGER, previousHash OCTET STRING, dataHash OCTET STRING }. We encode DER by
 * hand: the structure is fixed and tiny, and a general ASN.1 library would be a larger attack and
 * maintenance surface than these few lines.
 */
import { createHash } from 'node:crypto';

/** DER length octets: short form below 128, long form (0x80 | byte count, big-endian) above. */
function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derTlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

/**
 * DER INTEGER of a non-negative number: minimal big-endian two's complement, so a leading 0x00 is
 * added when the high bit of the first byte is set (otherwise it would read as negative), and zero
 * is the single byte 0x00. Go's encoding/asn1 marshals *big.Int the same way.
 */
export function derUnsignedInteger(value: bigint): Buffer {
  if (value < 0n) throw new RangeError('block numbers are unsigned');
  const bytes: number[] = [];
  for (let n = value; n > 0n; n >>= 8n) bytes.unshift(Number(n & 0xffn));
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return derTlv(0x02, Buffer.from(bytes));
}

/** The bytes Fabric hashes for a block header (protoutil.BlockHeaderBytes). */
export function blockHeaderBytes(number: bigint, previousHash: Uint8Array, dataHash: Uint8Array): Buffer {
  const body = Buffer.concat([derUnsignedInteger(number), derTlv(0x04, previousHash), derTlv(0x04, dataHash)]);
  return derTlv(0x30, body);
}

export function blockHeaderHash(number: bigint, previousHash: Uint8Array, dataHash: Uint8Array): Buffer {
  return createHash('sha256')
    .update(blockHeaderBytes(number, previousHash, dataHash))
    .digest();
}

/** Fabric's block data hash: SHA-256 over the concatenation of the block's data entries (envelopes). */
export function blockDataHash(entries: readonly Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const entry of entries) hash.update(entry);
  return hash.digest();
}
