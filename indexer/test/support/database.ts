/**
 * Databases for tests: a fresh PostgreSQL database per suite on the server named by
 * TEST_DATABASE_URL (created with a unique name, dropped afterwards), or an in-memory PGlite.
 */
import * as crypto from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { migrate, openDatabase, openDb } from '../../src/db.js';
import { migrationSource } from '../../src/migrations/index.js';

export function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      "TEST_DATABASE_URL is not set: start PostgreSQL with 'LEDGER_RUN_DIR=/tmp/ledger-dev bash " +
        "scripts/services.sh start postgres' and export the TEST_DATABASE_URL it prints",
    );
  }
  return url;
}

export interface TestDatabase {
  url: string;
  name: string;
  db: Knex;
  drop(): Promise<void>;
}

function adminConnection(): Knex {
  return knexFactory({ client: 'pg', connection: testDatabaseUrl(), pool: { min: 0, max: 1 } });
}

/** Creates an empty, migrated database with a unique name; `drop()` removes it. */
export async function createTestDatabase(prefix: string, { runMigrations = true } = {}): Promise<TestDatabase> {
  const name = `idx_${prefix}_${Date.now().toString(36)}_${crypto.randomBytes(3).toString('hex')}`.toLowerCase();
  const admin = adminConnection();
  try {
    await admin.raw(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.destroy();
  }
  const u = new URL(testDatabaseUrl());
  u.pathname = `/${name}`;
  const url = u.toString();
  const db = openDb({ databaseUrl: url, poolMax: 4 });
  if (runMigrations) await migrate(db);
  return {
    url,
    name,
    db,
    async drop() {
      await db.destroy();
      const a = adminConnection();
      try {
        await a.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await a.destroy();
      }
    },
  };
}

/** A migrated database of either engine for a test that runs on both: a fresh PostgreSQL database or an in-memory PGlite. */
export async function migratedDatabase(engine: 'postgres' | 'pglite', prefix: string): Promise<{ db: Knex; drop(): Promise<void> }> {
  if (engine === 'postgres') return createTestDatabase(prefix);
  const db = await createPglite();
  return { db, drop: () => db.destroy() };
}

/** A migrated PGlite database, in memory unless a (fresh) folder is given. */
export async function createPglite(dir = 'memory', sharedBuffers?: string): Promise<Knex> {
  const template = dir === 'memory' ? await migratedPglite() : undefined;
  const db = openDb({ pgliteDir: dir, pgliteSharedBuffers: sharedBuffers, pgliteDataDir: template });
  await migrate(db);
  return db;
}

/**
 * The files of an empty database with every migration run, made once per test process: a database
 * in memory starts from them in under a second, where PGlite's initdb and the migrations took 3–7 s
 * for each (the follower's unit tests, eight databases, spent most of their 29 s there).
 */
let migratedFiles: Promise<Blob> | undefined;
function migratedPglite(): Promise<Blob> {
  migratedFiles ??= (async () => {
    const { db, pglite } = openDatabase({ pgliteDir: 'memory' });
    try {
      await migrate(db);
      return await pglite!.instance.dumpDataDir('none');
    } finally {
      await db.destroy();
    }
  })();
  return migratedFiles;
}

/** Applies every migration before `name`, leaving it pending: a test then writes the rows it must take over. */
export async function migrateToJustBefore(db: Knex, name: string): Promise<void> {
  for (;;) {
    const [, pending] = (await db.migrate.list({ migrationSource })) as [unknown[], { name: string }[]];
    if (pending.length === 0) throw new Error(`no pending migration ${name}`);
    if (pending[0]!.name === name) return;
    await db.migrate.up({ migrationSource });
  }
}

/** Every row of a table in a stable order, with volatile columns removed, for equality checks. */
export async function dumpTable(db: Knex, table: string, orderBy: string[], omit: string[] = []): Promise<unknown[]> {
  const rows = (await db(table).select('*').orderBy(orderBy)) as Record<string, unknown>[];
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      if (omit.includes(k)) continue;
      out[k] = normalise(v);
    }
    return out;
  });
}

/** pg and PGlite decode types differently (bigint, bytea, timestamps): compare canonical forms. */
function normalise(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v) && v.length < 16) return Number(v);
  return v;
}

export const RAW_TABLES: Record<string, string[]> = {
  blocks: ['number'],
  transactions: ['block_number', 'tx_index'],
  events: ['block_number', 'tx_index', 'event_index'],
  writes: ['block_number', 'tx_index', 'write_index'],
  heartbeats: ['id'],
  checkpoint: ['id'],
};
