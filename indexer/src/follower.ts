/**
 * Follows the channel and keeps Postgres an exact mirror. One loop: read the checkpoint, open a
 * block stream at the next block, parse blocks as they arrive (in a pump; while behind the peer on
 * threads of their own, block-parsing.ts, so parsing overlaps the database writes), write them in
 * batches, each batch one transaction with the checkpoint. Any
 * error of the peer or of Postgres closes the stream and restarts the loop from the checkpoint
 * after a backoff: the checkpoint is the only state, so a restart can neither skip nor repeat.
 * A broken hash chain, a block the orderer did not sign (orderer-signatures.ts) or an unreadable
 * block is fatal: the mirror must not continue past it, and nothing of that block is written.
 */

import type { common } from '@hyperledger/fabric-protos';
import type { Logger } from 'pino';
import type { ParsedBlock } from './block-parser.js';
import { type BlockParsing, BlockUnreadableError, inThreadParsing, ParseThreadError } from './block-parsing.js';
import { type BlockStore, GapError } from './block-store.js';
import { ChainIntegrityError } from './chain-verifier.js';
import type { BlockSource, BlockStream } from './fabric-source.js';
import type { IndexerMetrics } from './metrics.js';
import type { OrdererSignatureVerifier } from './orderer-signatures.js';
import { ProjectionError } from './projection.js';

export interface FollowerOptions {
  batchMaxBlocks: number;
  batchMaxTxs: number;
  queueMaxBlocks: number;
  retryMinMs: number;
  retryMaxMs: number;
  chainPollMs: number;
  /** Index up to and including this block, then resolve run(). */
  stopAtBlock?: number | undefined;
  /**
   * The orderer-signature check of every block before it is indexed. Required, and null only for
   * synthetic test blocks that carry no signature.
   */
  ordererSignatures: OrdererSignatureVerifier | null;
  /**
   * Called after each committed batch with its newest block (the indexer's NOTIFY to the mirror's
   * readers). A failure is logged, never retried: the batch is committed, and readers also poll.
   */
  onCommitted?: ((lastBlock: number) => Promise<void>) | undefined;
  /** Where blocks are parsed (block-parsing.ts); on the follower's own thread when unset. The caller closes it. */
  parsing?: BlockParsing | undefined;
}

type Cause = 'peer' | 'postgres' | 'gap' | 'parse';

/** While catching up, a batch is written once no further block has come for this long. */
const GATHER_IDLE_MS = 100;

/** An error tagged with the side that failed, for logs and the restarts metric. */
class StageError extends Error {
  constructor(
    readonly side: Cause,
    readonly inner: unknown,
  ) {
    super(inner instanceof Error ? inner.message : String(inner));
  }
}

export class BlockParseError extends Error {
  override readonly name = 'BlockParseError';
}

/**
 * Postgres refused the rows of a block (SQLSTATE class 23: a unique, foreign key, not-null or
 * check violation). The same block would be refused again, so retrying forever would only hide
 * it: stop loudly instead, like a broken hash chain.
 */
export class MirrorConstraintError extends Error {
  override readonly name = 'MirrorConstraintError';
}

/** Errors that would recur on every retry: indexing stops with exit code 2. */
export function isFatal(err: unknown): err is Error {
  return err instanceof ChainIntegrityError || err instanceof BlockParseError || err instanceof MirrorConstraintError || err instanceof ProjectionError;
}

function isConstraintViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('23');
}

async function stage<T>(cause: Cause, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ChainIntegrityError || err instanceof StageError || err instanceof ProjectionError) throw err;
    if (isConstraintViolation(err)) throw new MirrorConstraintError(`Postgres refused a block's rows: ${(err as Error).message.slice(-300)}`);
    throw new StageError(err instanceof GapError ? 'gap' : cause, err);
  }
}

