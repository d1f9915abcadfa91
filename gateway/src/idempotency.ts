/**
 * Idempotency keys, kept durably in PostgreSQL. The first request with a key claims it (a row in
 * state `pending`); its result (status and body) is stored when it ends (state `done`); a replay
 * with the same key and the same request gets the stored result and makes no second transaction. A
 * key reused for another request is refused, and a key whose first request is still running
 * answers 409. Failures that leave nothing written (503, 429, 5xx) release the key so the client
 * may retry.
 *
 * One failure leaves the outcome open: the transaction was ordered but its commit status never
 * arrived (peer lost, commit deadline passed), or its hand-over to the orderer got no answer. It
 * may well be on the ledger, so the key must not be released (a retry would write it twice), and a
 * stored 503 would be wrong forever. Such a key is kept in state `unknown` with the transaction id
 * (`transaction_id`) and the status the route answers on success (`status`); `completed_at` is when
 * the first request ended. Each replay asks the ledger (http.ts): committed and valid → the first
 * request's answer, stored as `done`; committed but invalid → the CONFLICT of the live path, stored
 * as `done`; not on the peer → 503 again, still `unknown`, until `completed_at` is older than the
 * release bound: by then an ordered transaction would have been committed, so nothing was written
 * and the key is taken over as a new `pending` claim by that replay. Every transition out of
 * `unknown` names the transaction id it expects, so concurrent replays cannot overwrite each
 * other's answer or a new claim.
 *
 * The first request may also end without any of these updates: its process dies, or the store
 * fails, after the transaction went to the orderer. So the transaction id (and the success status)
 * is written onto the `pending` row before the transaction is handed to the orderer
 * (recordTransaction), and nothing is submitted unless that write succeeded. A `pending` claim is
 * leased to its request: while the request runs, its process renews the claim's `renewed_at` every
 * PENDING_LEASE_MS / 3 (renewHeld); a claim not renewed for PENDING_LEASE_MS counts as abandoned.
 * (A fixed age instead, long enough for a slow upload, kept a crashed gateway's keys answering
 * IDEMPOTENCY_IN_PROGRESS for ten minutes, which the fault suite found.) Without a transaction id it never submitted
 * anything and is taken over by the next request; with one, its transaction may be on the ledger,
 * so the key turns `unknown` (`completed_at` = then) and is resolved from the ledger like any
 * other. Transitions out of `pending` name the transaction id the row must carry (none for a claim
 * that submitted nothing), so a request that outlived its claim cannot overwrite the outcome of the
 * one that took it over, nor delete a claim whose transaction may have been written.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, PoolClient } from 'pg';
import { ApiError, ConflictError, UnavailableError } from './errors.js';
import { StatementBatch } from './statement-batch.js';

export type Claim =
  | { kind: 'new' }
  | { kind: 'replay'; status: number; body: unknown }
  /** The first request's transaction was ordered but its outcome is not known; `releasable`: older than the release bound. */
  | { kind: 'unknown'; transactionId: string; status: number; releasable: boolean };

/**
 * A pending claim not renewed for this long is abandoned (its request died with the process, or its
 * store updates failed). Short, because a client retrying a request its gateway lost waits this long
 * (30 s made a gateway or PostgreSQL kill cost 30 s of retries in the fault suite); losing a lease to
 * a stalled process is safe, as every transition names the transaction id it expects (above).
 */
export const PENDING_LEASE_MS = 9_000;

/** How often a replay that waits for a running first request (pendingWaitMs) reads its key again. */
export const PENDING_WAIT_POLL_MS = 50;

const STATES = ['pending', 'done', 'unknown'] as const;
/** The advisory lock key of the table's creation and upgrades (any constant no other code of this database uses). */
const MIGRATION_LOCK = 0x6c656467; // 'ledg'

interface KeyOf {
  scope: string;
  key: string;
}
type ClaimItem = KeyOf & { fingerprint: string };
type RecordItem = KeyOf & { transactionId: string; status: number };
type CompletionItem = KeyOf & { status: number; body: string; transactionId: string | null };
/**
 * `column` is older than the bind parameter `param` in milliseconds, by the database's clock: the one
 * spelling of a lapsed lease (renewed_at, PENDING_LEASE_MS) and of a passed release bound (completed_at).
 */
