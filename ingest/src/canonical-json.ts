import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so that a hash or signature over a value does not
 * depend on the order in which some producer happened to write its keys.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('non-finite number in canonical JSON');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** sha256 as 0x-prefixed hex, the form EIP-712 `bytes32` fields take. */
export function sha256Hex32(data: string | Uint8Array): string {
  return `0x${createHash('sha256').update(data).digest('hex')}`;
}