export class Follower {
  private stopped = false;
  private stream: BlockStream | undefined;
  private wakeWriter: (() => void) | undefined;
  private wakeSleeper: (() => void) | undefined;
  private delay: number;
  private poller: NodeJS.Timeout | undefined;
  private blockTimes = new Map<number, number>();
  private readonly parsing: BlockParsing;
  /**
   * After a parsing thread stopped, the blocks it could have held are parsed on this thread: a block
   * that stops every thread it is given to (out of memory, say) would otherwise be retried forever.
   * Here it is parsed, or refused as unreadable, which stops the follower loudly.
   */
  private inThreadThrough = -1;

  constructor(
    private readonly store: BlockStore,
    private readonly source: BlockSource,
    private readonly metrics: IndexerMetrics,
    private readonly log: Logger,
    private readonly options: FollowerOptions,
  ) {
    this.delay = options.retryMinMs;
    this.parsing = options.parsing ?? inThreadParsing;
  }

  /** Runs until stop() or stopAtBlock; rejects only on a fatal integrity error. */
  async run(): Promise<void> {
    this.startChainPoller();
    try {
      while (!this.stopped) {
        try {
          const cp = await stage('postgres', () => this.store.checkpoint());
          this.metrics.setLastBlock(cp.lastBlock);
          if (this.reachedStop(cp.lastBlock)) return;
          await this.follow(cp.lastBlock);
          if (this.reachedStop(this.metrics.state.lastBlock)) return;
        } catch (err) {
          if (isFatal(err)) {
            this.metrics.state.fatal = `${err.name}: ${err.message}`;
            this.metrics.setStreaming(false);
            this.log.fatal(
              { err },
              `${err instanceof ChainIntegrityError ? 'CHAIN INTEGRITY FAILURE, indexing stopped' : `INDEXING STOPPED (${err.name})`}: ${err.message}`,
            );
            throw err;
          }
          if (this.stopped) return;
          const cause = err instanceof StageError ? err.side : 'peer';
          const inner = err instanceof StageError ? err.inner : err;
          this.metrics.setStreaming(false);
          if (cause === 'peer') this.metrics.setPeerReachable(false);
          this.metrics.recordError(cause, inner);
          const wait = Math.round(this.delay * (0.75 + Math.random() * 0.5));
          this.log.warn({ cause, err: inner, retryInMs: wait }, `${cause} unavailable or failed; resuming from the checkpoint after a backoff`);
          await new Promise<void>((resolve) => {
            this.wakeSleeper = resolve;
            setTimeout(resolve, wait);
          });
          this.delay = Math.min(this.delay * 2, this.options.retryMaxMs);
        }
      }
    } finally {
      if (this.poller) clearInterval(this.poller);
      this.metrics.setStreaming(false);
    }
  }

  stop(): void {
    this.stopped = true;
    this.stream?.close();
    this.wakeWriter?.();
    this.wakeSleeper?.();
  }

  private reachedStop(lastBlock: number): boolean {
    return this.options.stopAtBlock !== undefined && lastBlock >= this.options.stopAtBlock;
  }

