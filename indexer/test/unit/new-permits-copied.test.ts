/**
 * New permits loaded by binary COPY straight into `permits` (block-store.ts, copyNewRows), on a
 * migrated in-memory PGlite: the tables and every counter their triggers keep end exactly as after
 * the INSERT … ON CONFLICT a PostgreSQL server gets, for new permits, for a batch mixing new and
 * stored ones, and for a batch the binary form declines (an instant with an offset), which takes
 * the session-table upsert instead.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import { upsertCopied } from '../../src/block-store.js';
import type { Row } from '../../src/projection.js';
import { createPglite } from '../support/database.js';

function permit(no: string, over: Partial<Row> = {}): Row {
  const base: Row = {
    permit_no: no,
    org_msp: 'EnterpriseMSP',
    operation_type: 'hot_work',
    level: 'special',
    requested_level: 'special',
    status: 'applied',
    site_id: 'SITE-1',
    zone_id: 'Z-1',
    work_unit: 'maintenance',
    fire_explosion_zone: true,
    night_or_holiday: false,
    planned_start: '2026-12-06T08:00:00.000Z',
    planned_end: '2026-12-06T16:00:00.000Z',
    valid_from: null,
    valid_until: null,
    suspension_reason: null,
    suspension_alarm_id: null,
    template_version: 3,
    applied_at: '2026-12-06T07:30:00.123456Z',
    status_changed_at: '2026-12-06T07:30:00.123456Z',
    record: JSON.stringify({ permitNo: no, note: 'gas test 气体检测 "quoted"' }),
    block_number: 7,
    tx_id: `tx-${no}`,
  };
  return { ...base, ...over };
}

const BATCHES: Row[][] = [
  [permit('P-1'), permit('P-2', { site_id: 'SITE-2' })],
  [
    permit('P-1', { status: 'suspended', suspension_reason: 'violation', status_changed_at: '2026-12-06T09:00:00Z', block_number: 8 }),
    permit('P-3', { operation_type: 'confined_space', level: 'level_1' }),
  ],
  [permit('P-4', { planned_start: '2026-12-06T16:00:00+08:00' }), permit('P-2', { status: 'closed', status_changed_at: '2026-12-07T10:00:00Z' })],
];

async function everyTable(db: Knex): Promise<Record<string, unknown[]>> {
  const tables = (await db.raw(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'knex%' ORDER BY tablename`)).rows as {
    tablename: string;
  }[];
  const out: Record<string, unknown[]> = {};
  for (const { tablename } of tables) {
    const rows = (await db.raw(`SELECT to_jsonb(t)::text AS r FROM ?? t`, [tablename])).rows as { r: string }[];
    out[tablename] = rows.map((r) => r.r).sort();
  }
  return out;
}

describe('indexer: new permits copied straight into the table (PGlite)', function () {
  this.timeout(120_000);
  let copied: Knex;
  let inserted: Knex;

  before(async () => {
    [copied, inserted] = await Promise.all([createPglite(), createPglite()]);
  });
  after(async () => {
    await Promise.all([copied?.destroy(), inserted?.destroy()]);
  });

  const sessionTables = async (trx: Knex.Transaction) =>
    Number((await trx.raw(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'copied_permits_merge_%'`)).rows[0].n);

  it('ends with the same rows and counters as INSERT … ON CONFLICT, using the session table only for stored or declined permits', async () => {
    const used: number[] = [];
    for (const batch of BATCHES) {
      await copied.transaction(async (trx) => {
        expect(await upsertCopied(trx, { table: 'permits', key: ['permit_no'], onConflict: 'merge', rows: batch.map((r) => ({ ...r })) })).to.deep.equal([]);
        used.push(await sessionTables(trx));
      });
      await inserted.transaction(async (trx) => {
        await trx('permits').insert(batch).onConflict(['permit_no']).merge();
      });
    }
    // Batch 1: all new, copied (no session table yet); batch 2: P-1 stored, through the session table.
    expect(used).to.deep.equal([0, 1, 1]);
    const [a, b] = await Promise.all([everyTable(copied), everyTable(inserted)]);
    expect(a.permits).to.have.length(4);
    expect(Object.keys(a).length).to.be.greaterThan(10);
    expect(a).to.deep.equal(b);
  });
});
