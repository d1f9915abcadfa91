/**
 * The follower's loop against a scripted block source (serving real captured blocks 0..3) and
 * PGlite: recovery from a failed write with a full queue (no hang, nothing lost), and the lag
 * figures it derives from the chain height, and the peer reported unreachable while it fails.
 */

import { common } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { pino } from 'pino';
import type { ParsedBlock } from '../../src/block-parser.js';
import { type BlockParsing, ParseThreadError, ParseThreads } from '../../src/block-parsing.js';
import { BlockStore } from '../../src/block-store.js';
import type { BlockSource, BlockStream } from '../../src/fabric-source.js';
import { BlockParseError, Follower, MirrorConstraintError } from '../../src/follower.js';
import { IndexerMetrics } from '../../src/metrics.js';
import { createPglite } from '../support/database.js';
import { fixtureBlock } from '../support/fixtures.js';
import { lastIndexedBlock, waitFor } from '../support/indexer.js';

/** Serves fixture blocks from `start` to 3, then waits (like a live stream) until closed. */
function scriptedSource(height: number, blockTimeMs: number): BlockSource & { opened: number[] } {
  const opened: number[] = [];
  return {
    opened,
    async blocks(start) {
      opened.push(start);
      let closed = false;
      let release: (() => void) | undefined;
      const stream: BlockStream = {
        close() {
          closed = true;
          release?.();
        },
        async *[Symbol.asyncIterator](): AsyncGenerator<common.Block> {
          for (let n = start; n <= 3 && !closed; n++) yield fixtureBlock(n);
          if (!closed) await new Promise<void>((r) => (release = r));
        },
      };
      return stream;
    },
    async chainInfo() {
      return { height, currentBlockHash: Buffer.alloc(32) };
    },
    async blockTime() {
      return blockTimeMs;
    },
    async block(n) {
      return fixtureBlock(n);
    },
    close() {},
  };
}

/** `source` with each block passed through `each` on its way (delayed, replaced) before the follower sees it. */
function eachBlock(source: BlockSource, each: (block: common.Block) => Promise<common.Block>): BlockSource {
  return {
    ...source,
    async blocks(start) {
      const inner = await source.blocks(start);
      return {
        close: () => inner.close(),
        async *[Symbol.asyncIterator]() {
          for await (const b of inner) yield await each(b);
        },
      };
    },
  };
}

class FlakyStore extends BlockStore {
  failuresLeft: number;
  constructor(db: Knex, failures: number) {
    super(db);
    this.failuresLeft = failures;
  }
  override async writeBatch(blocks: readonly ParsedBlock[]) {
    if (blocks[0]!.number >= 1 && this.failuresLeft > 0) {
      this.failuresLeft -= 1;
      throw new Error('connection terminated unexpectedly');
    }
    return super.writeBatch(blocks);
  }
}

// The scripted blocks carry no orderer signature: the check is off here and on in every real-network test.
const options = { batchMaxBlocks: 1, batchMaxTxs: 100, queueMaxBlocks: 1, retryMinMs: 10, retryMaxMs: 50, chainPollMs: 20, ordererSignatures: null };

