/**
 * Exactly once under crashes: the indexer runs as a child process and is killed with SIGKILL many
 * times while it writes (a test-only delay holds each write transaction open, so most kills land
 * inside one), while new transactions keep arriving. After each kill the committed state must be
 * whole (checkpoint = last block row, every declared transaction stored); after a final clean run
 * the mirror must equal an uninterrupted in-process indexing of the same blocks.
 */
import { expect } from 'chai';
import { BlockStore } from '../../src/block-store.js';
import { toNumber } from '../../src/db.js';
import { createTestDatabase, dumpTable, RAW_TABLES, type TestDatabase, testDatabaseUrl } from '../support/database.js';
import { chainHeight, lastIndexedBlock, spawnIndexer, startIndexer, waitFor } from '../support/indexer.js';
import { enterpriseSubmitter, requireNetwork, type Submitter, submitHeartbeat, submitMany } from '../support/network.js';

const KILLS = Number(process.env.INDEXER_TEST_KILLS ?? 10);

describe('indexer kill -9 in the middle of batches (real Fabric, real PostgreSQL, child process)', function () {
  this.timeout(600_000);
  let crashed: TestDatabase;
  let reference: TestDatabase;
  let submitter: Submitter;

  before(async function () {
    requireNetwork(this);
    testDatabaseUrl();
    crashed = await createTestDatabase('crash');
    reference = await createTestDatabase('crashref');
    submitter = enterpriseSubmitter(requireNetwork(this));
    // Enough blocks that the crashed indexer is still catching up during the first kills. The
    // network is shared and a chaincode redeploy can make submissions fail for a while: then the
    // test runs on the blocks the channel already has.
    await submitMany(submitter, 150, 30, 10).catch((err) => console.warn(`      (no extra load: ${String(err).slice(0, 120)})`));
  });
  after(async () => {
    submitter?.close();
    await crashed?.drop();
    await reference?.drop();
  });

  it(`survives ${KILLS} SIGKILLs with no row missing and none doubled`, async () => {
    let traffic = true;
    const background = (async () => {
      let i = 0;
      while (traffic) {
        await submitHeartbeat(submitter, `during crashes ${i}`, i++ % 7 === 6, 1).catch(() => new Promise((r) => setTimeout(r, 500)));
      }
    })();
    const progress: number[] = [];
    const start = await lastIndexedBlock(crashed.db);
    let killedWhileIndexing = 0;
    try {
      for (let k = 0; k < KILLS; k++) {
        const child = spawnIndexer({
          DATABASE_URL: crashed.url,
          INDEXER_BATCH_MAX_BLOCKS: '3',
          INDEXER_TEST_DELAY_IN_TX_MS: '200',
          INDEXER_RETRY_MIN_MS: '100',
        });
        // Wait until this run has committed at least one batch of its own, then kill it at a
        // random moment: each write transaction is held open 200 ms, so the kill almost always
        // lands inside one (with its rows inserted but not committed).
        const before = progress.length ? progress[progress.length - 1]! : await lastIndexedBlock(crashed.db);
        await waitFor(
          async () => (await lastIndexedBlock(crashed.db)) > before || child.child.exitCode !== null,
          90_000,
          'the child indexer to commit a batch',
        );
        expect(child.child.exitCode, child.output()).to.equal(null);
        await new Promise((r) => setTimeout(r, Math.random() * 400));
        if (child.child.exitCode === null) killedWhileIndexing += 1;
        child.child.kill('SIGKILL');
        const exit = await child.exit;
        expect(exit.signal, child.output()).to.equal('SIGKILL');

        // The committed state is whole after every crash.
        const last = await lastIndexedBlock(crashed.db);
        const stats = (await crashed.db.raw('SELECT count(*) AS n, max(number) AS m FROM blocks')).rows[0] as { n: unknown; m: unknown };
        expect(toNumber(stats.n)).to.equal(last + 1);
        if (last >= 0) expect(toNumber(stats.m)).to.equal(last);
        await new BlockStore(crashed.db).verifyStoredChain();
        progress.push(last);
      }
    } finally {
      traffic = false;
      await background;
    }
    expect(killedWhileIndexing).to.equal(KILLS);
    // Every run resumed where the last commit left off and committed something before its kill.
    for (let i = 1; i < progress.length; i++) expect(progress[i]!).to.be.greaterThan(progress[i - 1]!);
    expect(progress[0]!).to.be.greaterThan(start);

    const top = (await chainHeight()) - 1;
    const final = spawnIndexer({ DATABASE_URL: crashed.url, INDEXER_STOP_AT_BLOCK: String(top) });
    const exit = await final.exit;
    expect(exit.code, final.output()).to.equal(0);
    const ref = startIndexer(reference.db, { stopAtBlock: top });
    await ref.done;
    ref.source.close();

    for (const [table, order] of Object.entries(RAW_TABLES)) {
      const a = await dumpTable(crashed.db, table, order, ['indexed_at', 'updated_at']);
      const b = await dumpTable(reference.db, table, order, ['indexed_at', 'updated_at']);
      expect(a.length, table).to.equal(b.length);
      expect(a, table).to.deep.equal(b);
    }
    expect(await new BlockStore(crashed.db).verifyStoredChain()).to.equal(top + 1);
    console.log(`      kills=${KILLS} checkpoints after each kill: ${progress.join(', ')}; final block ${top}`);
  });
});
