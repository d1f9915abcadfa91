import { createHash } from 'node:crypto';

/** sha256 as 0x-prefixed hex, the form EIP-712 `bytes32` fields take. */
export function sha256Hex32(data: string | Uint8Array): string {
  return `0x${createHash('sha256').update(data).digest('hex')}`;
}
