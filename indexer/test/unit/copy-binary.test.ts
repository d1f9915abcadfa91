/**
 * The binary COPY stream (copy-binary.ts) loaded by a real PGlite: every column type it writes,
 * nulls, empty and non-UTF-8 bytes, text outside ASCII, a stream larger than the writer's first
 * buffer; and a value of the wrong type refused before anything is sent.
 */
import { PGlite } from '@electric-sql/pglite';
import { expect } from 'chai';
import { type BinaryColumnType, binaryCopy } from '../../src/copy-binary.js';

const COLUMNS: readonly (readonly [string, BinaryColumnType])[] = [
  ['n8', 'int8'],
  ['n4', 'int4'],
  ['n2', 'int2'],
  ['t', 'text'],
  ['b', 'bytea'],
  ['f', 'bool'],
];

describe('binary COPY of raw rows', function () {
  this.timeout(60_000);
  let db: PGlite;

  before(async () => {
    db = await PGlite.create();
    await db.exec('CREATE TABLE r (n8 bigint, n4 integer, n2 smallint, t text, b bytea, f boolean)');
  });
  after(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    await db.exec('TRUNCATE r');
  });

  const load = (rows: Record<string, unknown>[]) =>
    db.query(`COPY r (${COLUMNS.map(([c]) => c).join(', ')}) FROM '/dev/blob' WITH (FORMAT binary)`, [], {
      blob: new Blob([binaryCopy('r', COLUMNS, rows)]),
    });
  const read = async () =>
    (await db.query<Record<string, unknown>>('SELECT n8::text AS n8, n4, n2, t, b, f FROM r ORDER BY n4')).rows.map((r) => ({
      ...r,
      b: r.b === null ? null : Buffer.from(r.b as Uint8Array).toString('hex'),
    }));

  it('loads each type as the database reads it back, nulls and edge values included', async () => {
    await load([
      { n8: 2 ** 53 - 1, n4: 1, n2: -32768, t: 'gas test 气体检测 ✓', b: Buffer.from([0, 0xff, 0x00, 0xc3]), f: true },
      { n8: 0, n4: 2, n2: 32767, t: '', b: Buffer.alloc(0), f: false },
      { n8: -5, n4: 3, n2: 0, t: null, b: null, f: null },
      { n8: 9_007_199_254_740_993n, n4: 4, n2: 1, t: 'a', b: new Uint8Array([1, 2, 3]), f: true },
    ]);
    expect(await read()).to.deep.equal([
      { n8: '9007199254740991', n4: 1, n2: -32768, t: 'gas test 气体检测 ✓', b: '00ff00c3', f: true },
      { n8: '0', n4: 2, n2: 32767, t: '', b: '', f: false },
      { n8: '-5', n4: 3, n2: 0, t: null, b: null, f: null },
      { n8: '9007199254740993', n4: 4, n2: 1, t: 'a', b: '010203', f: true },
    ]);
  });

  it('grows past its first buffer: 300 rows of 4 KiB payloads arrive whole', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => ({ n8: i, n4: i, n2: i % 100, t: `event ${i}`, b: Buffer.alloc(4096, i % 256), f: i % 2 === 0 }));
    await load(rows);
    const [r] = (
      await db.query<{ n: number; bytes: number; distinct: number }>(
        'SELECT count(*)::int AS n, sum(length(b))::int AS bytes, count(DISTINCT b)::int AS distinct FROM r',
      )
    ).rows;
    expect(r).to.deep.equal({ n: 300, bytes: 300 * 4096, distinct: 256 });
    const [last] = (await db.query<{ b: Uint8Array; t: string }>('SELECT b, t FROM r WHERE n4 = 299')).rows;
    expect(last!.t).to.equal('event 299');
    expect(Buffer.from(last!.b).equals(Buffer.alloc(4096, 299 % 256))).to.equal(true);
  });

  it('writes instants to the microsecond as PostgreSQL reads the same text, and refuses any other form', async () => {
    const cols = [['at', 'timestamptz']] as const;
    await db.exec('CREATE TEMP TABLE instants (at timestamptz)');
    const instants = [
      '2026-12-05T07:45:01.123456Z',
      '1999-12-31T23:59:59.999999Z',
      '2000-01-01T00:00:00Z',
      '1970-01-01T00:00:00.5Z',
      '2262-04-11T23:47:16.854775Z',
    ];
    await db.query(`COPY instants (at) FROM '/dev/blob' WITH (FORMAT binary)`, [], {
      blob: new Blob([binaryCopy('instants', cols, [...instants.map((at) => ({ at })), { at: null }])]),
    });
    const read = (await db.query<{ same: boolean | null }>('SELECT at = ANY($1::timestamptz[]) AS same FROM instants', [instants])).rows;
    expect(read.map((r) => r.same)).to.deep.equal([true, true, true, true, true, null]);
    const texts = (await db.query<{ t: string }>(`SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS t FROM instants WHERE at IS NOT NULL`))
      .rows;
    expect(texts.map((r) => r.t)).to.deep.equal([
      '2026-12-05T07:45:01.123456',
      '1999-12-31T23:59:59.999999',
      '2000-01-01T00:00:00.000000',
      '1970-01-01T00:00:00.500000',
      '2262-04-11T23:47:16.854775',
    ]);
    for (const bad of ['2026-12-05 07:45:01Z', '2026-12-05T07:45:01+08:00', '2026-12-05T07:45:01.1234567Z', '2026-13-45T00:00:00Z', 1_700_000_000_000]) {
      expect(() => binaryCopy('transactions', [['timestamp', 'timestamptz']], [{ timestamp: bad }]), String(bad)).to.throw(TypeError, 'transactions.timestamp');
    }
  });

  it('refuses a value of the wrong type, naming the table and column', () => {
    expect(() => binaryCopy('events', COLUMNS, [{ n8: 1.5 }])).to.throw(TypeError, 'events.n8');
    expect(() => binaryCopy('events', COLUMNS, [{ n8: 1, n4: 1, n2: 1, t: 7 }])).to.throw(TypeError, 'events.t');
    expect(() => binaryCopy('events', COLUMNS, [{ n8: 1, n4: 1, n2: 1, t: 'x', b: 'not bytes' }])).to.throw(TypeError, 'events.b');
    expect(() => binaryCopy('events', COLUMNS, [{ n8: 1, n4: 1, n2: 1, t: 'x', b: null, f: 1 }])).to.throw(TypeError, 'events.f');
  });
});
