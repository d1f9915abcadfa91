/**
 * Rows as PostgreSQL's binary COPY format, for the raw tables whose rows carry the ledger's bytes
 * (event payloads, write values) and for new permits (block-store.ts, `copyNewRows`). The CSV form
 * writes each byte as two hex digits, which the database then decodes again: in PGlite's
 * WebAssembly that is about half of what loading such a row costs. Only the column types of those
 * tables occur; a value of another type is refused.
 */

/**
 * The binary forms written here: int8, int4 and int2 big-endian, text as UTF-8, bytea as is, bool
 * as one byte, timestamptz as microseconds since 2000-01-01 UTC (from the block parser's ISO form),
 * jsonb as its format version (1) and the JSON text, which the database parses as it parses text.
 */
export type BinaryColumnType = 'int8' | 'int4' | 'int2' | 'text' | 'bytea' | 'bool' | 'timestamptz' | 'jsonb';

/** 2000-01-01T00:00:00Z, PostgreSQL's epoch, in Unix milliseconds. */
const POSTGRES_EPOCH_MS = 946_684_800_000;
const ISO_INSTANT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/;

/** Microseconds since PostgreSQL's epoch of `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`; anything else is refused, not guessed. */
function postgresMicros(table: string, column: string, value: unknown): bigint {
  const m = typeof value === 'string' ? ISO_INSTANT.exec(value) : null;
  const ms = m ? Date.parse(`${m[1]}Z`) : Number.NaN;
  if (!m || Number.isNaN(ms)) throw new TypeError(`${table}.${column}: ${String(value)} is not an ISO-8601 UTC instant`);
  return BigInt(ms - POSTGRES_EPOCH_MS) * 1000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

class Writer {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
  int16(v: number): void {
    this.room(2);
    this.at = this.buf.writeInt16BE(v, this.at);
  }
  int32(v: number): void {
    this.room(4);
    this.at = this.buf.writeInt32BE(v, this.at);
  }
  int64(v: bigint): void {
    this.room(8);
    this.at = this.buf.writeBigInt64BE(v, this.at);
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }
  /** A field's length, then its bytes written by `write` (length known only after writing text). */
  field(write: () => void): void {
    this.room(4);
    const lengthAt = this.at;
    this.at += 4;
    write();
    this.buf.writeInt32BE(this.at - lengthAt - 4, lengthAt);
  }
  text(s: string): void {
    this.room(Buffer.byteLength(s));
    this.at += this.buf.write(s, this.at, 'utf8');
  }
  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

function integer(table: string, column: string, value: unknown): number | bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'bigint') return value;
  throw new TypeError(`${table}.${column}: ${String(value)} is not an integer`);
}

function writeValue(w: Writer, table: string, column: string, type: BinaryColumnType, value: unknown): void {
  if (value === null || value === undefined) {
    w.int32(-1);
    return;
  }
  switch (type) {
    case 'int8':
    case 'timestamptz': {
      const v = type === 'int8' ? BigInt(integer(table, column, value)) : postgresMicros(table, column, value);
      w.int32(8);
      w.int64(v);
      return;
    }
    case 'int4': {
      w.int32(4);
      w.int32(Number(integer(table, column, value)));
      return;
    }
    case 'int2': {
      w.int32(2);
      w.int16(Number(integer(table, column, value)));
      return;
    }
    case 'bool': {
      if (typeof value !== 'boolean') throw new TypeError(`${table}.${column}: ${String(value)} is not a boolean`);
      w.int32(1);
      w.bytes(value ? ONE : ZERO);
      return;
    }
    case 'text': {
      if (typeof value !== 'string') throw new TypeError(`${table}.${column}: a ${typeof value} is not text`);
      w.field(() => w.text(value));
      return;
    }
    case 'jsonb': {
      if (typeof value !== 'string') throw new TypeError(`${table}.${column}: a ${typeof value} is not JSON text`);
      w.field(() => {
        w.bytes(ONE);
        w.text(value);
      });
      return;
    }
    case 'bytea': {
      if (!(value instanceof Uint8Array)) throw new TypeError(`${table}.${column}: a ${typeof value} is not bytes`);
      w.int32(value.length);
      w.bytes(value);
      return;
    }
  }
}
const ONE = Uint8Array.of(1);
const ZERO = Uint8Array.of(0);

/** The COPY … (FORMAT binary) stream of `rows`, their columns in the order of `columns`. */
export function binaryCopy(table: string, columns: readonly (readonly [string, BinaryColumnType])[], rows: readonly Record<string, unknown>[]): Buffer {
  const w = new Writer();
  w.bytes(SIGNATURE);
  w.int32(0); // flags: no OIDs
  w.int32(0); // header extension length
  for (const row of rows) {
    w.int16(columns.length);
    for (const [column, type] of columns) writeValue(w, table, column, type, row[column]);
  }
  w.int16(-1);
  return w.done();
}
