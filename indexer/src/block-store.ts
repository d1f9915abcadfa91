/**
 * Writes batches of blocks into Postgres exactly once. A batch's rows and the checkpoint are one
 * transaction; the checkpoint row is locked first, so a second indexer (or a retry after a commit
 * whose acknowledgement was lost) waits, then sees the new checkpoint and skips what is stored.
 * UNIQUE constraints on block number and tx id are the last line of defence.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import { type BatchRows, batchRows } from './batch-rows.js';
import type { ParsedBlock } from './block-parser.js';
import { ChainIntegrityError, type StoredHeader, verifyChain, verifyStoredHeader } from './chain-verifier.js';
import { type BinaryColumnType, binaryCopy } from './copy-binary.js';
import { isPglite, PGLITE_TOAST_TUPLE_TARGET, toNumber } from './db.js';
import type { Row } from './projection.js';

// Postgres accepts at most 65535 bind parameters per statement; stay well below.
const MAX_PARAMS_PER_INSERT = 30_000;

export interface Checkpoint {
  /** -1 before block 0 is indexed. */
  lastBlock: number;
  last: StoredHeader | null;
}

export interface WriteResult {
  blocks: number;
  transactions: number;
  rows: BatchRows | null;
}

const bytes = (v: unknown): Buffer => Buffer.from(v as Uint8Array);

function toStoredHeader(row: Record<string, unknown>): StoredHeader {
  return {
    number: toNumber(row.number),
    headerHash: bytes(row.header_hash),
    previousHash: bytes(row.previous_hash),
    dataHash: bytes(row.data_hash),
  };
}

export class GapError extends Error {
  override readonly name = 'GapError';
}

export class BlockStore {
  private readonly insertRaw: (trx: Knex.Transaction, table: string, rows: readonly Row[]) => Promise<void>;
  private readonly pglite: boolean;

  constructor(
    private readonly db: Knex,
    private readonly options: { testDelayInTxMs?: number } = {},
  ) {
    // PGlite spends about 2.5 times the CPU on a row of a multi-row INSERT (parsing and planning
    // thousands of parameters in WebAssembly) as on the same row loaded with COPY; PostgreSQL
    // gets multi-row INSERTs, which are fast there and need no COPY stream.
    this.pglite = isPglite(db);
    this.insertRaw = this.pglite
      ? (trx, table, rows) => (BINARY_COLUMNS[table] ? copyBinary(trx, table, BINARY_COLUMNS[table], rows) : copyCsv(trx, table, rows))
      : (trx, table, rows) => insertChunked(trx, table, rows);
  }

  /** The checkpoint and the stored last block, whose header hash is re-verified. */
  async checkpoint(trx: Knex | Knex.Transaction = this.db, forUpdate = false): Promise<Checkpoint> {
    const query = trx('checkpoint').select('last_block').where({ id: 1 });
    const row = await (forUpdate ? query.forUpdate() : query).first();
    if (!row) throw new Error('checkpoint row missing: were the migrations run?');
    const lastBlock = toNumber(row.last_block);
    if (lastBlock < 0) return { lastBlock, last: null };
    const block = await trx('blocks').select('number', 'header_hash', 'previous_hash', 'data_hash').where({ number: lastBlock }).first();
    if (!block) throw new ChainIntegrityError(`checkpoint says block ${lastBlock} is indexed but the blocks table has no such row`);
    const last = toStoredHeader(block);
    verifyStoredHeader(last);
    return { lastBlock, last };
  }

  /** A stored block's header, its header hash re-verified; null when the block is not stored. */
  async storedHeader(number: number): Promise<StoredHeader | null> {
    const row = await this.db('blocks').select('number', 'header_hash', 'previous_hash', 'data_hash').where({ number }).first();
    if (!row) return null;
    const stored = toStoredHeader(row);
    verifyStoredHeader(stored);
    return stored;
  }

