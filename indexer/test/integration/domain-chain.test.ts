/**
 * The domain projection on real chaincode transactions: a channel captured from a network where
 * the chaincode's integration tests ran (permits through their lifecycle, workers, certificates,
 * devices, gate checks, evidence, a suspension). Expected rows are derived independently from the
 * event payloads; PostgreSQL and PGlite must produce identical tables.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import { type ParsedBlock, parseBlock } from '../../src/block-parser.js';
import { BlockStore } from '../../src/block-store.js';
import { createPglite, createTestDatabase, dumpTable, type TestDatabase } from '../support/database.js';
import { domainChain } from '../support/fixtures.js';

const DOMAIN_TABLES: Record<string, string[]> = {
  permits: ['permit_no'],
  permit_steps: ['permit_no', 'step_index'],
  sign_offs: ['permit_no', 'step_id', 'tx_id'],
  gas_tests: ['permit_no', 'test_id'],
  workers: ['worker_id'],
  certificates: ['certificate_id'],
  gate_checks: ['permit_no', 'worker_id', 'gate_check_id'],
  evidence: ['permit_no', 'step', 'cid'],
  devices: ['device_id'],
  alarms: ['alarm_id'],
  investigation_flags: ['permit_no', 'flag_id'],
  personal_data_accesses: ['access_id'],
  personal_data_erasures: ['tx_id', 'subject_kind', 'subject_id'],
};

/**
 * The rollups of migration 011 without their zero counters, and the same figures grouped from the
 * base tables, as plain maps: equal when the triggers kept them right.
 */
export async function rollupsAndBase(db: Knex): Promise<{ rollups: Record<string, Record<string, string>>; base: Record<string, Record<string, string>> }> {
  const map = async (sql: string) => {
    const rows = (await db.raw(sql)).rows as Record<string, unknown>[];
    return Object.fromEntries(rows.map((r) => [String(r.k), String(r.v)]));
  };
  const day = (col: string) => `to_char(rollup_day(${col}), 'YYYY-MM-DD')`;
  return {
    rollups: {
      permits: await map(
        `SELECT to_char(day, 'YYYY-MM-DD') || '|' || operation_type || '|' || level || '|' || status AS k, n AS v FROM permit_days WHERE n <> 0`,
      ),
      alarms: await map(
        `SELECT to_char(day, 'YYYY-MM-DD') || '|' || grade AS k, n || '|' || responded || '|' || response_ms AS v
           FROM alarm_days WHERE n <> 0 OR responded <> 0`,
      ),
      responses: await map(`SELECT to_char(day, 'YYYY-MM-DD') || '|' || bucket AS k, n AS v FROM alarm_response_days WHERE n <> 0`),
    },
    base: {
      permits: await map(`SELECT ${day('applied_at')} || '|' || operation_type || '|' || level || '|' || status AS k, count(*) AS v FROM permits GROUP BY 1`),
      alarms: await map(
        `SELECT ${day('recorded_at')} || '|' || grade AS k, count(*) || '|' || count(response_ms) || '|' || coalesce(sum(response_ms), 0) AS v
           FROM alarms GROUP BY 1`,
      ),
      responses: await map(
        `SELECT ${day('recorded_at')} || '|' || alarm_response_bucket(response_ms) AS k, count(*) AS v FROM alarms WHERE response_ms IS NOT NULL GROUP BY 1`,
      ),
    },
  };
}

/**
 * Migration 012's counters and tables, and the same grouped from workers, certificates and permits
 * (each worker's covered spans merged here in JavaScript, not by the migration's SQL).
 */
