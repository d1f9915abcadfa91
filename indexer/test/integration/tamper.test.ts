/**
 * A tampered mirror is detected and indexing stops loudly: a stored header hash that no longer
 * matches its fields (at start-up), a stored block rewritten consistently (when the restart re-reads
 * it from the peer, or the next real block does not link to it), a block in the middle (by the full
 * audit), and the real process exits 2. Then blocks the orderer did not sign, served by the peer.
 */
import { expect } from 'chai';
import { auditMirror } from '../../src/audit.js';
import { BlockStore } from '../../src/block-store.js';
import { ChainIntegrityError } from '../../src/chain-verifier.js';
import { openFabricSource } from '../../src/fabric-source.js';
import { blockHeaderHash } from '../../src/header-hash.js';
import { createTestDatabase, type TestDatabase, testDatabaseUrl } from '../support/database.js';
import { chainHeight, lastIndexedBlock, spawnIndexer, startIndexer } from '../support/indexer.js';
import { connectionProfilePath, requireNetwork } from '../support/network.js';
import { flipSignatureByte, resignWithRogueKey, tamperingSource } from '../support/rogue-orderer.js';

/** A mirror indexed up to one block short of the head, so the next block already exists on the peer. */
async function mirrorOneShortOfHead(name: string): Promise<{ t: TestDatabase; top: number }> {
  testDatabaseUrl();
  const t = await createTestDatabase(name);
  const top = (await chainHeight()) - 1;
  expect(top).to.be.greaterThan(3);
  const run = startIndexer(t.db, { stopAtBlock: top - 1 });
  await run.done;
  run.source.close();
  expect(await lastIndexedBlock(t.db)).to.equal(top - 1);
  return { t, top };
}

describe('indexer detects a tampered mirror (real Fabric, real PostgreSQL)', function () {
  this.timeout(120_000);
  let t: TestDatabase;
  let top: number;

  before(async function () {
    requireNetwork(this);
    ({ t, top } = await mirrorOneShortOfHead('tamper'));
  });
  after(async () => {
    await t?.drop();
  });

  it('the audit anchors the untouched mirror to the peer: the next real block points to its last header', async () => {
    const source = openFabricSource({ profilePath: connectionProfilePath(), org: 'regulator', identity: 'client' });
    try {
      expect(await auditMirror(new BlockStore(t.db), source)).to.deep.equal({ storedBlocks: top, anchoredTo: 'next-block' });
    } finally {
      source.close();
    }
  });

  it('refuses to start when the stored header hash of the last block was altered', async () => {
    const original = await t
      .db('blocks')
      .where({ number: top - 1 })
      .first('header_hash');
    await t
      .db('blocks')
      .where({ number: top - 1 })
      .update({ header_hash: Buffer.alloc(32, 0xee) });
    const run = startIndexer(t.db, { stopAtBlock: top });
    const err = await run.done.catch((e) => e);
    run.source.close();
    expect(err).to.be.instanceOf(ChainIntegrityError);
    expect(run.metrics.state.fatal).to.match(/corrupt/);
    await t
      .db('blocks')
      .where({ number: top - 1 })
      .update({ header_hash: original.header_hash });
  });

  it('stops at the next real block when a stored block was rewritten with a consistent hash', async () => {
    const row = await t
      .db('blocks')
      .where({ number: top - 1 })
      .first('previous_hash', 'data_hash', 'header_hash');
    const forgedData = Buffer.alloc(32, 0x42);
    const forgedHash = blockHeaderHash(BigInt(top - 1), Buffer.from(row.previous_hash), forgedData);
    await t
      .db('blocks')
      .where({ number: top - 1 })
      .update({ data_hash: forgedData, header_hash: forgedHash });
    const run = startIndexer(t.db, { stopAtBlock: top });
    const err = await run.done.catch((e) => e);
    run.source.close();
    expect(err).to.be.instanceOf(ChainIntegrityError);
    // Re-anchoring the orderer's config on restart re-reads the last stored block from the peer and
    // finds it is not the stored one, before the next block would show the broken link.
    expect(String(err.message)).to.match(new RegExp(`the peer's block ${top - 1} is not the block the mirror stored|hash chain broken at block ${top}`));
    expect(await lastIndexedBlock(t.db)).to.equal(top - 1); // nothing written past the break
    // The on-demand audit sees it too: the stored chain is self-consistent, but not the ledger's.
    const source = openFabricSource({ profilePath: connectionProfilePath(), org: 'regulator', identity: 'client' });
    try {
      const audit = await auditMirror(new BlockStore(t.db), source).catch((e) => e);
      expect(audit).to.be.instanceOf(ChainIntegrityError);
      expect(String(audit.message)).to.match(/points to/);
    } finally {
      source.close();
    }
  });

  it('the indexer process exits with code 2 and a loud log line', async () => {
    const child = spawnIndexer({ DATABASE_URL: t.url, INDEXER_STOP_AT_BLOCK: String(top) });
    const exit = await child.exit;
    expect(exit.code, child.output()).to.equal(2);
    expect(child.output()).to.match(/CHAIN INTEGRITY FAILURE/);
  });

  it('the full audit finds a tampered block in the middle of the stored chain', async () => {
    await t
      .db('blocks')
      .where({ number: 2 })
      .update({ header_hash: Buffer.alloc(32, 1) });
    const err = await new BlockStore(t.db).verifyStoredChain().catch((e) => e);
    expect(err).to.be.instanceOf(ChainIntegrityError);
    expect(String(err.message)).to.match(/stored block 2 is corrupt/);
  });
});