describe('follower loop with a scripted source (unit, PGlite)', () => {
  let db: Knex;
  beforeEach(async () => {
    db = await createPglite();
  });
  afterEach(async () => {
    await db.destroy();
  });

  it('recovers from failed writes with a full queue and resumes at the checkpoint', async () => {
    const source = scriptedSource(4, Date.now());
    const metrics = new IndexerMetrics();
    const follower = new Follower(new FlakyStore(db, 2), source, metrics, pino({ level: 'silent' }), { ...options, stopAtBlock: 3 });
    await follower.run();
    expect(await lastIndexedBlock(db)).to.equal(3);
    expect(source.opened).to.deep.equal([0, 1, 1]);
    const restarts = (await metrics.restarts.get()).values.find((v) => v.labels.cause === 'postgres');
    expect(restarts?.value).to.equal(2);
    expect(await new BlockStore(db).verifyStoredChain()).to.equal(4);
  });

  /**
   * Indexes blocks 0–3 with one parsing thread, block 2's thread stopping (as on a crash, before it
   * answers) the first `stops` times it is given; the blocks given to the thread, and the follower's
   * restarts for `parse`, for the checks.
   */
  async function withStoppingThread(stops: number): Promise<{ given: number[]; opened: number[]; parseRestarts: number | undefined }> {
    const threads = new ParseThreads(1);
    const given: number[] = [];
    let left = stops;
    const parsing: BlockParsing = {
      parse: (block) => {
        const n = block.getHeader()!.getNumber();
        given.push(n);
        if (n === 2 && left > 0) {
          left -= 1;
          return Promise.reject(new ParseThreadError('a block-parsing thread stopped (exit code 134)'));
        }
        return threads.parse(block);
      },
      close: () => threads.close(),
    };
    const source = scriptedSource(4, Date.now());
    const metrics = new IndexerMetrics();
    try {
      await new Follower(new BlockStore(db), source, metrics, pino({ level: 'silent' }), { ...options, stopAtBlock: 3, parsing }).run();
    } finally {
      await parsing.close();
    }
    expect(await lastIndexedBlock(db)).to.equal(3);
    expect(await new BlockStore(db).verifyStoredChain()).to.equal(4);
    const parseRestarts = (await metrics.restarts.get()).values.find((v) => v.labels.cause === 'parse')?.value;
    return { given, opened: source.opened, parseRestarts };
  }

  it('parses on a thread, and resumes at the checkpoint when a parsing thread stops with blocks in hand', async () => {
    const run = await withStoppingThread(1);
    expect(run.opened).to.deep.equal([0, 2]);
    expect(run.parseRestarts).to.equal(1);
  });

  it('parses on its own thread, after a restart, the blocks a parsing thread held when it stopped', async () => {
    // Block 2 stops every thread it is given to (as one that runs a thread out of memory would):
    // before, the follower gave it to a thread again on each restart, forever.
    const run = await withStoppingThread(Number.POSITIVE_INFINITY);
    // Blocks 0–2 went to the thread once (3 is the head); after the restart at block 2 none did.
    expect(run.given).to.deep.equal([0, 1, 2]);
    expect(run.opened).to.deep.equal([0, 2]);
    expect(run.parseRestarts).to.equal(1);
  });

  it('stops, writing nothing of it, at a block its parsing thread cannot read', async () => {
    const threads = new ParseThreads(1);
    const headless = new common.Block();
    const source = scriptedSource(4, Date.now());
    const broken = eachBlock(source, async (b) => (b.getHeader()!.getNumber() === 2 ? headless : b));
    const metrics = new IndexerMetrics();
    const err = await new Follower(new BlockStore(db), broken, metrics, pino({ level: 'silent' }), { ...options, parsing: threads })
      .run()
      .catch((e: unknown) => e)
      .finally(() => threads.close());
    expect(err).to.be.instanceOf(BlockParseError);
    expect((err as Error).message).to.match(/block undefined cannot be parsed: block without header/);
    expect(await lastIndexedBlock(db)).to.equal(1);
  });

  it("stops loudly, without retrying, when Postgres refuses a block's rows (constraint violation)", async () => {
    class RefusingStore extends BlockStore {
      calls = 0;
      override async writeBatch(blocks: readonly ParsedBlock[]) {
        if (blocks[0]!.number === 2) {
          this.calls += 1;
          throw Object.assign(new Error('duplicate key value violates unique constraint "transactions_tx_id_unique"'), { code: '23505' });
        }
        return super.writeBatch(blocks);
      }
    }
    const store = new RefusingStore(db);
    const metrics = new IndexerMetrics();
    const err = await new Follower(store, scriptedSource(4, Date.now()), metrics, pino({ level: 'silent' }), options).run().catch((e) => e);
    expect(err).to.be.instanceOf(MirrorConstraintError);
    expect(store.calls).to.equal(1);
    expect(metrics.state.fatal).to.match(/MirrorConstraintError/);
    expect(await lastIndexedBlock(db)).to.equal(1);
  });

  it('reports lag in blocks and seconds from the chain height and the oldest unindexed block', async () => {
    const source = scriptedSource(10, Date.now() - 5000);
    const metrics = new IndexerMetrics();
    const follower = new Follower(new BlockStore(db), source, metrics, pino({ level: 'silent' }), options);
    const done = follower.run();
    const deadline = Date.now() + 5000;
    while ((metrics.state.lastBlock < 3 || (metrics.state.lagSeconds ?? 0) < 4.5) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    follower.stop();
    await done;
    expect(metrics.state).to.include({ lastBlock: 3, chainHeight: 10, lagBlocks: 6 });
    expect(metrics.state.lagSeconds).to.be.within(4.5, 7);
  });

  it('caught up means 0 s of lag, even when a measurement of an older block arrives late', () => {
    const metrics = new IndexerMetrics();
    metrics.setChainHeight(10);
    metrics.setLastBlock(7);
    metrics.setLagSeconds(2.5);
    expect(metrics.state).to.include({ lagBlocks: 2, lagSeconds: 2.5 });
    metrics.setLastBlock(9);
    expect(metrics.state).to.include({ lagBlocks: 0, lagSeconds: 0 });
    metrics.setLagSeconds(0.558); // the poll that read block 8's time before it was indexed
    expect(metrics.state.lagSeconds).to.equal(0);
  });

  it('is healthy (streaming) after a restart on a quiet channel, before any new block', async () => {
    const first = new Follower(new BlockStore(db), scriptedSource(4, Date.now()), new IndexerMetrics(), pino({ level: 'silent' }), {
      ...options,
      stopAtBlock: 3,
    });
    await first.run();
    const metrics = new IndexerMetrics();
    const again = new Follower(new BlockStore(db), scriptedSource(4, Date.now()), metrics, pino({ level: 'silent' }), options);
    const done = again.run();
    const deadline = Date.now() + 3000;
    while (!metrics.state.streaming && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    again.stop();
    await done;
    expect(metrics.state).to.include({ lastBlock: 3, lagBlocks: 0 });
    expect(Date.now()).to.be.lessThan(deadline);
  });

  it('reports the peer unreachable from its first failure until it answers again', async () => {
    const live = scriptedSource(4, Date.now());
    let down = true;
    const unavailable = () => Promise.reject(new Error('14 UNAVAILABLE: connect ECONNREFUSED'));
    const source: BlockSource = {
      ...live,
      blocks: (start) => (down ? unavailable() : live.blocks(start)),
      chainInfo: () => (down ? unavailable() : live.chainInfo()),
    };
    const metrics = new IndexerMetrics();
    const follower = new Follower(new BlockStore(db), source, metrics, pino({ level: 'silent' }), options);
    const done = follower.run();
    try {
      await waitFor(async () => metrics.state.peerReachable === false, 5000, 'peer unreachable');
      const since = metrics.state.peerUnreachableSince;
      expect(since).to.be.a('string');
      await waitFor(async () => ((await metrics.restarts.get()).values.find((v) => v.labels.cause === 'peer')?.value ?? 0) >= 3, 5000, 'three retries');
      expect(metrics.state).to.include({ peerReachable: false, peerUnreachableSince: since, streaming: false });
      expect((await metrics.peerReachable.get()).values[0]?.value).to.equal(0);
      down = false;
      await waitFor(async () => metrics.state.peerReachable === true && metrics.state.lastBlock === 3, 5000, 'peer back and blocks indexed');
      expect(metrics.state).to.include({ peerUnreachableSince: null, lagBlocks: 0 });
      expect((await metrics.peerReachable.get()).values[0]?.value).to.equal(1);
    } finally {
      follower.stop();
      await done;
    }
  });

  it('stops promptly while waiting for the next block', async () => {
    const follower = new Follower(new BlockStore(db), scriptedSource(4, Date.now()), new IndexerMetrics(), pino({ level: 'silent' }), options);
    const done = follower.run();
    while ((await lastIndexedBlock(db)) < 3) await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    follower.stop();
    await done;
    expect(Date.now() - t0).to.be.lessThan(1000);
  });

  it('while catching up, writes the blocks that arrive one by one as one batch, not one transaction each', async () => {
    const source = scriptedSource(4, Date.now());
    // Each block comes a few milliseconds after the previous, as from a peer reading its ledger.
    const slow = eachBlock(source, async (b) => {
      await new Promise((r) => setTimeout(r, 5));
      return b;
    });
    const batches: number[][] = [];
    class RecordingStore extends BlockStore {
      override async writeBatch(blocks: readonly ParsedBlock[]) {
        batches.push(blocks.map((b) => b.number));
        return super.writeBatch(blocks);
      }
    }
    const follower = new Follower(new RecordingStore(db), slow, new IndexerMetrics(), pino({ level: 'silent' }), {
      ...options,
      batchMaxBlocks: 100,
      queueMaxBlocks: 100,
      stopAtBlock: 3,
    });
    await follower.run();
    expect(batches).to.deep.equal([[0, 1, 2, 3]]);
  });
});