export async function nowCountersAndBase(
  db: Knex,
): Promise<{ counters: Record<string, Record<string, string>>; base: Record<string, Record<string, string>> }> {
  const map = async (sql: string) => {
    const rows = (await db.raw(sql)).rows as Record<string, unknown>[];
    return Object.fromEntries(rows.map((r) => [String(r.k), String(r.v)]));
  };
  const day = (col: string) => `to_char(rollup_day(${col}), 'YYYY-MM-DD')`;
  const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
  const certs = (
    await db.raw(`SELECT c.worker_id, c.valid_from, least(c.valid_until, c.review_due) AS ends FROM certificates c JOIN workers w USING (worker_id)
                   WHERE w.status = 'active' AND c.status = 'valid' AND c.valid_from < least(c.valid_until, c.review_due) ORDER BY 1, 2, 3`)
  ).rows as { worker_id: string; valid_from: unknown; ends: unknown }[];
  const spans: Record<string, string> = {};
  let open: { worker: string; from: number; to: number } | undefined;
  const close = () => {
    if (open) spans[`${open.worker}|${new Date(open.from).toISOString()}`] = new Date(open.to).toISOString();
  };
  for (const c of certs) {
    const from = Date.parse(iso(c.valid_from));
    const to = Date.parse(iso(c.ends));
    if (open && open.worker === c.worker_id && from <= open.to) open.to = Math.max(open.to, to);
    else {
      close();
      open = { worker: c.worker_id, from, to };
    }
  }
  close();
  const live = `status IN ('issued', 'briefed', 'active', 'suspended')`;
  return {
    counters: {
      workers: await map(`SELECT org_msp AS k, n AS v FROM worker_counts WHERE n <> 0`),
      sites: await map(`SELECT org_msp || '|' || site_id AS k, n || '|' || live AS v FROM permit_site_counts WHERE n <> 0`),
      certificates: await map(`SELECT certificate_id AS k, worker_id AS v FROM counted_certificates`),
      spans: Object.fromEntries(
        ((await db.raw('SELECT worker_id, starts_at, ends_at FROM worker_coverage')).rows as Record<string, unknown>[]).map((r) => [
          `${r.worker_id}|${iso(r.starts_at)}`,
          iso(r.ends_at),
        ]),
      ),
      starts: await map(`SELECT to_char(day, 'YYYY-MM-DD') AS k, n AS v FROM coverage_start_days WHERE n <> 0`),
      ends: await map(`SELECT to_char(day, 'YYYY-MM-DD') AS k, n AS v FROM coverage_end_days WHERE n <> 0`),
      reviews: await map(`SELECT to_char(day, 'YYYY-MM-DD') AS k, n AS v FROM certificate_review_days WHERE n <> 0`),
      expiries: await map(`SELECT to_char(day, 'YYYY-MM-DD') AS k, n AS v FROM certificate_expiry_days WHERE n <> 0`),
    },
    base: {
      workers: await map(`SELECT registered_by_msp AS k, count(*) AS v FROM workers WHERE status = 'active' GROUP BY 1`),
      sites: await map(`SELECT org_msp || '|' || site_id AS k, count(*) || '|' || count(*) FILTER (WHERE ${live}) AS v FROM permits GROUP BY 1`),
      certificates: await map(
        `SELECT certificate_id AS k, worker_id AS v FROM certificates WHERE status = 'valid' AND worker_id IN (SELECT worker_id FROM workers)`,
      ),
      spans,
      starts: await map(`SELECT ${day('starts_at')} AS k, count(*) AS v FROM worker_coverage GROUP BY 1`),
      ends: await map(`SELECT ${day('ends_at')} AS k, count(*) AS v FROM worker_coverage GROUP BY 1`),
      reviews: await map(
        `SELECT ${day('review_due')} AS k, count(*) AS v FROM certificates WHERE status = 'valid' AND worker_id IN (SELECT worker_id FROM workers) GROUP BY 1`,
      ),
      expiries: await map(
        `SELECT ${day('valid_until')} AS k, count(*) AS v FROM certificates WHERE status = 'valid' AND worker_id IN (SELECT worker_id FROM workers) GROUP BY 1`,
      ),
    },
  };
}

interface Expected {
  permits: Map<string, { status: string; steps: number; gasTests: Set<string>; signOffs: number }>;
  counts: Record<string, number>;
  types: Set<string>;
}

