/**
 * Opens the database: real PostgreSQL through pg when a URL is given, otherwise embedded PGlite
 * through knex-pglite. Both speak PostgreSQL, so the same migrations and queries run on each; the
 * few differences (bigint decoding, one connection) are absorbed here and in block-store.ts.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { PGLITE_SHARED_BUFFERS_DEFAULT } from './config.js';
import { migrationSource } from './migrations/index.js';
import { indexerView, SessionLock } from './pglite-socket.js';

export interface DbOptions {
  databaseUrl?: string | undefined;
  pgliteDir?: string | undefined;
  poolMax?: number;
  /** PGlite only: Postgres's shared_buffers, e.g. `16MB` (PGLITE_SHARED_BUFFERS_DEFAULT when unset). */
  pgliteSharedBuffers?: string | undefined;
  /**
   * PGlite in memory only: start from these files (PGlite's dumpDataDir) instead of a new database,
   * which PGlite makes by running initdb, seconds of CPU. The tests start each of their databases
   * from one they migrated once.
   */
  pgliteDataDir?: Blob | undefined;
}

export interface OpenedDb {
  db: Knex;
  /** PGlite only: the instance and the session lock its socket server must share (pglite-socket.ts). */
  pglite?: { instance: PGlite; lock: SessionLock };
}

export function openDb(options: DbOptions): Knex {
  return openDatabase(options).db;
}

/**
 * PGlite's Postgres settings besides shared_buffers. `wal_init_zero=off`: a new WAL segment is not
 * first filled with 16 MB of zeros. A catch-up of 72,621 transactions wrote 653 MB of zeros beside
 * its 653 MB of WAL, through PGlite's Node file system on the thread that indexes (3–8 % of its
 * time, bench/RESULTS.md). The zeros only reserve the file's blocks ahead of the records; recovery
 * reads a segment's records by their headers and checksums, and the unwritten rest of a segment
 * created without them reads as zeros all the same.
 */
export const PGLITE_SETTINGS: readonly string[] = ['wal_init_zero=off'];

export function openDatabase(options: DbOptions): OpenedDb {
  if (options.databaseUrl) {
    const db = knexFactory({
      client: 'pg',
      connection: options.databaseUrl,
      // min 0: after a Postgres restart no dead idle connection is handed out first.
      pool: { min: 0, max: options.poolMax ?? 5, idleTimeoutMillis: 10_000 },
      acquireConnectionTimeout: 10_000,
    });
    return { db };
  }
  const dir = options.pgliteDir ?? 'memory';
  if (dir !== 'memory') initialiseFolder(dir);
  const startParams = [
    ...PGlite.defaultStartParams,
    '-c',
    `shared_buffers=${options.pgliteSharedBuffers ?? PGLITE_SHARED_BUFFERS_DEFAULT}`,
    ...PGLITE_SETTINGS.flatMap((setting) => ['-c', setting]),
  ];
  // The indexer's own queries go through the session lock, which a socket server (if any) shares.
  if (options.pgliteDataDir && dir !== 'memory') throw new Error('pgliteDataDir is for a database in memory; a folder keeps its own files');
  const instance =
    dir === 'memory' ? new PGlite({ startParams, ...(options.pgliteDataDir ? { loadDataDir: options.pgliteDataDir } : {}) }) : new PGlite(dir, { startParams });
  const lock = new SessionLock();
  const view = indexerView(instance, lock);
  const db = knexFactory({
    client: ClientPgLite as unknown as typeof Knex.Client,
    dialect: 'postgres',
    connection: { pglite: view } as unknown as Knex.StaticConnectionConfig,
  });
  return { db, pglite: { instance, lock } };
}

/**
 * A folder without a database gets one from a child process (pglite-init.ts says why); one that
 * has one is left as it is, and PGlite then reopens it.
 */
function initialiseFolder(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  if (fs.existsSync(path.join(dir, 'PG_VERSION'))) return;
  const here = fileURLToPath(import.meta.url);
  // pglite-init.ts when this runs from source (tsx), pglite-init.js from dist.
  const script = path.join(path.dirname(here), `pglite-init${path.extname(here)}`);
  // The same loader (tsx) as this process; a debugger's port is not the child's to take.
  const nodeArgs = process.execArgv.filter((a) => !a.startsWith('--inspect'));
  execFileSync(process.execPath, [...nodeArgs, script, dir], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export async function migrate(db: Knex): Promise<void> {
  await db.migrate.latest({ migrationSource });
  if (isPglite(db)) {
    for (const table of UNCOMPRESSED_IN_PGLITE) await db.raw(`ALTER TABLE ?? SET (toast_tuple_target = ${PGLITE_TOAST_TUPLE_TARGET})`, [table]);
  }
}

/**
 * PGlite only: rows of these tables (a permit's record, an event's payload, a write's value: 2–4 KB
 * each) stay uncompressed in the table up to a page's size. Above 2 KB PostgreSQL compresses a row
 * with pglz (PGlite has no lz4), and in WebAssembly that cost about 140 µs a permit, compressed
 * once for the batch's session table and again for the table itself: a tenth of a catch-up
 * (bench/RESULTS.md). The embedded mirror spends the disk instead (about a fifth more). A
 * PostgreSQL server keeps its default: its mirror is the one kept for years.
 */
export const UNCOMPRESSED_IN_PGLITE = ['permits', 'events', 'writes'] as const;
/** The largest toast_tuple_target PostgreSQL accepts with 8 KB pages. */
export const PGLITE_TOAST_TUPLE_TARGET = 8160;

/** Whether `db` is the embedded PGlite (knex-pglite) rather than a PostgreSQL server. */
export function isPglite(db: Knex): boolean {
  return db.client.config.client === ClientPgLite;
}

/** Postgres bigint arrives as a string from pg and as a number or bigint from PGlite. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' || typeof value === 'string') return Number(value);
  throw new TypeError(`not a number: ${String(value)}`);
}