describe('indexer verifies the orderer signature of every block it follows (real Fabric, real PostgreSQL)', function () {
  this.timeout(120_000);
  let t: TestDatabase;
  let top: number;

  before(async function () {
    requireNetwork(this);
    // Every block up to top - 1 passes the check (config blocks tracked from block 0 on).
    ({ t, top } = await mirrorOneShortOfHead('ordsig'));
  });
  after(async () => {
    await t?.drop();
  });

  const nothingOf = async (n: number) => {
    expect(await lastIndexedBlock(t.db)).to.equal(n - 1);
    expect(await t.db('blocks').where({ number: n }).first()).to.equal(undefined);
    expect((await t.db('transactions').where({ block_number: n }).count('* as c').first())!.c).to.satisfy((c: unknown) => Number(c) === 0);
  };

  it('stops at a block whose orderer signature was altered, with the reason, and indexes nothing of it', async () => {
    const run = startIndexer(t.db, { stopAtBlock: top, wrapSource: tamperingSource(top, flipSignatureByte) });
    const err = await run.done.catch((e) => e);
    run.source.close();
    expect(err).to.be.instanceOf(ChainIntegrityError);
    expect(String(err.message)).to.match(
      new RegExp(`^block ${top}: orderer signature refused: .*the signature of .* \\(OrdererMSP\\) does not match the block`),
    );
    expect(run.metrics.state.fatal).to.contain('orderer signature refused');
    await nothingOf(top);
  });

  it('stops at a block signed with a key the orderer org never issued (fresh P-256 key, self-made certificate), and indexes nothing of it', async () => {
    const run = startIndexer(t.db, { stopAtBlock: top, wrapSource: tamperingSource(top, resignWithRogueKey) });
    const err = await run.done.catch((e) => e);
    run.source.close();
    expect(err).to.be.instanceOf(ChainIntegrityError);
    expect(String(err.message)).to.match(new RegExp(`^block ${top}: orderer signature refused: .*was not issued by any root or intermediate CA of OrdererMSP`));
    await nothingOf(top);
  });

  it('a restart re-anchors the config in force to the stored chain and indexes the genuine block', async () => {
    const run = startIndexer(t.db, { stopAtBlock: top });
    await run.done;
    run.source.close();
    expect(await lastIndexedBlock(t.db)).to.equal(top);
  });
});
