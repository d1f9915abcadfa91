/**
 * Real network, real Postgres: index live while valid and invalid transactions are committed, then
 * replay the channel from empty into a second Postgres database and into PGlite: all three
 * mirrors are equal, row for row. Also checks /healthz and /metrics on the live indexer.
 */

import { gateway, peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { BlockStore } from '../../src/block-store.js';
import { startHttpServer } from '../../src/http-server.js';
import { createPglite, createTestDatabase, dumpTable, RAW_TABLES, type TestDatabase, testDatabaseUrl } from '../support/database.js';
import { type Forgery, forgeEnvelope } from '../support/forged-envelope.js';
import { lastIndexedBlock, type RunningIndexer, startIndexer, waitFor } from '../support/indexer.js';
import { enterpriseSubmitter, requireNetwork, type SubmitResult, type Submitter, submitHeartbeat, submitMany, uniqueId } from '../support/network.js';

async function dumpAll(db: Knex): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [table, order] of Object.entries(RAW_TABLES)) out[table] = await dumpTable(db, table, order, ['indexed_at', 'updated_at']);
  return out;
}

describe('indexer live and replay (real Fabric, real PostgreSQL, PGlite)', function () {
  this.timeout(180_000);
  let live: TestDatabase;
  let replay: TestDatabase;
  let pglite: Knex;
  let submitter: Submitter;
  let indexer: RunningIndexer;
  let submitted: SubmitResult[];

  before(async function () {
    requireNetwork(this);
    testDatabaseUrl();
    live = await createTestDatabase('live');
    replay = await createTestDatabase('replay');
    pglite = await createPglite();
    submitter = enterpriseSubmitter(requireNetwork(this));
  });
  after(async () => {
    await indexer?.stop().catch(() => undefined);
    submitter?.close();
    await live?.drop();
    await replay?.drop();
    await pglite?.destroy();
  });

  it('indexes live: every submitted transaction with its validation code, domain rows for valid ones only', async () => {
    indexer = startIndexer(live.db);
    submitted = await submitMany(submitter, 40, 10, 4);
    const invalid = submitted.filter((s) => !s.valid);
    expect(invalid.length).to.equal(10);
    const top = Math.max(...submitted.map((s) => s.blockNumber));
    await waitFor(async () => (await lastIndexedBlock(live.db)) >= top, 30_000, `block ${top} indexed`);

    const rows = await live
      .db('transactions')
      .whereIn(
        'tx_id',
        submitted.map((s) => s.txId),
      )
      .select('tx_id', 'valid', 'validation_code', 'block_number', 'creator_msp', 'function');
    expect(rows).to.have.length(submitted.length);
    const byId = new Map(rows.map((r) => [r.tx_id, r]));
    for (const s of submitted) {
      const r = byId.get(s.txId)!;
      expect(r.valid, s.txId).to.equal(s.valid);
      expect(Number(r.block_number)).to.equal(s.blockNumber);
      expect(r).to.include({ creator_msp: 'EnterpriseMSP', function: 'heartbeat:Record' });
      if (!s.valid) expect(r.validation_code).to.equal(peer.TxValidationCode.ENDORSEMENT_POLICY_FAILURE);
    }
    const heartbeats = await live
      .db('heartbeats')
      .whereIn(
        'tx_id',
        submitted.map((s) => s.txId),
      )
      .select('tx_id');
    expect(heartbeats.map((h) => h.tx_id).sort()).to.deep.equal(
      submitted
        .filter((s) => s.valid)
        .map((s) => s.txId)
        .sort(),
    );
    const invalidEvents = await live
      .db('events')
      .whereIn(
        'tx_id',
        invalid.map((s) => s.txId),
      )
      .select('valid');
    expect(invalidEvents).to.have.length(invalid.length);
    expect(invalidEvents.every((e) => e.valid === false)).to.equal(true);
    expect(await new BlockStore(live.db).verifyStoredChain()).to.equal((await lastIndexedBlock(live.db)) + 1);
  });

  it('stores a re-submitted envelope as DUPLICATE_TXID next to the original, which alone changes the domain', async () => {
    const tx = await submitter.heartbeat.newProposal('Record', { arguments: [uniqueId('hb-dup'), 'twice'] }).endorse();
    const first = await tx.submit();
    const status = await first.getStatus();
    expect(status.successful).to.equal(true);
    // The same signed envelope again: ordered into a later block, which Fabric marks DUPLICATE_TXID.
    await tx.submit();
    const txId = tx.getTransactionId();
    await waitFor(async () => (await live.db('transactions').where({ tx_id: txId })).length === 2, 30_000, 'both copies indexed');
    const rows = await live.db('transactions').where({ tx_id: txId }).orderBy('block_number').select('block_number', 'validation_code', 'valid');
    expect(rows.map((r) => [r.validation_code, r.valid])).to.deep.equal([
      [peer.TxValidationCode.VALID, true],
      [peer.TxValidationCode.DUPLICATE_TXID, false],
    ]);
    const heartbeat = await live.db('heartbeats').where({ tx_id: txId }).select('block_number');
    expect(heartbeat.map((h) => Number(h.block_number))).to.deep.equal([Number(status.blockNumber)]);
  });

  it('stores forged envelopes (ordered, then invalidated by the peers) whose text or time no column holds, and goes on past them', async () => {
    // Anyone allowed to broadcast can get such a transaction into a block: PostgreSQL's text takes no U+0000, and a
    // time in 2100 would have dated the block past the orderers' certificates.
    const forge = async (forgery: Forgery) => {
      const endorsed = await submitter.heartbeat.newProposal('Record', { arguments: [uniqueId('hb-forged'), 'forged'] }).endorse();
      const prepared = gateway.PreparedTransaction.deserializeBinary(endorsed.getBytes());
      forgeEnvelope(prepared.getEnvelope()!, forgery);
      // Unsigned: submit() signs the forged payload with the submitter's own key, as a forger would.
      return { txId: endorsed.getTransactionId(), submitted: await submitter.gateway.newTransaction(prepared.serializeBinary()).submit() };
    };
    const in2100 = Date.parse('2100-01-01T00:00:00Z') / 1000;
    const renamed = await forge({ nulText: true, nulInTxId: true });
    const [text, dated, far] = [
      await forge({ nulText: true }),
      await forge({ timestamp: { seconds: in2100, nanos: 0 } }),
      await forge({ timestamp: { seconds: 1e12, nanos: 0 } }),
    ];
    const statuses = await Promise.all([text, dated, far].map((f) => f.submitted.getStatus()));
    expect(
      statuses.map((st) => st.successful),
      'the peers invalidate every forged transaction',
    ).to.deep.equal([false, false, false]);
    const top = Math.max(...statuses.map((st) => Number(st.blockNumber)));
    await waitFor(async () => (await lastIndexedBlock(live.db)) >= top, 30_000, `block ${top} indexed`);
    const row = async (txId: string) =>
      (
        await live
          .db('transactions')
          .where({ tx_id: txId })
          .select('valid', 'validation_code', 'function', 'chaincode', 'block_number', 'timestamp', 'parse_error')
      )[0];
    expect(await row(text.txId)).to.deep.include({
      valid: false,
      validation_code: statuses[0]!.code,
      function: 'heartbeat:Record\uFFFDforged',
      chaincode: 'compliance\uFFFD',
    });
    const events = await live.db('events').where({ tx_id: text.txId }).select('name', 'chaincode_id', 'valid');
    expect(events).to.deep.equal([{ name: 'Heartbeat\uFFFDRecorded', chaincode_id: '\uFFFD', valid: false }]);
    const namespaces = await live
      .db('writes')
      .where({ block_number: (await row(text.txId)).block_number })
      .distinct('namespace');
    expect(namespaces.map((w) => w.namespace)).to.include('compliance\uFFFD');
    const datedRow = await row(dated.txId);
    expect(datedRow).to.deep.include({ valid: false, parse_error: null });
    expect(new Date(datedRow.timestamp).toISOString()).to.equal('2100-01-01T00:00:00.000Z');
    const farRow = await row(far.txId);
    expect(farRow).to.deep.include({ valid: false, timestamp: null });
    expect(farRow.parse_error).to.match(/timestamp .* is outside the years 1–9999/);
    // The one with U+0000 in its id cannot be asked for by id: the mirror must reach it on its own.
    await waitFor(async () => (await live.db('transactions').where({ tx_id: `${renamed.txId}\uFFFD` })).length === 1, 30_000, 'the renamed forgery indexed');
    expect(
      (
        await live
          .db('transactions')
          .where({ tx_id: `${renamed.txId}\uFFFD` })
          .first('valid')
      ).valid,
    ).to.equal(false);
    // And the mirror goes on: a valid heartbeat after them is indexed with its domain row.
    const after = await submitHeartbeat(submitter, 'after the forgeries');
    await waitFor(async () => (await live.db('heartbeats').where({ tx_id: after.txId })).length === 1, 30_000, 'the next heartbeat indexed');
  });

  it('serves /healthz and /metrics with last block, chain height and lag', async () => {
    await waitFor(async () => indexer.metrics.state.chainHeight !== null && indexer.metrics.state.lagBlocks === 0, 10_000, 'lag 0');
    const http = await startHttpServer(indexer.metrics, '127.0.0.1', 0);
    try {
      const health = (await (await fetch(`http://127.0.0.1:${http.port}/healthz`)).json()) as Record<string, number>;
      expect(health).to.include({ status: 'ok', lagBlocks: 0, lagSeconds: 0, streaming: true });
      expect(health.lastBlock).to.equal(await lastIndexedBlock(live.db));
      expect(health.chainHeight).to.equal(health.lastBlock! + 1);
      const text = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
      expect(text).to.match(new RegExp(`^indexer_last_block_indexed ${health.lastBlock}$`, 'm'));
      expect(text).to.match(new RegExp(`^indexer_chain_height ${health.chainHeight}$`, 'm'));
      expect(text).to.match(/^indexer_lag_blocks 0$/m);
      expect(text).to.match(/^indexer_lag_seconds 0$/m);
    } finally {
      await http.close();
    }
  });

  it('replays from empty into a second PostgreSQL database and into PGlite: equal to the live mirror', async () => {
    await indexer.stop();
    const last = await lastIndexedBlock(live.db);
    for (const db of [replay.db, pglite]) {
      const again = startIndexer(db, { stopAtBlock: last, batchMaxBlocks: 7 });
      await again.done;
      again.source.close();
    }
    const expected = await dumpAll(live.db);
    expect(expected.blocks).to.have.length(last + 1);
    const fromPg = await dumpAll(replay.db);
    const fromPglite = await dumpAll(pglite);
    for (const table of Object.keys(RAW_TABLES)) {
      expect(fromPg[table], `postgres ${table}`).to.deep.equal(expected[table]);
      expect(fromPglite[table], `pglite ${table}`).to.deep.equal(expected[table]);
    }
  });
});
