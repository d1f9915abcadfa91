/**
 * The store on both databases it supports: the same migrations and writes on real PostgreSQL
 * (TEST_DATABASE_URL) and on PGlite. Real blocks 0..3 from the network, then synthetic blocks for
 * domain event types the chaincode does not emit yet.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import { parseBlock } from '../../src/block-parser.js';
import { BlockStore, GapError } from '../../src/block-store.js';
import { ChainIntegrityError } from '../../src/chain-verifier.js';
import { toNumber } from '../../src/db.js';
import { createPglite, createTestDatabase, dumpTable, type TestDatabase } from '../support/database.js';
import { fixtureBlock } from '../support/fixtures.js';
import { syntheticActor as actor, syntheticPermit as permit, syntheticChain, syntheticTx } from '../support/synthetic.js';

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`block-store on ${kind === 'postgres' ? 'real PostgreSQL' : 'PGlite'}`, function () {
    this.timeout(60_000);
    let db: Knex;
    let testDb: TestDatabase | undefined;
    let store: BlockStore;

    before(async () => {
      if (kind === 'postgres') {
        testDb = await createTestDatabase('store');
        db = testDb.db;
      } else {
        db = await createPglite();
      }
      store = new BlockStore(db);
    });
    after(async () => {
      if (testDb) await testDb.drop();
      else await db?.destroy();
    });

    it('starts with an empty checkpoint', async () => {
      expect((await store.checkpoint()).lastBlock).to.equal(-1);
    });

    it('writes real blocks 0..3 and the checkpoint together, and skips them when sent again', async () => {
      const blocks = [0, 1, 2, 3].map((n) => parseBlock(fixtureBlock(n)));
      const first = await store.writeBatch(blocks.slice(0, 2));
      expect(first.blocks).to.equal(2);
      const again = await store.writeBatch(blocks);
      expect(again.blocks).to.equal(2); // only 2 and 3 were new
      expect((await store.checkpoint()).lastBlock).to.equal(3);
      const counts = await db('blocks').count<{ n: unknown }[]>({ n: '*' });
      expect(toNumber(counts[0]!.n)).to.equal(4);
      const txs = await dumpTable(db, 'transactions', ['block_number', 'tx_index']);
      expect(txs).to.have.length(4);
      const writes = await db('writes').whereNotNull('collection').select('key', 'value', 'value_hash');
      expect(writes.length).to.be.greaterThan(0);
      for (const w of writes) expect(w.value).to.equal(null);
      expect(await store.verifyStoredChain()).to.equal(4);
    });

    it('refuses a gap after the checkpoint', async () => {
      const err = await store.writeBatch([parseBlock(fixtureBlock(10))]).catch((e) => e);
      expect(err).to.be.instanceOf(GapError);
    });

    it('refuses a block whose previous hash does not link to the stored chain', async () => {
      const forged = syntheticChain([[syntheticTx(0, [])]], 4, Buffer.alloc(32, 7));
      const err = await store.writeBatch(forged).catch((e) => e);
      expect(err).to.be.instanceOf(ChainIntegrityError);
      expect((await store.checkpoint()).lastBlock).to.equal(3);
    });

    it('projects domain events of valid transactions only, newest version winning within a batch', async () => {
      const last = await store.checkpoint();
      const p1 = permit('P-1', 'applied', 1);
      const p1b = permit('P-1', 'gas_tested', 2);
      const chain = syntheticChain(
        [
          [syntheticTx(0, [{ type: 'PermitApplied', payload: { permitNo: 'P-1', action: 'apply', from: null, to: 'applied', permit: p1 } }])],
          [
            syntheticTx(0, [{ type: 'GasTestRecorded', payload: { permitNo: 'P-1', action: 'gas_test', from: 'applied', to: 'gas_tested', permit: p1b } }]),
            // Invalid: must change nothing.
            syntheticTx(
              1,
              [
                {
                  type: 'PermitCancelled',
                  payload: { permitNo: 'P-1', action: 'cancel', from: 'gas_tested', to: 'cancelled', permit: permit('P-1', 'cancelled', 3) },
                },
              ],
              false,
            ),
            syntheticTx(2, [
              {
                type: 'DeviceRegistered',
                payload: {
                  docType: 'device',
                  deviceId: 'D-1',
                  ownerMsp: 'EnterpriseMSP',
                  siteId: 'S1',
                  areaId: 'Z1',
                  address: '0xabc',
                  kind: 'sensor',
                  status: 'active',
                  registeredBy: actor('EnterpriseMSP'),
                  registeredAt: '2026-11-30T10:00:00Z',
                  statusHistory: [],
                },
              },
            ]),
            syntheticTx(3, [{ type: 'BrandNewEvent', payload: {} }]),
            syntheticTx(4, [
              {
                type: 'PersonalDataErased',
                payload: { subject: { kind: 'worker', id: 'W-9' }, reason: 'PIPL request', collection: 'enterprisePersonal', erasedBy: actor('EnterpriseMSP') },
              },
            ]),
          ],
        ],
        4,
        last.last!.headerHash,
      );
      const result = await store.writeBatch(chain);
      expect(result.rows!.unprojected).to.deep.equal(['BrandNewEvent']);
      const permits = await db('permits').select('permit_no', 'status', 'org_msp', 'site_id', 'block_number');
      expect(permits).to.have.length(1);
      expect(permits[0]).to.include({ permit_no: 'P-1', status: 'gas_tested', org_msp: 'EnterpriseMSP', site_id: 'S1' });
      expect(toNumber(permits[0].block_number)).to.equal(5);
      expect(await db('permit_steps').where({ permit_no: 'P-1' }).select('step_index').orderBy('step_index')).to.have.length(2);
      expect(await db('gas_tests').select('test_id')).to.deep.equal([{ test_id: 'P-1-g1' }]);
      expect(await db('devices').select('device_id', 'status')).to.deep.equal([{ device_id: 'D-1', status: 'active' }]);
      expect(await db('personal_data_erasures').select('subject_id', 'erased_by_msp')).to.deep.equal([{ subject_id: 'W-9', erased_by_msp: 'EnterpriseMSP' }]);
      const invalid = await db('transactions').where({ valid: false }).select('validation_code_name');
      expect(invalid.map((r) => r.validation_code_name)).to.include('MVCC_READ_CONFLICT');
      expect(await store.verifyStoredChain()).to.equal(6);
    });

    it('detects an altered stored block hash at the next checkpoint read', async () => {
      await db('blocks')
        .where({ number: 5 })
        .update({ header_hash: Buffer.alloc(32, 1) });
      const err = await store.checkpoint().catch((e) => e);
      expect(err).to.be.instanceOf(ChainIntegrityError);
      expect(String(err.message)).to.match(/stored block 5 is corrupt/);
    });
  });

  // The chaincode and the gateway refuse U+0000 and lone surrogates since 2026-12-05, but a ledger
  // written before holds them for good: its blocks must not stop the mirror.
  describe(`text ${kind === 'postgres' ? 'PostgreSQL' : 'PGlite'} cannot hold, in a valid transaction's event`, function () {
    this.timeout(60_000);
    it('is mirrored as U+FFFD and reported, the event kept as it was in the raw rows, and the next block follows', async () => {
      const testDb = kind === 'postgres' ? await createTestDatabase('storenul') : undefined;
      const db = testDb?.db ?? (await createPglite());
      try {
        const store = new BlockStore(db);
        const old = permit('P-NUL', 'applied', 1);
        const bad = {
          ...old,
          location: { ...old.location, zoneId: 'Z\u00001' },
          description: 'valve\u0000 7',
          workUnit: 'crew \ud800',
          template: { 'key\u0000': 'x', ok: ['\udc00'] },
        };
        const applied = { permitNo: 'P-NUL', action: 'apply', from: null, to: 'applied', permit: bad };
        const chain = syntheticChain([[syntheticTx(0, [{ type: 'PermitApplied', payload: applied }])]]);
        const result = await store.writeBatch(chain);
        expect(result.rows!.replacedText).to.deep.equal([
          { blockNumber: 0, txId: chain[0]!.transactions[0]!.txId, type: 'PermitApplied', path: ['payload', 'permit', 'location', 'zoneId'] },
        ]);
        const row = await db('permits').first('zone_id', 'work_unit', 'record');
        expect(row.zone_id).to.equal('Z\ufffd1');
        expect(row.work_unit).to.equal('crew \ufffd');
        const record = typeof row.record === 'string' ? JSON.parse(row.record) : row.record;
        expect(record.description).to.equal('valve\ufffd 7');
        expect(record.template).to.deep.equal({ 'key\ufffd': 'x', ok: ['\ufffd'] });
        // The raw event keeps the block's bytes: what an auditor verifies.
        const event = await db('events').first('payload');
        expect(JSON.parse(Buffer.from(event.payload).toString('utf8')).payload.permit.description).to.equal('valve\u0000 7');
        const next = syntheticChain(
          [[syntheticTx(0, [{ type: 'PermitApplied', payload: { ...applied, permitNo: 'P-2', permit: permit('P-2', 'applied', 1) } }])]],
          1,
          chain[0]!.headerHash,
        );
        expect((await store.writeBatch(next)).rows!.replacedText).to.deep.equal([]);
        expect((await db('permits').select('permit_no').orderBy('permit_no')).map((r) => r.permit_no)).to.deep.equal(['P-2', 'P-NUL']);
      } finally {
        if (testDb) await testDb.drop();
        else await db.destroy();
      }
    });
  });

  // PGlite loads the raw tables with COPY in CSV form, PostgreSQL with INSERT: both keep every value as given.
  describe(`raw rows on ${kind === 'postgres' ? 'real PostgreSQL' : 'PGlite'} keep awkward values exactly`, function () {
    this.timeout(60_000);
    it('text with quotes, commas, line breaks and backslashes, empty text apart from NULL, bytes with NUL', async () => {
      const testDb = kind === 'postgres' ? await createTestDatabase('storecsv') : undefined;
      const db = testDb?.db ?? (await createPglite());
      try {
        const awkward = 'x509::/CN=a "b", c\nd\\e\r\n,"",\\x00';
        const tx = { ...syntheticTx(0, []), creatorId: awkward, functionName: '', chaincode: null, creatorMsp: '"' };
        tx.writes = [{ ...tx.writes[0]!, value: Buffer.from([0, 1, 0x2c, 0x22, 0x0a, 0x5c, 0xff]), key: '\u0000k\u0000"\n\u0000' }];
        const [block] = syntheticChain([[tx]]);
        await new BlockStore(db).writeBatch([block!]);
        const row = await db('transactions').first('creator_id', 'function', 'chaincode', 'creator_msp');
        expect(row).to.deep.equal({ creator_id: awkward, function: '', chaincode: null, creator_msp: '"' });
        const write = await db('writes').first('key', 'value', 'value_hash');
        expect(Buffer.from(write.key).toString('utf8')).to.equal('\u0000k\u0000"\n\u0000');
        expect(Buffer.from(write.value).equals(Buffer.from([0, 1, 0x2c, 0x22, 0x0a, 0x5c, 0xff]))).to.equal(true);
        expect(write.value_hash).to.equal(null);
      } finally {
        if (testDb) await testDb.drop();
        else await db.destroy();
      }
    });
  });
}
