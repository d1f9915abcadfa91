/**
 * Bytes per transaction on this network's ledger, for the README's sizing table: reads every block
 * from the regulator's peer (qscc) and reports, for valid endorser transactions of the chaincode,
 * the count, the mean and median envelope size, and the block bytes per transaction.
 *   LEDGER_CONNECTION_PROFILE=… npx tsx network/bench/tx-sizes.mts
 */
import { decodeBlock, HEADER_TYPE } from '@compliance-ledger/verifier';
import { regulatorBlockSource } from '../../gateway/test/support/blocks.js';

const source = regulatorBlockSource();
const height = await source.height();
const sizes: number[] = [];
let blockBytes = 0;
let txs = 0;
for (let n = 0; n < height; n++) {
  const bytes = await source.block(n);
  const block = decodeBlock(bytes);
  blockBytes += bytes.length;
  txs += block.transactions.length;
  for (const t of block.transactions)
    if (t.headerType === HEADER_TYPE.ENDORSER_TRANSACTION && t.chaincode === source.chaincode && block.validationCodes[t.index] === 0)
      sizes.push(t.envelope.length);
}
sizes.sort((a, b) => a - b);
const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
console.log(
  JSON.stringify({
    blocks: height,
    transactions: txs,
    chaincodeTransactions: sizes.length,
    meanEnvelopeBytes: Math.round(mean),
    medianEnvelopeBytes: sizes[Math.floor(sizes.length / 2)],
    p90EnvelopeBytes: sizes[Math.floor(sizes.length * 0.9)],
    blockBytesPerTransaction: Math.round(blockBytes / txs),
  }),
);
source.close();