  /**
   * Writes consecutive blocks and advances the checkpoint, atomically. Blocks at or below the
   * checkpoint are skipped (already committed); a gap after it is refused.
   */
  async writeBatch(blocks: readonly ParsedBlock[]): Promise<WriteResult> {
    return this.db.transaction(async (trx) => {
      const cp = await this.checkpoint(trx, true);
      const fresh = blocks.filter((b) => b.number > cp.lastBlock);
      if (fresh.length === 0) return { blocks: 0, transactions: 0, rows: null };
      if (fresh[0]!.number !== cp.lastBlock + 1) {
        throw new GapError(`batch starts at block ${fresh[0]!.number} but the checkpoint is at ${cp.lastBlock}`);
      }
      // Verified against the stored chain inside the lock, so what is committed is always a chain.
      verifyChain(cp.last ? { number: cp.last.number, headerHash: cp.last.headerHash } : null, fresh);
      const rows = batchRows(fresh);
      await this.insertRaw(trx, 'blocks', rows.blocks);
      await this.insertRaw(trx, 'transactions', rows.transactions);
      await this.insertRaw(trx, 'events', rows.events);
      await this.insertRaw(trx, 'writes', rows.writes);
      for (const group of rows.domain.groups()) {
        const rest = this.pglite ? await upsertCopied(trx, group) : group.rows;
        await insertChunked(trx, group.table, rest, (q) => {
          const conflict = q.onConflict(group.key as string[]);
          return group.onConflict === 'merge' ? conflict.merge() : conflict.ignore();
        });
      }
      await trx('checkpoint')
        .where({ id: 1 })
        .update({ last_block: fresh[fresh.length - 1]!.number, updated_at: trx.fn.now() });
      if (this.options.testDelayInTxMs) await sleep(this.options.testDelayInTxMs);
      return { blocks: fresh.length, transactions: rows.txCount, rows };
    });
  }

  /**
   * Full audit of the stored mirror: every header hash recomputed, every link checked, every
   * block's transaction count matched. Returns the number of blocks checked.
   */
  async verifyStoredChain(pageSize = 2000): Promise<number> {
    let previous: StoredHeader | null = null;
    let checked = 0;
    for (let from = 0; ; from += pageSize) {
      const page = await this.db('blocks')
        .select('number', 'header_hash', 'previous_hash', 'data_hash')
        .where('number', '>=', from)
        .andWhere('number', '<', from + pageSize)
        .orderBy('number');
      if (page.length === 0) break;
      for (const row of page) {
        const stored = toStoredHeader(row);
        verifyStoredHeader(stored);
        const expected = previous ? previous.number + 1 : 0;
        if (stored.number !== expected) throw new ChainIntegrityError(`stored chain has a gap: block ${expected} missing`);
        const link = previous?.headerHash ?? Buffer.alloc(0);
        if (!stored.previousHash.equals(link)) throw new ChainIntegrityError(`stored chain broken at block ${stored.number}`);
        previous = stored;
        checked += 1;
      }
    }
    const counts = await this.db.raw(`SELECT (SELECT coalesce(sum(tx_count), 0) FROM blocks) AS expected, (SELECT count(*) FROM transactions) AS actual`);
    const { expected, actual } = counts.rows[0] as { expected: unknown; actual: unknown };
    if (toNumber(expected) !== toNumber(actual)) {
      throw new ChainIntegrityError(`blocks declare ${toNumber(expected)} transactions but ${toNumber(actual)} are stored`);
    }
    return checked;
  }
}

async function insertChunked(
  trx: Knex.Transaction,
  table: string,
  rows: readonly Row[],
  decorate?: (q: Knex.QueryBuilder) => Knex.QueryBuilder | Knex.QueryInterface,
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!).length;
  const perChunk = Math.max(1, Math.floor(MAX_PARAMS_PER_INSERT / columns));
  for (let i = 0; i < rows.length; i += perChunk) {
    const q = trx(table).insert(rows.slice(i, i + perChunk));
    await (decorate ? decorate(q) : q);
  }
}

/**
 * One value as a CSV field for COPY: NULL unquoted and empty, text always quoted (so an empty
 * string stays one), bytea in Postgres's hex form. Text, numbers, booleans and bytes only (the
 * blocks' and the domain rows' values); anything else is a TypeError.
 */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return `"${value.replaceAll('"', '""')}"`;
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new TypeError(`no CSV form for a ${typeof value} value`);
}

/**
 * The raw tables with the most rows, with their columns' types (migrations 001 and 006): loaded in
 * PGlite by binary COPY, which takes bytes as they are (CSV spells each byte in two hex digits for
 * the database to decode: half the cost of loading such a row there) and numbers and instants
 * without text to parse.
 */