  private async follow(lastBlock: number): Promise<void> {
    const signatures = this.options.ordererSignatures;
    if (signatures) await stage('peer', () => signatures.resume(lastBlock + 1, this.source, this.store));
    const stream = await stage('peer', () => this.source.blocks(lastBlock + 1));
    this.stream = stream;
    if (this.stopped) stream.close();
    this.log.info({ startBlock: lastBlock + 1 }, 'block stream open');
    const queue: ParsedBlock[] = [];
    let pumpError: unknown;
    let pumpDone = false;
    // Set when this stream is being abandoned: the pump must not wait for a writer that is gone.
    let abandoned = false;
    let wakePump: (() => void) | undefined;
    const wake = () => {
      const w = this.wakeWriter;
      this.wakeWriter = undefined;
      w?.();
    };

    // Blocks handed to the parser and not yet queued. They are parsed while the stream delivers
    // the next ones (on a thread of their own with ParseThreads), then checked and queued strictly
    // in stream order: each block's step waits for the step of the block before it.
    let parsing = 0;
    // The newest block given to a parsing thread on this stream.
    let handedOver = -1;
    let inOrder: Promise<void> = Promise.resolve();
    let settleError: unknown;
    const settle = async (block: common.Block, result: Promise<ParsedBlock>) => {
      try {
        if (settleError !== undefined || abandoned || this.stopped) return;
        let parsed: ParsedBlock;
        try {
          parsed = await result;
        } catch (err) {
          if (err instanceof BlockUnreadableError) throw new BlockParseError(`block ${block.getHeader()?.getNumber()} cannot be parsed: ${err.message}`);
          if (err instanceof ParseThreadError) this.inThreadThrough = Math.max(this.inThreadThrough, handedOver);
          throw err;
        }
        // Checked in stream order, before the block is queued: a refused block is never written.
        if (signatures) await signatures.verify(block, parsed);
        queue.push(parsed);
        this.metrics.setPeerReachable(true);
        this.metrics.setChainHeight(parsed.number + 1);
        wake();
      } finally {
        // In the same step as the push: the writer, woken above, must see the block in one count only.
        parsing -= 1;
      }
    };

    const pump = (async () => {
      let streamError: unknown;
      try {
        for await (const block of stream) {
          // Parsing threads while behind the peer; at the head a block is parsed here, at once,
          // with no hand-over to a thread (or a thread's start) in the way of its visibility.
          const height = this.metrics.state.chainHeight;
          const number = block.getHeader()?.getNumber();
          const onThread = height !== null && number !== undefined && number + 1 < height && number > this.inThreadThrough;
          if (onThread) handedOver = number;
          const result = (onThread ? this.parsing : inThreadParsing).parse(block);
          // Awaited by its step below; a rejection is handled there, not reported as unhandled.
          result.catch(() => undefined);
          parsing += 1;
          inOrder = inOrder
            .then(() => settle(block, result))
            .catch((err: unknown) => {
              settleError ??= err;
              // The loop below may be waiting for the stream's next block: end it.
              stream.close();
              wakePump?.();
            });
          while (queue.length + parsing >= this.options.queueMaxBlocks && settleError === undefined && !this.stopped && !abandoned) {
            await new Promise<void>((r) => (wakePump = r));
          }
          if (settleError !== undefined || this.stopped || abandoned) break;
        }
      } catch (err) {
        streamError = err;
      } finally {
        // The blocks already received are queued (or refused) before the stream's end is reported.
        await inOrder;
        pumpError = settleError ?? streamError;
        pumpDone = true;
        wake();
      }
    })();

    try {
      while (!this.stopped) {
        if (queue.length === 0) {
          if (pumpError !== undefined) {
            if (pumpError instanceof BlockParseError || pumpError instanceof ChainIntegrityError) throw pumpError;
            if (pumpError instanceof ParseThreadError) throw new StageError('parse', pumpError);
            throw new StageError('peer', pumpError);
          }
          if (pumpDone) throw new StageError('peer', new Error('block stream ended'));
          await new Promise<void>((r) => (this.wakeWriter = r));
          continue;
        }
        if (this.shouldGather(queue, pumpDone) && (await this.gathered())) continue;
        const batch = this.takeBatch(queue);
        const w = wakePump;
        wakePump = undefined;
        w?.();
        await this.writeBatch(batch);
        if (this.reachedStop(this.metrics.state.lastBlock)) return;
      }
    } finally {
      abandoned = true;
      stream.close();
      this.stream = undefined;
      const w = wakePump as (() => void) | undefined;
      w?.();
      await pump;
    }
  }

  /**
   * Whether to wait for more blocks before writing: while the peer holds blocks beyond the queue
   * (catching up) and the queue does not fill a batch yet. PGlite runs its queries on this thread,
   * so no block arrives while a batch is written; writing at once would make each batch the one
   * block that came in between, and the per-transaction cost would be paid per block. Following
   * the head (nothing more on the peer), a block is written as soon as it is queued.
   */
  private shouldGather(queue: readonly ParsedBlock[], pumpDone: boolean): boolean {
    if (pumpDone || this.stopped || queue.length >= this.options.batchMaxBlocks) return false;
    const last = queue[queue.length - 1]!.number;
    const height = this.metrics.state.chainHeight;
    if (height === null || last + 1 >= height || last === this.options.stopAtBlock) return false;
    let txs = 0;
    for (const block of queue) txs += block.transactions.length;
    return txs < this.options.batchMaxTxs;
  }

