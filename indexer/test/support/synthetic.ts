/**
 * Hand-made chains of parsed blocks with correct hashes, for store and projection tests of event
 * types the chaincode does not emit yet. Real blocks are used wherever the network can make them.
 */
import { createHash } from 'node:crypto';
import type { ParsedBlock, ParsedTransaction } from '../../src/block-parser.js';
import { blockHeaderHash } from '../../src/header-hash.js';

let counter = 0;

export function syntheticTx(index: number, events: { type: string; payload: unknown }[], valid = true): ParsedTransaction {
  const txId = createHash('sha256').update(`tx-${counter++}-${Math.random()}`).digest('hex');
  return {
    index,
    txId,
    headerType: 3,
    headerTypeName: 'ENDORSER_TRANSACTION',
    validationCode: valid ? 0 : 11,
    validationCodeName: valid ? 'VALID' : 'MVCC_READ_CONFLICT',
    valid,
    creatorMsp: 'EnterpriseMSP',
    creatorId: 'x509::/CN=test::/CN=ca',
    creatorCertSha256: '00'.repeat(32),
    timestamp: '2026-11-30T10:00:00.123456Z',
    chaincode: 'compliance',
    functionName: 'test:Fn',
    events: events.map((e) => ({
      chaincodeId: 'compliance',
      name: e.type,
      payload: Buffer.from(JSON.stringify({ schemaVersion: 1, type: e.type, txId, at: '2026-11-30T10:00:00.123Z', payload: e.payload })),
    })),
    parseError: null,
    writes: [
      {
        namespace: 'compliance',
        collection: null,
        key: `\u0000k\u0000${txId}\u0000`,
        isDelete: false,
        value: Buffer.from('{}'),
        valueHash: null,
        isPurge: false,
      },
    ],
  };
}

/** Blocks `from`..: each entry is the transactions of one block; hashes chain from `previousHash`. */
export function syntheticChain(txsPerBlock: ParsedTransaction[][], from = 0, previousHash: Buffer = Buffer.alloc(0)): ParsedBlock[] {
  const blocks: ParsedBlock[] = [];
  let prev = previousHash;
  txsPerBlock.forEach((transactions, i) => {
    const number = from + i;
    const dataHash = createHash('sha256')
      .update(`data-${number}-${transactions.map((t) => t.txId).join()}`)
      .digest();
    const headerHash = blockHeaderHash(BigInt(number), prev, dataHash);
    blocks.push({ number, headerHash, previousHash: prev, dataHash, computedDataHash: dataHash, transactions });
    prev = headerHash;
  });
  return blocks;
}