const BINARY_COLUMNS: Record<string, readonly (readonly [string, BinaryColumnType])[]> = {
  transactions: [
    ['block_number', 'int8'],
    ['tx_index', 'int4'],
    ['tx_id', 'text'],
    ['header_type', 'text'],
    ['validation_code', 'int2'],
    ['validation_code_name', 'text'],
    ['valid', 'bool'],
    ['creator_msp', 'text'],
    ['creator_id', 'text'],
    ['creator_cert_sha256', 'text'],
    ['timestamp', 'timestamptz'],
    ['chaincode', 'text'],
    ['function', 'text'],
    ['parse_error', 'text'],
  ],
  events: [
    ['block_number', 'int8'],
    ['tx_index', 'int4'],
    ['event_index', 'int4'],
    ['tx_id', 'text'],
    ['valid', 'bool'],
    ['chaincode_id', 'text'],
    ['name', 'text'],
    ['payload', 'bytea'],
  ],
  writes: [
    ['block_number', 'int8'],
    ['tx_index', 'int4'],
    ['write_index', 'int4'],
    ['namespace', 'text'],
    ['collection', 'text'],
    ['key', 'bytea'],
    ['is_delete', 'bool'],
    ['is_purge', 'bool'],
    ['value', 'bytea'],
    ['value_hash', 'bytea'],
  ],
};

/**
 * Appends rows to a table with binary COPY FROM a blob (PGlite only), inside the batch's
 * transaction. A value binaryCopy refuses throws before anything is sent.
 */
async function copyBinary(
  trx: Knex.Transaction,
  table: string,
  columns: readonly (readonly [string, BinaryColumnType])[],
  rows: readonly Row[],
): Promise<void> {
  if (rows.length === 0) return;
  const blob = new Blob([binaryCopy(table, columns, rows)]);
  await trx.raw(`COPY "${table}" (${columns.map(([c]) => `"${c}"`).join(', ')}) FROM '/dev/blob' WITH (FORMAT binary)`).options({ blob });
}

/**
 * Domain tables whose new rows PGlite loads by binary COPY straight into the table, with their
 * columns' types (migrations 002, 004, 007). Permits are a third of a catch-up's rows and each
 * carries its 2–4 KB record: through the session table each was parsed from CSV, stored there and
 * then inserted with the upsert's conflict check. Loading the new ones directly took the permits'
 * share of a catch-up from about 336 to 210 µs a permit in PGlite (bench/RESULTS.md).
 */
const BINARY_NEW_ROWS: Record<string, readonly (readonly [string, BinaryColumnType])[]> = {
  permits: [
    ['permit_no', 'text'],
    ['org_msp', 'text'],
    ['operation_type', 'text'],
    ['level', 'text'],
    ['requested_level', 'text'],
    ['status', 'text'],
    ['site_id', 'text'],
    ['zone_id', 'text'],
    ['work_unit', 'text'],
    ['fire_explosion_zone', 'bool'],
    ['night_or_holiday', 'bool'],
    ['planned_start', 'timestamptz'],
    ['planned_end', 'timestamptz'],
    ['valid_from', 'timestamptz'],
    ['valid_until', 'timestamptz'],
    ['suspension_reason', 'text'],
    ['suspension_alarm_id', 'text'],
    ['template_version', 'int4'],
    ['applied_at', 'timestamptz'],
    ['status_changed_at', 'timestamptz'],
    ['record', 'jsonb'],
    ['block_number', 'int8'],
    ['tx_id', 'text'],
  ],
};

/**
 * PGlite only: of a merge group's rows (one per key: DomainBatch merged the batch's), those whose
 * key the table does not hold yet appended by binary COPY; returns the others, for the upsert. An
 * insert of a new key is what the upsert would have done, and the table's statement triggers see
 * the same inserted rows. All rows are returned, nothing written, when one value has no binary
 * form here (an instant not in the parser's ISO form, say): the upsert then takes them all.
 */
