/**
 * The integrity rules every block must pass before its rows are written: its data hash matches
 * its data, and its previous hash is the header hash of the block before it. A failure means the
 * peer served a forged or corrupted block, or the stored mirror was altered: indexing must stop.
 */

import type { ParsedBlock } from './block-parser.js';
import { blockHeaderHash } from './header-hash.js';

export class ChainIntegrityError extends Error {
  override readonly name = 'ChainIntegrityError';
}

export interface StoredHeader {
  number: number;
  headerHash: Buffer;
  previousHash: Buffer;
  dataHash: Buffer;
}

/** Recomputes a stored block's header hash: a tampered header_hash column no longer matches. */
export function verifyStoredHeader(stored: StoredHeader): void {
  const computed = blockHeaderHash(BigInt(stored.number), stored.previousHash, stored.dataHash);
  if (!computed.equals(stored.headerHash)) {
    throw new ChainIntegrityError(
      `stored block ${stored.number} is corrupt: header_hash ${stored.headerHash.toString('hex')} but its fields hash to ${computed.toString('hex')}`,
    );
  }
}

/**
 * Checks a run of consecutive blocks that continues a chain whose last header hash is `previous`
 * (null before block 0). Returns the header hash of the last block checked.
 */
export function verifyChain(previous: { number: number; headerHash: Buffer } | null, blocks: readonly ParsedBlock[]): Buffer | null {
  let expectedNumber = previous ? previous.number + 1 : 0;
  let previousHash = previous?.headerHash ?? Buffer.alloc(0);
  for (const block of blocks) {
    if (block.number !== expectedNumber) {
      throw new ChainIntegrityError(`block ${block.number} arrived where block ${expectedNumber} was expected`);
    }
    if (!block.computedDataHash.equals(block.dataHash)) {
      throw new ChainIntegrityError(
        `block ${block.number}: data_hash ${block.dataHash.toString('hex')} does not match its data (${block.computedDataHash.toString('hex')})`,
      );
    }
    if (!block.previousHash.equals(previousHash)) {
      throw new ChainIntegrityError(
        `hash chain broken at block ${block.number}: previous_hash ${block.previousHash.toString('hex')} but ` +
          `block ${block.number - 1} hashes to ${previousHash.toString('hex') || '(none)'}`,
      );
    }
    previousHash = block.headerHash;
    expectedNumber += 1;
  }
  return blocks.length > 0 ? previousHash : (previous?.headerHash ?? null);
}
