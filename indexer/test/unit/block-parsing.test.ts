/**
 * Block parsing on worker threads (block-parsing.ts) against parsing on the calling thread: the
 * same parsed blocks (Buffers included) for a whole real channel parsed at once on two threads,
 * answered in the order given; an unreadable block refused as such; a thread that stops fails only
 * the blocks it held, and the next block is parsed by a new thread; an idle thread is ended.
 */
import { common } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { parseBlock } from '../../src/block-parser.js';
import { BlockUnreadableError, inThreadParsing, ParseThreadError, ParseThreads } from '../../src/block-parsing.js';
import { domainChain } from '../support/fixtures.js';

describe('indexer: blocks parsed on worker threads (unit)', function () {
  this.timeout(60_000);
  let threads: ParseThreads;

  beforeEach(() => {
    threads = new ParseThreads(2);
  });
  afterEach(async () => {
    await threads.close();
  });

  it('gives the same parsed blocks as the calling thread, in the order given, for a whole channel at once', async () => {
    const chain = domainChain();
    expect(chain.length).to.be.greaterThan(10);
    const parsed = await Promise.all(chain.map((b) => threads.parse(b)));
    expect(parsed.map((p) => p.number)).to.deep.equal(chain.map((_, i) => i));
    for (const [i, block] of chain.entries()) {
      const here = parseBlock(block);
      expect(parsed[i], `block ${i}`).to.deep.equal(here);
      expect(Buffer.isBuffer(parsed[i]!.headerHash)).to.equal(true);
      for (const tx of parsed[i]!.transactions) {
        for (const e of tx.events) expect(Buffer.isBuffer(e.payload)).to.equal(true);
        for (const w of tx.writes) if (w.value) expect(Buffer.isBuffer(w.value)).to.equal(true);
      }
    }
  });

  it('refuses a block it cannot read with the reason, as the calling thread does', async () => {
    const headless = new common.Block();
    const there = await threads.parse(headless).catch((e: unknown) => e);
    const here = await inThreadParsing.parse(headless).catch((e: unknown) => e);
    expect(there).to.be.instanceOf(BlockUnreadableError);
    expect(here).to.be.instanceOf(BlockUnreadableError);
    expect((there as Error).message).to.equal('block without header');
    expect((there as Error).message).to.equal((here as Error).message);
  });

  it('fails the blocks a stopped thread held with ParseThreadError and parses the next on a new thread', async () => {
    const one = new ParseThreads(1);
    try {
      const chain = domainChain();
      const held = chain.map((b) => one.parse(b).catch((e: unknown) => e));
      // Stopped as a crash would stop it, before this thread could have taken any answer.
      await (one as unknown as { threads: { worker: { terminate(): Promise<number> } }[] }).threads[0]!.worker.terminate();
      const outcomes = await Promise.all(held);
      const failed = outcomes.filter((o) => o instanceof ParseThreadError);
      expect(failed.length).to.be.greaterThan(0);
      for (const [i, o] of outcomes.entries()) if (!(o instanceof ParseThreadError)) expect((o as { number: number }).number).to.equal(i);
      const again = await Promise.all([one.parse(chain[5]!), one.parse(chain[6]!)]);
      expect(again.map((p) => p.number)).to.deep.equal([5, 6]);
    } finally {
      await one.close();
    }
  });

  it('ends a thread left without work, and starts one again for the next block', async () => {
    const brief = new ParseThreads(1, 200);
    try {
      const chain = domainChain();
      expect((await brief.parse(chain[1]!)).number).to.equal(1);
      const first = (brief as unknown as { threads: { exited: boolean }[] }).threads[0]!;
      expect(first.exited).to.equal(false);
      await new Promise((r) => setTimeout(r, 600));
      expect(first.exited).to.equal(true);
      expect((await brief.parse(chain[2]!)).number).to.equal(2);
      expect((brief as unknown as { threads: { exited: boolean }[] }).threads[0]).to.not.equal(first);
    } finally {
      await brief.close();
    }
  });
});