async function copyNewRows(
  trx: Knex.Transaction,
  table: string,
  key: string,
  columns: readonly (readonly [string, BinaryColumnType])[],
  rows: Row[],
): Promise<Row[]> {
  const keys = rows.map((r) => r[key]);
  if (!keys.every((k) => typeof k === 'string')) return rows;
  // One parameter for the batch's keys, not one each (the point of copying).
  const stored = await trx.raw(`SELECT ?? AS k FROM ?? WHERE ?? = ANY (ARRAY(SELECT jsonb_array_elements_text(?::jsonb)))`, [
    key,
    table,
    key,
    JSON.stringify(keys),
  ]);
  const existing = new Set((stored.rows as { k: string }[]).map((r) => r.k));
  const fresh = existing.size === 0 ? rows : rows.filter((r) => !existing.has(r[key] as string));
  if (fresh.length === 0) return rows;
  try {
    await copyBinary(trx, table, columns, fresh);
  } catch (e) {
    // binaryCopy refused a value before anything was sent.
    if (e instanceof TypeError) return rows;
    throw e;
  }
  return existing.size === 0 ? [] : rows.filter((r) => existing.has(r[key] as string));
}

/**
 * PGlite only: a domain table's rows of the batch copied (CSV) into a session table of the same
 * columns, then upserted from it in one INSERT … SELECT. A multi-row INSERT of the batch binds
 * tens of thousands of parameters, each framed by the client and parsed by the database in its
 * WebAssembly. The rows, the conflict target and what a conflict does are those of the INSERT, so
 * the tables and their triggers see the same statement. Returns the rows it did not write, for the
 * caller to insert as before: none, or all of them when they do not all have the same columns or
 * one holds a value CSV cannot carry (after new permits were copied, only the stored ones).
 */
export async function upsertCopied(
  trx: Knex.Transaction,
  group: { table: string; key: readonly string[]; onConflict: 'merge' | 'ignore'; rows: readonly Row[] },
): Promise<Row[]> {
  if (group.rows.length === 0) return [];
  const columns = Object.keys(group.rows[0]!);
  if (group.rows.some((r) => Object.keys(r).length !== columns.length || columns.some((c) => !(c in r)))) return [...group.rows];
  const direct = BINARY_NEW_ROWS[group.table];
  let rows = [...group.rows];
  if (direct && group.onConflict === 'merge' && group.key.length === 1 && direct.length === columns.length && direct.every(([c]) => c in rows[0]!)) {
    // Should the session table decline the rest, the caller inserts only those: the others are stored.
    rows = await copyNewRows(trx, group.table, group.key[0]!, direct, rows);
    if (rows.length === 0) return [];
  }
  const list = columns.map((c) => `"${c}"`).join(', ');
  // One per table, column list and conflict action (a batch has one group of each), kept for the
  // session; emptied when the batch commits or rolls back.
  const stage = `copied_${group.table}_${group.onConflict}_${createHash('sha256').update(list).digest('hex').slice(0, 12)}`;
  // Uncompressed, as the tables it feeds are (db.ts): compressing a record here was spent in vain.
  const storage = `WITH (toast_tuple_target = ${PGLITE_TOAST_TUPLE_TARGET})`;
  await trx.raw(`CREATE TEMP TABLE IF NOT EXISTS "${stage}" ${storage} ON COMMIT DELETE ROWS AS SELECT ${list} FROM "${group.table}" WITH NO DATA`);
  try {
    await copyCsv(trx, stage, rows);
  } catch (e) {
    // csvField refused a value before anything was sent: the session table stays empty.
    if (e instanceof TypeError) return rows;
    throw e;
  }
  const keys = group.key.map((c) => `"${c}"`).join(', ');
  const onConflict = group.onConflict === 'merge' ? `DO UPDATE SET ${columns.map((c) => `"${c}" = excluded."${c}"`).join(', ')}` : 'DO NOTHING';
  await trx.raw(`INSERT INTO "${group.table}" (${list}) SELECT ${list} FROM "${stage}" ON CONFLICT (${keys}) ${onConflict}`);
  return [];
}

/**
 * Appends rows, their columns those of the first row, to a table with COPY FROM a blob (PGlite
 * only), inside the batch's transaction. A value csvField refuses throws before anything is sent.
 */
async function copyCsv(trx: Knex.Transaction, table: string, rows: readonly Row[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const lines = rows.map((row) => columns.map((c) => csvField(row[c])).join(','));
  const blob = new Blob([lines.join('\n')]);
  await trx.raw(`COPY "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) FROM '/dev/blob' WITH (FORMAT csv)`).options({ blob });
}