  /** Waits for the next queued block: true when one came, false after GATHER_IDLE_MS without. */
  private gathered(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeWriter = undefined;
        resolve(false);
      }, GATHER_IDLE_MS);
      this.wakeWriter = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  /** Up to batchMaxBlocks blocks, closing early once batchMaxTxs transactions are taken. */
  private takeBatch(queue: ParsedBlock[]): ParsedBlock[] {
    let txs = 0;
    let n = 0;
    while (n < queue.length && n < this.options.batchMaxBlocks) {
      const block = queue[n]!;
      txs += block.transactions.length;
      n += 1;
      if (txs >= this.options.batchMaxTxs || block.number === this.options.stopAtBlock) break;
    }
    return queue.splice(0, n);
  }

  private async writeBatch(batch: ParsedBlock[]): Promise<void> {
    const end = this.metrics.batchSeconds.startTimer();
    const result = await stage('postgres', () => this.store.writeBatch(batch));
    end();
    const now = Date.now();
    const last = batch[batch.length - 1]!;
    this.metrics.setStreaming(true);
    this.delay = this.options.retryMinMs;
    if (result.blocks > 0 && result.rows) {
      let valid = 0;
      for (const block of batch) {
        for (const tx of block.transactions) {
          if (tx.valid) valid += 1;
          if (tx.timestamp) this.metrics.visibleDelay.observe(Math.max(0, (now - Date.parse(tx.timestamp)) / 1000));
        }
      }
      this.metrics.blocks.inc(result.blocks);
      this.metrics.transactions.inc({ valid: 'true' }, valid);
      this.metrics.transactions.inc({ valid: 'false' }, result.transactions - valid);
      for (const type of result.rows.unprojected) this.metrics.unprojected.inc({ type });
      for (const r of result.rows.replacedText) {
        this.metrics.replacedText.inc({ type: r.type });
        this.log.warn(r, 'event text PostgreSQL cannot store (U+0000 or a lone surrogate) mirrored as U+FFFD; the block keeps the original');
      }
    }
    this.metrics.setLastBlock(last.number);
    this.log.debug({ from: batch[0]!.number, to: last.number, transactions: result.transactions }, 'batch committed');
    await this.options.onCommitted?.(last.number).catch((err: unknown) => this.log.warn({ err }, 'readers of the mirror could not be notified'));
  }

  /** Polls the chain height, and the age of the oldest unindexed block for lag in seconds. */
  private startChainPoller(): void {
    const poll = async () => {
      try {
        const info = await this.source.chainInfo();
        this.metrics.setPeerReachable(true);
        this.metrics.setChainHeight(info.height);
        // The peer answers and a stream is open: healthy even when the channel is quiet.
        if (this.stream) this.metrics.setStreaming(true);
        const next = this.metrics.state.lastBlock + 1;
        if ((this.metrics.state.lagBlocks ?? 0) > 0) {
          let t = this.blockTimes.get(next);
          if (t === undefined) {
            t = (await this.source.blockTime(next)) ?? Date.now();
            this.blockTimes.clear();
            this.blockTimes.set(next, t);
          }
          // The block may have been indexed while its time was fetched: then its age is no lag.
          if (this.metrics.state.lastBlock < next) this.metrics.setLagSeconds(Math.max(0, (Date.now() - t) / 1000));
        }
      } catch (err) {
        this.metrics.setStreaming(false);
        this.metrics.setPeerReachable(false);
        this.log.debug({ err }, 'chain height poll failed');
      }
    };
    void poll();
    this.poller = setInterval(() => void poll(), this.options.chainPollMs);
    this.poller.unref();
  }
}