const olderThan = (column: string, param: string) => `${column} < now() - (${param} || ' milliseconds')::interval`;
const keyOf = (i: KeyOf) => `${i.scope}\n${i.key}`;
/** Sorted by key, so that two statements that share a row (a key's replay beside its first request) lock in one order. */
const byKey = <T extends KeyOf>(items: T[]): T[] =>
  items
    .map((item) => ({ item, k: keyOf(item) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map((e) => e.item);
/** For each item, whether the statement's RETURNING named its key. */
const returned = (rows: KeyOf[], items: KeyOf[]): boolean[] => {
  const keys = new Set(rows.map(keyOf));
  return items.map((i) => keys.has(keyOf(i)));
};

/**
 * Runs a batch's statement; a deadlock (40P01, possible only between two statements that share a key)
 * is run once more, as the statement that lost did not change anything.
 */
async function once<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if ((e as { code?: string }).code !== '40P01') throw e;
    return run();
  }
}

export class IdempotencyStore {
  /** Claims of the requests running in this process, renewed until they end: scope and key by `${scope}\n${key}`. */
  private readonly held = new Map<string, [string, string]>();
  /** Results being stored after their requests were answered (completeAfterAnswer), by the same key. */
  private readonly storing = new Map<string, Promise<void>>();
  /**
   * The three statements of every POST, each grouped across the requests that arrive together
   * (statement-batch.ts), and named, so that each pooled connection parses and plans them once:
   * PostgreSQL spent 13 % less a permit on them at saturation than on the same statements unnamed
   * (bench/RESULTS.md, 2026-12-07 late session). Their plans cannot go stale: each joins its arrays to the
   * table on the primary key, whatever the arrays hold.
   */
  private readonly claims: StatementBatch<ClaimItem, boolean>;
  private readonly records: StatementBatch<RecordItem, boolean>;
  private readonly completions: StatementBatch<CompletionItem, void>;
  constructor(
    private readonly pool: Pool,
    private readonly ttlHours: number,
    private readonly retryAfterSeconds: number,
    /** How long after its first request ended an `unknown` key may be released when the ledger does not have its transaction. */
    private readonly unknownReleaseMs: number,
    /**
     * How long a replay waits for the outcome of a running first request whose transaction is under way
     * (its id recorded, PENDING_WAIT_POLL_MS apart) before it is answered IDEMPOTENCY_IN_PROGRESS; 0: not at all.
     */
    private readonly pendingWaitMs = 0,
  ) {
    this.claims = new StatementBatch<ClaimItem, boolean>(async (items) => {
      const sorted = byKey(items);
      const r = await once(() =>
        this.pool.query<KeyOf>({
          name: 'gateway-idempotency-claim',
          text: `INSERT INTO gateway_idempotency (scope, key, fingerprint, state)
           SELECT scope, key, fingerprint, 'pending' FROM unnest($1::text[], $2::text[], $3::text[]) AS v(scope, key, fingerprint)
           ON CONFLICT (scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, created_at = now(), renewed_at = now()
             WHERE gateway_idempotency.state = 'pending' AND ${olderThan('gateway_idempotency.renewed_at', '$4')}
               AND gateway_idempotency.fingerprint = EXCLUDED.fingerprint AND gateway_idempotency.transaction_id IS NULL
           RETURNING scope, key`,
          values: [sorted.map((i) => i.scope), sorted.map((i) => i.key), sorted.map((i) => i.fingerprint), String(PENDING_LEASE_MS)],
        }),
      );
      return returned(r.rows, items);
    }, keyOf);
    this.records = new StatementBatch<RecordItem, boolean>(async (items) => {
      const sorted = byKey(items);
      const r = await once(() =>
        this.pool.query<KeyOf>({
          name: 'gateway-idempotency-record',
          text: `UPDATE gateway_idempotency t SET transaction_id = v.transaction_id, status = v.status
           FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS v(scope, key, transaction_id, status)
           WHERE t.scope = v.scope AND t.key = v.key AND t.state = 'pending' AND t.transaction_id IS NULL
           RETURNING t.scope, t.key`,
          values: [sorted.map((i) => i.scope), sorted.map((i) => i.key), sorted.map((i) => i.transactionId), sorted.map((i) => i.status)],
        }),
      );
      return returned(r.rows, items);
    }, keyOf);
    this.completions = new StatementBatch<CompletionItem, void>(async (items) => {
      const sorted = byKey(items);
      await once(() =>
        this.pool.query({
          name: 'gateway-idempotency-complete',
          text: `UPDATE gateway_idempotency t SET state = 'done', status = v.status, body = v.body::jsonb, completed_at = now()
           FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[]) AS v(scope, key, status, body, transaction_id)
           WHERE t.scope = v.scope AND t.key = v.key AND t.state = 'pending' AND t.transaction_id IS NOT DISTINCT FROM v.transaction_id`,
          values: [
            sorted.map((i) => i.scope),
            sorted.map((i) => i.key),
            sorted.map((i) => i.status),
            sorted.map((i) => i.body),
            sorted.map((i) => i.transactionId),
          ],
        }),
      );
      return items.map(() => undefined);
    }, keyOf);
  }

  /** Statements and items of the grouped statements so far (tests, metrics). */
  batchStats(): Record<'claim' | 'recordTransaction' | 'complete', { statements: number; items: number }> {
    return { claim: { ...this.claims.stats }, recordTransaction: { ...this.records.stats }, complete: { ...this.completions.stats } };
  }

  /**
   * Creates or upgrades the table. Gateways sharing a database (an org's replicas, or the test
   * suites' two orgs) start at once, and `CREATE TABLE IF NOT EXISTS` is not safe against itself in
   * PostgreSQL: the loser fails with 42P07 and its gateway does not start. So the DDL runs in one
   * transaction behind a transaction-scoped advisory lock; the second gateway waits, then finds
   * everything in place.
   */
  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await this.createOrUpgrade(client);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  private async createOrUpgrade(db: PoolClient): Promise<void> {
    const stateCheck = `CHECK (state IN (${STATES.map((s) => `'${s}'`).join(', ')}))`;
    await db.query(`CREATE TABLE IF NOT EXISTS gateway_idempotency (
      scope text NOT NULL,
      key text NOT NULL,
      fingerprint text NOT NULL,
      state text NOT NULL CONSTRAINT gateway_idempotency_state_check ${stateCheck},
      status integer,
      body jsonb,
      transaction_id text,
      created_at timestamptz NOT NULL DEFAULT now(),
      completed_at timestamptz,
      PRIMARY KEY (scope, key))`);
    await db.query('CREATE INDEX IF NOT EXISTS gateway_idempotency_created ON gateway_idempotency (created_at)');
    // Tables made before the `unknown` state: the column and the wider check, added once.
    await db.query('ALTER TABLE gateway_idempotency ADD COLUMN IF NOT EXISTS transaction_id text');
    await db.query('ALTER TABLE gateway_idempotency ADD COLUMN IF NOT EXISTS renewed_at timestamptz NOT NULL DEFAULT now()');
    const check = await db.query(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = ` +
        `'gateway_idempotency'::regclass AND conname = 'gateway_idempotency_state_check'`,
    );
    const def = (check.rows[0] as { def: string } | undefined)?.def ?? '';
    if (!def.includes("'unknown'")) {
      await db.query(
        `ALTER TABLE gateway_idempotency DROP CONSTRAINT IF EXISTS gateway_idempotency_state_check, ADD ` +
          `CONSTRAINT gateway_idempotency_state_check ${stateCheck}`,
      );
    }
  }

  async claim(scope: string, key: string, fingerprint: string, waited = false): Promise<Claim> {
    // A replay sent right after its answer finds the result stored, not its request still running.
    await this.storing.get(keyOf({ scope, key }));
    try {
      if (await this.claims.run({ scope, key, fingerprint })) return { kind: 'new' };
      const row = (
        await this.pool.query(
          `SELECT fingerprint, state, status, body, transaction_id, ${olderThan('completed_at', '$3')} AS releasable,
             ${olderThan('renewed_at', '$4')} AS stale
           FROM gateway_idempotency WHERE scope = $1 AND key = $2`,
          [scope, key, String(this.unknownReleaseMs), String(PENDING_LEASE_MS)],
        )
      ).rows[0] as
        | {
            fingerprint: string;
            state: (typeof STATES)[number];
            status: number;
            body: unknown;
            transaction_id: string | null;
            releasable: boolean | null;
            stale: boolean;
          }
        | undefined;
      if (!row) return this.claim(scope, key, fingerprint);
      if (row.fingerprint !== fingerprint) {
        throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request; use a new key');
      }
      if (row.state === 'pending' && row.stale && row.transaction_id !== null) {
        // Its transaction may have been submitted before the request was lost; whichever replay
        // turns it `unknown` first, the next round resolves it from the ledger.
        await this.pool.query(
          `UPDATE gateway_idempotency SET state = 'unknown', completed_at = now()
           WHERE scope = $1 AND key = $2 AND state = 'pending' AND transaction_id = $3 AND ${olderThan('renewed_at', '$4')}`,
          [scope, key, row.transaction_id, String(PENDING_LEASE_MS)],
        );
        return this.claim(scope, key, fingerprint);
      }
      if (row.state === 'pending' && row.transaction_id !== null && !waited && this.pendingWaitMs > 0) {
        // Its transaction is under way (being endorsed, or past that), so its outcome is near: a
        // client whose answer was lost and who asks again at once, of another gateway of the org,
        // gets that outcome, not a 409 sent while the first gateway stores the result it has just
        // answered (storing, above, covers only replays to the same process). Then the key is read
        // once more in full.
        await this.untilSettled(scope, key, row.transaction_id);
        return this.claim(scope, key, fingerprint, true);
      }
      if (row.state === 'pending')
        throw new ConflictError('IDEMPOTENCY_IN_PROGRESS', 'the first request with this Idempotency-Key is still running; retry later');
      if (row.state === 'unknown') return { kind: 'unknown', transactionId: row.transaction_id!, status: row.status, releasable: row.releasable === true };
      return { kind: 'replay', status: row.status, body: row.body };
    } catch (e) {
      throw this.storeError(e);
    }
  }

  /** Reads a pending key every PENDING_WAIT_POLL_MS, for at most pendingWaitMs, until it no longer is pending with `transactionId` and fresh. */
  private async untilSettled(scope: string, key: string, transactionId: string): Promise<void> {
    for (let waited = 0; waited < this.pendingWaitMs; waited += PENDING_WAIT_POLL_MS) {
      await sleep(PENDING_WAIT_POLL_MS);
      const { rows } = await this.pool.query(
        `SELECT 1 FROM gateway_idempotency WHERE scope = $1 AND key = $2 AND state = 'pending' AND transaction_id = $3
           AND NOT ${olderThan('renewed_at', '$4')}`,
        [scope, key, transactionId, String(PENDING_LEASE_MS)],
      );
      if (rows.length === 0) return;
    }
  }

  /**
   * Durably ties the pending claim to the transaction about to be submitted (and the route's success
   * status, the answer should the transaction have to be looked up later). False when the claim is
   * no longer this request's to submit under: it already names a transaction, or it is gone. Must
   * succeed before the transaction is handed to the orderer.
   */
  async recordTransaction(scope: string, key: string, transactionId: string, status: number): Promise<boolean> {
    try {
      return await this.records.run({ scope, key, transactionId, status });
    } catch (e) {
      throw this.storeError(e);
    }
  }

  /** `transactionId`: the one recorded for this request, if it submitted one. */
  async complete(scope: string, key: string, status: number, body: unknown, transactionId?: string): Promise<void> {
    await this.completions.run({ scope, key, status, body: JSON.stringify(body), transactionId: transactionId ?? null });
  }

  /**
   * Stores a request's result while its answer is already on its way (complete() off the answer's
   * path: at 96 requests in flight that was one statement's wait in three, and 5-7 % more permits a
   * second). Nothing depends on it being durable before the answer: a result that is never stored
   * leaves the key pending with its transaction id, which a replay resolves from the ledger like any
   * lost outcome. `onError` hears of a failure; settled() waits for those still being stored.
   */
  completeAfterAnswer(
    scope: string,
    key: string,
    status: number,
    body: unknown,
    transactionId: string | undefined,
    onError: (e: unknown) => void,
  ): Promise<void> {
    const k = keyOf({ scope, key });
    const stored = this.complete(scope, key, status, body, transactionId)
      .catch(onError)
      .finally(() => {
        if (this.storing.get(k) === stored) this.storing.delete(k);
      });
    this.storing.set(k, stored);
    return stored;
  }

  /** Waits for the results still being stored (a closing gateway, before its pool ends). */
  async settled(): Promise<void> {
    while (this.storing.size > 0) await Promise.all([...this.storing.values()]);
  }

  /** The first request's transaction was ordered but its outcome is not known; `status` is the route's success status. */
  async markUnknown(scope: string, key: string, transactionId: string, status: number): Promise<void> {
    await this.pool.query(
      `UPDATE gateway_idempotency SET state = 'unknown', transaction_id = $3, status = $4, body = NULL, completed_at = now()
       WHERE scope = $1 AND key = $2 AND state = 'pending' AND (transaction_id IS NULL OR transaction_id = $3)`,
      [scope, key, transactionId, status],
    );
  }

  /** Stores the outcome found on the ledger for an `unknown` key; false when another replay changed the key first. */
  async resolve(scope: string, key: string, transactionId: string, status: number, body: unknown): Promise<boolean> {
    try {
      const r = await this.pool.query(
        `UPDATE gateway_idempotency SET state = 'done', status = $4, body = $5::jsonb, completed_at = now()
         WHERE scope = $1 AND key = $2 AND state = 'unknown' AND transaction_id = $3`,
        [scope, key, transactionId, status, JSON.stringify(body)],
      );
      return r.rowCount === 1;
    } catch (e) {
      throw this.storeError(e);
    }
  }

  /**
   * Turns an `unknown` key whose transaction is not on the ledger past the release bound into a new
   * `pending` claim for the caller; false when another replay got there first or it is not yet due.
   */
  async takeOver(scope: string, key: string, transactionId: string): Promise<boolean> {
    try {
      const r = await this.pool.query(
        `UPDATE gateway_idempotency SET state = 'pending', transaction_id = NULL, status = NULL, body = NULL, created_at = now(), renewed_at = now(),
           completed_at = NULL
         WHERE scope = $1 AND key = $2 AND state = 'unknown' AND transaction_id = $3 AND ${olderThan('completed_at', '$4')}`,
        [scope, key, transactionId, String(this.unknownReleaseMs)],
      );
      return r.rowCount === 1;
    } catch (e) {
      throw this.storeError(e);
    }
  }

  /** Frees a pending claim that wrote nothing; `transactionId`: the one recorded for this request, if any (its submit was refused). */
  async release(scope: string, key: string, transactionId?: string): Promise<void> {
    await this.pool.query(`DELETE FROM gateway_idempotency WHERE scope = $1 AND key = $2 AND state = 'pending' AND transaction_id IS NOT DISTINCT FROM $3`, [
      scope,
      key,
      transactionId ?? null,
    ]);
  }

  /** The claim is this process's request's until `letGo`: renewHeld keeps its lease. */
  hold(scope: string, key: string): void {
    this.held.set(`${scope}\n${key}`, [scope, key]);
  }
  letGo(scope: string, key: string): void {
    this.held.delete(`${scope}\n${key}`);
  }
  /** Renews the lease of every claim held (server.ts calls it every PENDING_LEASE_MS / 3). */
  async renewHeld(): Promise<void> {
    if (this.held.size === 0) return;
    const pairs = [...this.held.values()];
    await this.pool.query(
      `UPDATE gateway_idempotency SET renewed_at = now()
       WHERE state = 'pending' AND (scope, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [pairs.map(([s]) => s), pairs.map(([, k]) => k)],
    );
  }

  async purgeExpired(): Promise<number> {
    const r = await this.pool.query(`DELETE FROM gateway_idempotency WHERE created_at < now() - ($1 || ' hours')::interval`, [String(this.ttlHours)]);
    return r.rowCount ?? 0;
  }

  private storeError(e: unknown): ApiError {
    if (e instanceof ApiError) return e;
    return new UnavailableError('STORE_UNAVAILABLE', `idempotency store: ${(e as Error).message}`, this.retryAfterSeconds);
  }
}