/** The reference model: replays the valid events with plain maps. */
function expectedFrom(blocks: ParsedBlock[]): Expected {
  const permits: Expected['permits'] = new Map();
  const sets: Record<string, Set<string>> = {};
  const add = (t: string, k: string) => {
    sets[t] ??= new Set();
    sets[t].add(k);
  };
  const types = new Set<string>();
  const permit = (p: { permitNo: string; status: string; history: unknown[]; gasTests: { testId: string }[]; signOffs: unknown[] }) =>
    permits.set(p.permitNo, { status: p.status, steps: p.history.length, gasTests: new Set(p.gasTests.map((g) => g.testId)), signOffs: p.signOffs.length });
  for (const b of blocks)
    for (const tx of b.transactions) {
      if (!tx.valid) continue;
      for (const e of tx.events) {
        const env = JSON.parse(e.payload.toString('utf8'));
        const p = env.payload;
        types.add(env.type);
        if (p?.permit) permit(p.permit);
        if (env.type === 'AlarmRecorded') {
          add('alarms', p.alarm.alarmId);
          for (const sp of p.suspendedPermits) permit(sp);
        }
        if (env.type.startsWith('Worker') && p.workerId && env.type !== 'WorkerPersonalDataStored') add('workers', p.workerId);
        if (env.type.startsWith('Certificate') && p.certificateId && env.type !== 'CertificateNumberStored') add('certificates', p.certificateId);
        if (env.type.startsWith('Device')) add('devices', p.deviceId);
        if (env.type === 'GateCheckRecorded') add('gate_checks', `${p.permitNo}/${p.workerId}/${p.gateCheckId}`);
        if (env.type === 'EvidenceRecorded' && !p.duplicate) add('evidence', `${p.evidence.permitNo}/${p.evidence.step}/${p.evidence.cid}`);
        if (env.type === 'PermitFlagged') add('investigation_flags', `${p.permitNo}/${p.flagId}`);
        if (env.type === 'PersonalDataAccessLogged') add('personal_data_accesses', p.accessId);
      }
    }
  const counts: Record<string, number> = Object.fromEntries(Object.entries(sets).map(([k, v]) => [k, v.size]));
  counts.permits = permits.size;
  counts.permit_steps = [...permits.values()].reduce((n, p) => n + p.steps, 0);
  counts.gas_tests = [...permits.values()].reduce((n, p) => n + p.gasTests.size, 0);
  counts.sign_offs = [...permits.values()].reduce((n, p) => n + p.signOffs, 0);
  return { permits, counts, types };
}

