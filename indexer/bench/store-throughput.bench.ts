/**
 * The two halves of catch-up measured apart, without the network: parsing real captured blocks,
 * and writing blocks to PostgreSQL (and PGlite) through the block store with heartbeat-sized
 * transactions (one event, one public write each). Complements catchup.bench.ts, whose figures
 * depend on how many transactions the shared channel holds.
 *
 * Run: TEST_DATABASE_URL=postgres://… npx tsx bench/store-throughput.bench.ts
 */
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { parseBlock } from '../src/block-parser.js';
import { BlockStore } from '../src/block-store.js';
import { createPglite, createTestDatabase } from '../test/support/database.js';
import { fixtureBlock, manifest } from '../test/support/fixtures.js';
import { syntheticChain, syntheticTx } from '../test/support/synthetic.js';

const TXS = Number(process.env.BENCH_TXS ?? 20_000);
const TXS_PER_BLOCK = Number(process.env.BENCH_TXS_PER_BLOCK ?? 50);
const BATCH_BLOCKS = Number(process.env.BENCH_BATCH_BLOCKS ?? 100);

function heartbeatChain() {
  const blocks = [];
  for (let b = 0; b < TXS / TXS_PER_BLOCK; b++) {
    blocks.push(
      Array.from({ length: TXS_PER_BLOCK }, (_, i) =>
        syntheticTx(i, [
          {
            type: 'HeartbeatRecorded',
            payload: {
              id: `hb-${b}-${i}`,
              note: 'x'.repeat(40),
              recordedBy: {
                mspId: 'EnterpriseMSP',
                certificateId:
                  'x509::/C=US/ST=California/L=San Francisco/OU=client/CN=User1@enterprise.ledger.local' +
                  '::/C=US/ST=California/L=San Francisco/O=enterprise.ledger.local/CN=ca.enterprise.ledger.local',
              },
              recordedAt: '2026-11-30T10:00:00.000Z',
              txId: 'x',
            },
          },
        ]),
      ),
    );
  }
  return syntheticChain(blocks);
}

async function writeAll(db: Knex): Promise<{ seconds: number; txPerSecond: number }> {
  const chain = heartbeatChain();
  const store = new BlockStore(db);
  const t0 = performance.now();
  for (let i = 0; i < chain.length; i += BATCH_BLOCKS) await store.writeBatch(chain.slice(i, i + BATCH_BLOCKS));
  const seconds = (performance.now() - t0) / 1000;
  return { seconds: +seconds.toFixed(2), txPerSecond: +(TXS / seconds).toFixed(0) };
}

const result: Record<string, unknown> = { transactions: TXS, txsPerBlock: TXS_PER_BLOCK, blocksPerBatch: BATCH_BLOCKS };

const raw = fixtureBlock(manifest.valid.blockNumber).serializeBinary();
const { common } = await import('@hyperledger/fabric-protos');
const p0 = performance.now();
const N = 20_000;
for (let i = 0; i < N; i++) parseBlock(common.Block.deserializeBinary(raw));
result.parseOneTxBlocksPerSecond = +(N / ((performance.now() - p0) / 1000)).toFixed(0);

const pg = await createTestDatabase('benchstore');
try {
  result.postgres = await writeAll(pg.db);
} finally {
  await pg.drop();
}
const lite = await createPglite();
try {
  result.pglite = await writeAll(lite);
} finally {
  await lite.destroy();
}
console.log(JSON.stringify(result, null, 2));
process.exit(0);
