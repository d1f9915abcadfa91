/**
 * The orderer's signature on every block the indexer follows, checked with the verifier package's
 * own check (`verifyOrdererSignature`: signer certificates chained to the orderer org's roots of
 * the channel config in force, valid at the block's time, ECDSA low-S over metadata value,
 * signature header and header bytes, `/Channel/Orderer/BlockValidation` satisfied).
 *
 * The config in force is tracked from the config blocks the indexer sees, as Fabric's peers do: a
 * block is judged by the config of the config block before it, and a config block, once its own
 * signature and data hash hold, becomes the config for the blocks after it. Block 0, the channel's
 * genesis config block, carries no signature: it is the definition of the channel the mirror
 * follows, and the start of the hash chain. On a restart the config in force is re-read from the
 * peer and accepted only if its header hash equals the one the mirror stored.
 */
import {
  type BlockSignatures,
  type ChannelConfig,
  channelConfig,
  type DecodedBlock,
  dataHash,
  decodeBlock,
  decodeBlockSignatures,
  HEADER_TYPE,
  headerHash,
  type OrdererSignedBlock,
  ordererSignedBlock,
  verifyOrdererSignature,
} from '@compliance-ledger/verifier';
import type { common } from '@hyperledger/fabric-protos';
import type { ParsedBlock } from './block-parser.js';
import { ChainIntegrityError, type StoredHeader } from './chain-verifier.js';

export interface BlockReader {
  block(number: number): Promise<common.Block>;
}

export interface StoredHeaders {
  storedHeader(number: number): Promise<StoredHeader | null>;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

function configOf(block: DecodedBlock): ChannelConfig {
  const config = block.transactions.find((t) => t.config)?.config;
  if (!config) throw new ChainIntegrityError(`block ${block.header.number} is named as a config block but holds no channel config`);
  try {
    return channelConfig(block.header.number, config);
  } catch (e) {
    throw new ChainIntegrityError(`config block ${block.header.number} cannot be read: ${(e as Error).message}`);
  }
}

export class OrdererSignatureVerifier {
  private current: ChannelConfig | null = null;
  /** The block number `current` is in force for next. */
  private next = -1;
  signaturesChecked = 0;

  /** Makes the config in force for a stream that starts at `start` known (from the stored chain). */
  async resume(start: number, source: BlockReader, store: StoredHeaders): Promise<void> {
    if (start === this.next && (this.current || start === 0)) return;
    this.current = null;
    this.next = start;
    if (start === 0) return;
    const previous = await this.anchored(start - 1, source, store);
    const last = previous.lastConfigIndex;
    if (last === null) throw new ChainIntegrityError(`stored block ${start - 1} names no last config block`);
    this.current = configOf(last === start - 1 ? previous : await this.anchored(last, source, store));
  }

  /** A block the mirror already holds, re-read from the peer and accepted only if it is the stored one. */
  private async anchored(n: number, source: BlockReader, store: StoredHeaders): Promise<DecodedBlock> {
    const stored = await store.storedHeader(n);
    if (!stored) throw new ChainIntegrityError(`block ${n} is not in the mirror, so the config in force cannot be anchored to it`);
    const block = decodeBlock((await source.block(n)).serializeBinary());
    if (!same(await headerHash(block.header), stored.headerHash) || !same(await dataHash(block.data), block.header.dataHash)) {
      throw new ChainIntegrityError(`the peer's block ${n} is not the block the mirror stored (header or data hash differs)`);
    }
    return block;
  }

  /**
   * Throws ChainIntegrityError, naming the block and the reason, when the block is not signed by
   * the orderer. `parsed` is the follower's own decoding of the same block: for a block of
   * endorser transactions only, their times come from it and the transactions are not decoded a
   * second time (that was about a quarter of the indexer's CPU per transaction while catching up).
   */
  async verify(raw: common.Block, parsed?: ParsedBlock): Promise<void> {
    if (parsed?.transactions.every((t) => t.headerType === HEADER_TYPE.ENDORSER_TRANSACTION && t.timestamp !== null)) {
      let signed: BlockSignatures;
      try {
        signed = decodeBlockSignatures(raw);
      } catch (e) {
        throw new ChainIntegrityError(`block ${raw.getHeader()?.getNumber()} cannot be decoded for its orderer signature: ${(e as Error).message}`);
      }
      const n = signed.header.number;
      this.expect(n);
      if (n === 0) throw new ChainIntegrityError('block 0 is not a config block');
      const transactions = parsed.transactions.map((t) => ({ timestampMs: isoToMs(t.timestamp!), valid: t.valid }));
      await this.checkSignature(n, { ordererSignatures: signed.ordererSignatures, transactions });
      this.next = n + 1;
      return;
    }
    let block: DecodedBlock;
    try {
      block = decodeBlock(raw.serializeBinary());
    } catch (e) {
      throw new ChainIntegrityError(`block ${raw.getHeader()?.getNumber()} cannot be decoded for its orderer signature: ${(e as Error).message}`);
    }
    const n = block.header.number;
    this.expect(n);
    const isConfig = block.transactions.some((t) => t.config);
    if (n === 0) {
      if (!isConfig) throw new ChainIntegrityError('block 0 is not a config block');
    } else {
      await this.checkSignature(n, ordererSignedBlock(block));
    }
    if (isConfig) {
      // The signature covers the header only: the config is adopted once the data matches it.
      if (!same(await dataHash(block.data), block.header.dataHash)) throw new ChainIntegrityError(`config block ${n}: data_hash does not match its data`);
      this.current = configOf(block);
    }
    this.next = n + 1;
  }

  private expect(n: number): void {
    if (n !== this.next) throw new ChainIntegrityError(`block ${n} arrived where block ${this.next} was expected`);
  }

  private async checkSignature(n: number, block: OrdererSignedBlock): Promise<void> {
    if (!this.current) throw new ChainIntegrityError(`no channel config is known for block ${n}`);
    const r = await verifyOrdererSignature(block, this.current);
    this.signaturesChecked += r.signaturesChecked;
    if (!r.ok) throw new ChainIntegrityError(`block ${n}: orderer signature refused: ${r.detail}`);
  }
}

/** The parser's ISO time (microseconds) in milliseconds, truncated as the verifier's own decoding truncates nanoseconds. */
function isoToMs(iso: string): number {
  return Date.parse(`${iso.slice(0, 23)}Z`);
}