describe('domain projection on a real captured channel (PostgreSQL and PGlite)', function () {
  this.timeout(120_000);
  const blocks = domainChain().map(parseBlock);
  const expected = expectedFrom(blocks);
  let pg: TestDatabase;
  let lite: Knex;

  before(async () => {
    pg = await createTestDatabase('domain');
    lite = await createPglite();
  });
  after(async () => {
    await pg?.drop();
    await lite?.destroy();
  });

  it('the captured channel exercises the permit lifecycle and most record types', () => {
    for (const t of [
      'PermitApplied',
      'GasTestRecorded',
      'PermitSignedOff',
      'PermitIssued',
      'PermitActivated',
      'PermitSuspended',
      'PermitResumed',
      'PermitClosed',
      'WorkerRegistered',
      'CertificateAdded',
      'DeviceRegistered',
      'GateCheckRecorded',
      'EvidenceRecorded',
    ]) {
      expect([...expected.types], t).to.include(t);
    }
  });

  for (const kind of ['postgres', 'pglite'] as const) {
    it(`projects every record of the channel into ${kind}, in batches, with nothing unprojected`, async () => {
      const db = kind === 'postgres' ? pg.db : lite;
      const store = new BlockStore(db);
      const unprojected: string[] = [];
      for (let i = 0; i < blocks.length; i += 10) unprojected.push(...(await store.writeBatch(blocks.slice(i, i + 10))).rows!.unprojected);
      expect(unprojected).to.deep.equal([]);
      expect(await store.verifyStoredChain()).to.equal(blocks.length);
      for (const [table, n] of Object.entries(expected.counts)) {
        const rows = await db(table).count<{ n: unknown }[]>({ n: '*' });
        expect(Number(rows[0]!.n), table).to.equal(n);
      }
      const permits = await db('permits').select('permit_no', 'status');
      expect(Object.fromEntries(permits.map((p) => [p.permit_no, p.status]))).to.deep.equal(
        Object.fromEntries([...expected.permits].map(([no, p]) => [no, p.status])),
      );
    });
  }

  for (const kind of ['postgres', 'pglite'] as const) {
    it(`keeps permit_counts equal to the permits grouped by enterprise, site, type and status in ${kind} (migration 010's trigger)`, async () => {
      const db = kind === 'postgres' ? pg.db : lite;
      const key = (r: Record<string, unknown>) => `${r.org_msp}|${r.site_id}|${r.operation_type}|${r.status}`;
      const grouped = await db('permits').select('org_msp', 'site_id', 'operation_type', 'status').count({ n: '*' }).groupBy(1, 2, 3, 4);
      const counters = await db('permit_counts').where('n', '<>', 0).select('*');
      const want = Object.fromEntries(grouped.map((r) => [key(r), Number(r.n)]));
      expect(Object.fromEntries(counters.map((r) => [key(r), Number(r.n)]))).to.deep.equal(want);
      // The channel moves permits through several statuses: counters left at 0 show the decrements ran.
      expect(Object.keys(want).length).to.be.greaterThan(1);
      expect(await db('permit_counts').where('n', '<', 0).count({ n: '*' })).to.deep.equal([{ n: kind === 'postgres' ? '0' : 0 }]);
    });
  }

  for (const kind of ['postgres', 'pglite'] as const) {
    it(`keeps the day rollups equal to the permits and alarms grouped by day in ${kind} (migration 011's triggers)`, async () => {
      const db = kind === 'postgres' ? pg.db : lite;
      const { rollups, base } = await rollupsAndBase(db);
      expect(rollups).to.deep.equal(base);
      // Permits of the channel changed status: a counter left at 0 shows a decrement ran.
      expect(Object.keys(base.permits!).length, 'the channel fills permit_days').to.be.greaterThan(0);
      expect(Number((await db('permit_days').where('n', 0).count<{ n: unknown }[]>({ n: '*' }))[0]!.n)).to.be.greaterThan(0);
      for (const table of ['permit_days', 'alarm_days', 'alarm_response_days']) {
        const negative = await db(table).where('n', '<', 0).count<{ n: unknown }[]>({ n: '*' });
        expect(Number(negative[0]!.n), table).to.equal(0);
      }
    });
  }

  for (const kind of ['postgres', 'pglite'] as const) {
    it(`keeps the KPIs' counters of now equal to the workers, certificates and permits in ${kind} (migration 012's triggers)`, async () => {
      const db = kind === 'postgres' ? pg.db : lite;
      const { counters, base } = await nowCountersAndBase(db);
      expect(counters).to.deep.equal(base);
      expect(Object.keys(base.workers!).length, 'the channel registers active workers').to.be.greaterThan(0);
      expect(Object.keys(base.certificates!).length, 'the channel adds valid certificates').to.be.greaterThan(0);
      expect(Object.keys(base.sites!).length, 'the channel holds permits').to.be.greaterThan(0);
    });
  }

  for (const kind of ['postgres', 'pglite'] as const) {
    it(`keeps flags' permit attributes, month and type counters and alarm sites' spans equal to the base tables in ${kind} (migrations 013, 015)`, async () => {
      const db = kind === 'postgres' ? pg.db : lite;
      const map = async (sql: string) => Object.fromEntries(((await db.raw(sql)).rows as Record<string, unknown>[]).map((r) => [String(r.k), String(r.v)]));
      const month = (col: string) => `to_char(date_trunc('month', rollup_day(${col})), 'YYYY-MM')`;
      const counters = {
        flags: await map(`SELECT permit_no || '/' || flag_id AS k, concat_ws('|', at, org_msp, site_id, zone_id, work_unit) AS v FROM violation_flags`),
        alarms: await map(
          `SELECT to_char(month, 'YYYY-MM') || '|' || org_msp || '|' || site_id AS k, concat_ws('|', n, responded, response_ms) AS v
             FROM alarm_site_months WHERE n <> 0`,
        ),
        spans: await map(
          `SELECT org_msp || '|' || site_id AS k, concat_ws('|', first_day, last_day, n, responded, response_ms) AS v FROM alarm_site_spans WHERE n <> 0`,
        ),
        permits: await map(`SELECT to_char(month, 'YYYY-MM') || '|' || org_msp || '|' || site_id AS k, n AS v FROM permit_site_months WHERE n <> 0`),
        types: await map(`SELECT operation_type || '|' || status AS k, n AS v FROM permit_type_counts WHERE n <> 0`),
      };
      const base = {
        flags: await map(`SELECT f.permit_no || '/' || f.flag_id AS k, concat_ws('|', f.at, p.org_msp, p.site_id, p.zone_id, p.work_unit) AS v
                            FROM investigation_flags f JOIN permits p USING (permit_no)`),
        alarms: await map(
          `SELECT ${month('recorded_at')} || '|' || recorded_by_msp || '|' || site_id AS k,
                  concat_ws('|', count(*), count(response_ms), coalesce(sum(response_ms), 0)) AS v FROM alarms GROUP BY 1`,
        ),
        spans: await map(
          `SELECT recorded_by_msp || '|' || site_id AS k, concat_ws('|', min(rollup_day(recorded_at)), max(rollup_day(recorded_at)), count(*),
                  count(response_ms), coalesce(sum(response_ms), 0)) AS v FROM alarms GROUP BY 1`,
        ),
        permits: await map(`SELECT ${month('applied_at')} || '|' || org_msp || '|' || site_id AS k, count(*) AS v FROM permits GROUP BY 1`),
        types: await map(`SELECT operation_type || '|' || status AS k, count(*) AS v FROM permits GROUP BY 1`),
      };
      expect(counters).to.deep.equal(base);
      // The captured channel flags no permit and records no alarm: its flags and alarm months compare
      // empty here; gateway/test/integration/regulator-rollups.test.ts moves, withdraws and reorders
      // flags and acknowledges, closes and deletes alarms.
      expect(Object.keys(base.permits).length, 'the channel holds permits').to.be.greaterThan(0);
      // Its permits moved through several statuses: a type counter left at 0 shows a decrement ran.
      expect(Number((await db('permit_type_counts').where('n', 0).count<{ n: unknown }[]>({ n: '*' }))[0]!.n)).to.be.greaterThan(0);
      for (const table of ['alarm_site_months', 'alarm_site_spans', 'permit_site_months', 'permit_type_counts']) {
        const negative = await db(table).where('n', '<', 0).count<{ n: unknown }[]>({ n: '*' });
        expect(Number(negative[0]!.n), table).to.equal(0);
      }
    });

    it(`keeps each trail row's enterprise and site (gas tests, gate checks, evidence) and day counters as the base tables in ${kind} (017)`, async () => {
      const db = kind === 'postgres' ? pg.db : lite;
      const map = async (sql: string) => Object.fromEntries(((await db.raw(sql)).rows as Record<string, unknown>[]).map((r) => [String(r.k), String(r.v)]));
      const trail = [
        ['gas_tests', 'recorded_at', 'test_id', 'gas_test_days', 'NOT passed'],
        ['gate_checks', 'at', 'gate_check_id', 'gate_check_days', 'NOT passed'],
        ['evidence', 'captured_at', 'cid', 'evidence_days', 'FALSE'],
      ] as const;
      for (const [table, at, id, days, failed] of trail) {
        const scopes = await map(`SELECT permit_no || '/' || ${id} AS k, concat_ws('|', org_msp, site_id) AS v FROM ${table}`);
        const fromPermits = await map(
          `SELECT t.permit_no || '/' || t.${id} AS k, concat_ws('|', p.org_msp, p.site_id) AS v FROM ${table} t LEFT JOIN permits p USING (permit_no)`,
        );
        expect(scopes, table).to.deep.equal(fromPermits);
        expect(Object.keys(scopes).length, `the channel holds ${table}`).to.be.greaterThan(0);
        const counted = await map(`SELECT day AS k, concat_ws('|', n, ${failed === 'FALSE' ? '0' : 'failed'}) AS v FROM ${days} WHERE n <> 0`);
        const grouped = await map(`SELECT rollup_day(${at}) AS k, concat_ws('|', count(*), count(*) FILTER (WHERE ${failed})) AS v FROM ${table} GROUP BY 1`);
        expect(counted, days).to.deep.equal(grouped);
      }
    });
  }

  it('PostgreSQL and PGlite hold identical domain tables', async () => {
    for (const [table, order] of Object.entries(DOMAIN_TABLES)) {
      expect(await dumpTable(lite, table, order), table).to.deep.equal(await dumpTable(pg.db, table, order));
    }
  });

  // PGlite loads these by binary COPY (copy-binary.ts), PostgreSQL by multi-row INSERT.
  it('PostgreSQL and PGlite hold identical raw tables: blocks, transactions, events and writes, byte for byte', async () => {
    const raw: Record<string, string[]> = {
      blocks: ['number'],
      transactions: ['block_number', 'tx_index'],
      events: ['block_number', 'tx_index', 'event_index'],
      writes: ['block_number', 'tx_index', 'write_index'],
    };
    for (const [table, order] of Object.entries(raw)) {
      const rows = await dumpTable(pg.db, table, order);
      expect(rows.length, table).to.be.greaterThan(0);
      expect(await dumpTable(lite, table, order, ['indexed_at']), table).to.deep.equal(await dumpTable(pg.db, table, order, ['indexed_at']));
    }
  });
});
