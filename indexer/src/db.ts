/**
 * Opens the database: real PostgreSQL through pg when a URL is given, otherwise embedded PGlite
 * through knex-pglite. Both speak PostgreSQL, so the same migrations and queries run on each; the
 * few differences (bigint decoding, one connection) are absorbed here and in block-store.ts.
 */
import * as fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { migrationSource } from './migrations/index.js';
import { indexerView, SessionLock } from './pglite-socket.js';

export interface DbOptions {
  databaseUrl?: string | undefined;
  pgliteDir?: string | undefined;
  poolMax?: number;
}

export interface OpenedDb {
  db: Knex;
  /** PGlite only: the instance and the session lock its socket server must share (pglite-socket.ts). */
  pglite?: { instance: PGlite; lock: SessionLock };
}

export function openDb(options: DbOptions): Knex {
  return openDatabase(options).db;
}

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
  if (dir !== 'memory') fs.mkdirSync(dir, { recursive: true });
  // The indexer's own queries go through the session lock, which a socket server (if any) shares.
  const instance = dir === 'memory' ? new PGlite() : new PGlite(dir);
  const lock = new SessionLock();
  const view = indexerView(instance, lock);
  const db = knexFactory({
    client: ClientPgLite as unknown as typeof Knex.Client,
    dialect: 'postgres',
    connection: { pglite: view } as unknown as Knex.StaticConnectionConfig,
  });
  return { db, pglite: { instance, lock } };
}

export async function migrate(db: Knex): Promise<void> {
  await db.migrate.latest({ migrationSource });
}

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
