/**
 * Idempotency keys, kept durably in PostgreSQL. The first request with a key claims it (a row in
 * state `pending`); its result (status and body) is stored when it ends; a replay with the same key
 * and the same request gets the stored result and makes no second transaction. A key reused for
 * another request is refused, and a key whose first request is still running answers 409.
 * Failures that leave nothing written (503, 429, 5xx) release the key so the client may retry.
 */
import type { Pool } from 'pg';
import { ApiError, ConflictError, UnavailableError } from './errors.js';

export type Claim = { kind: 'new' } | { kind: 'replay'; status: number; body: unknown };

/** A pending claim older than this is taken over (its request died with the process). */
const STALE_PENDING_MS = 10 * 60_000;

export class IdempotencyStore {
  constructor(
    private readonly pool: Pool,
    private readonly ttlHours: number,
    private readonly retryAfterSeconds: number,
  ) {}

  async migrate(): Promise<void> {
    await this.pool.query(`CREATE TABLE IF NOT EXISTS gateway_idempotency (
      scope text NOT NULL,
      key text NOT NULL,
      fingerprint text NOT NULL,
      state text NOT NULL CHECK (state IN ('pending', 'done')),
      status integer,
      body jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      completed_at timestamptz,
      PRIMARY KEY (scope, key))`);
    await this.pool.query('CREATE INDEX IF NOT EXISTS gateway_idempotency_created ON gateway_idempotency (created_at)');
  }

  async claim(scope: string, key: string, fingerprint: string): Promise<Claim> {
    try {
      const ins = await this.pool.query(
        `INSERT INTO gateway_idempotency (scope, key, fingerprint, state) VALUES ($1, $2, $3, 'pending')
         ON CONFLICT (scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, created_at = now()
           WHERE gateway_idempotency.state = 'pending' AND gateway_idempotency.created_at < now() - ($4 || ' milliseconds')::interval
             AND gateway_idempotency.fingerprint = EXCLUDED.fingerprint
         RETURNING state`,
        [scope, key, fingerprint, String(STALE_PENDING_MS)],
      );
      if (ins.rowCount === 1) return { kind: 'new' };
      const row = (await this.pool.query('SELECT fingerprint, state, status, body FROM gateway_idempotency WHERE scope = $1 AND key = $2', [scope, key])).rows[0] as
        | { fingerprint: string; state: string; status: number; body: unknown }
        | undefined;
      if (!row) return this.claim(scope, key, fingerprint);
      if (row.fingerprint !== fingerprint) {
        throw new ApiError('IDEMPOTENCY_KEY_REUSED', 422, 'this Idempotency-Key was used for a different request; use a new key');
      }
      if (row.state === 'pending') throw new ConflictError('IDEMPOTENCY_IN_PROGRESS', 'the first request with this Idempotency-Key is still running; retry later');
      return { kind: 'replay', status: row.status, body: row.body };
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw new UnavailableError('STORE_UNAVAILABLE', `idempotency store: ${(e as Error).message}`, this.retryAfterSeconds);
    }
  }

  async complete(scope: string, key: string, status: number, body: unknown): Promise<void> {
    await this.pool.query(
      `UPDATE gateway_idempotency SET state = 'done', status = $3, body = $4::jsonb, completed_at = now() WHERE scope = $1 AND key = $2`,
      [scope, key, status, JSON.stringify(body)],
    );
  }

  async release(scope: string, key: string): Promise<void> {
    await this.pool.query(`DELETE FROM gateway_idempotency WHERE scope = $1 AND key = $2 AND state = 'pending'`, [scope, key]);
  }

  async purgeExpired(): Promise<number> {
    const r = await this.pool.query(`DELETE FROM gateway_idempotency WHERE created_at < now() - ($1 || ' hours')::interval`, [String(this.ttlHours)]);
    return r.rowCount ?? 0;
  }
}
