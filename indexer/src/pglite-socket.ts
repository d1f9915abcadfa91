/**
 * The PGlite mirror served over the PostgreSQL wire protocol on a loopback port
 * (INDEXER_PGLITE_SOCKET_PORT), so that another process (the gateway) can read it.
 *
 * PGlite is one backend with one session. @electric-sql/pglite-socket runs every wire message of
 * its clients on that session, one message at a time, with no notion of the indexer's own queries,
 * which knex-pglite sends as separate PGlite.query() calls (BEGIN, the batch's statements, COMMIT).
 * Left alone, a client's message could run between two of them: inside the indexer's open batch
 * (reading uncommitted rows, aborting it with an error, or committing half of it with its own
 * COMMIT), or between a client's Parse and Bind (replacing its unnamed statement). So both sides
 * take one session lock before they touch PGlite and keep it until the session is idle again:
 *
 * - the indexer from its first query until no query of its own runs and no transaction is open
 *   (a whole batch, BEGIN to COMMIT, is one hold);
 * - the socket clients from their first message until a message that ends a cycle (Query, Sync,
 *   Terminate, startup) leaves no transaction open.
 *
 * The socket accepts one client connection (the library's queue keeps a transaction to its
 * client but interleaves the messages of several clients outside one, and they would share the
 * session's unnamed statement): a client pool must have one connection (the gateway's
 * DATABASE_POOL_MAX=1). A client that disconnects mid-cycle or idles in a transaction longer than
 * IDLE_TIMEOUT_MS is dropped, its transaction rolled back and the lock freed, so the indexer cannot
 * be stalled by a reader.
 *
 * A client's named prepared statements outlive its connection on the one session; the next client
 * (the gateway's pool reconnects after an idle minute) would then get "prepared statement … already
 * exists" (42P05) for every statement its driver prepares again: the regulator's KPIs and monthly
 * report, which are prepared, failed on `npm start` once the demo had finished. So each client's
 * startup first deallocates them. The indexer prepares no named statement (knex-pglite sends
 * unnamed ones), so this takes nothing of its own.
 */
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

type Owner = 'indexer' | 'socket';

/** A lock held by one side at a time; each side is one serial client, so it is re-entrant per side. */
export class SessionLock {
  #owner: Owner | null = null;
  #waiters: { owner: Owner; resolve: () => void }[] = [];

  get owner(): Owner | null {
    return this.#owner;
  }

  acquire(owner: Owner): Promise<void> {
    if (this.#owner === owner) return Promise.resolve();
    if (this.#owner === null && this.#waiters.length === 0) {
      this.#owner = owner;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push({ owner, resolve }));
  }

  release(owner: Owner): void {
    if (this.#owner !== owner) return;
    this.#owner = null;
    const next = this.#waiters[0];
    if (!next) return;
    // Hand it to the first waiter's side, and wake every waiter of that side.
    this.#owner = next.owner;
    const woken = this.#waiters.filter((w) => w.owner === next.owner);
    this.#waiters = this.#waiters.filter((w) => w.owner !== next.owner);
    for (const w of woken) w.resolve();
  }
}

/** The PGlite instance as the indexer (knex-pglite) sees it: query/exec/transaction under the lock. */
export function indexerView(pglite: PGlite, lock: SessionLock): PGlite {
  let running = 0;
  const guarded =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await lock.acquire('indexer');
      running++;
      try {
        return await fn(...args);
      } finally {
        running--;
        if (running === 0 && !pglite.isInTransaction()) lock.release('indexer');
      }
    };
  const wrapped: Record<string | symbol, unknown> = {
    query: guarded(pglite.query.bind(pglite)),
    exec: guarded(pglite.exec.bind(pglite)),
    transaction: guarded(pglite.transaction.bind(pglite)),
  };
  return new Proxy(pglite, {
    get(target, prop) {
      if (prop in wrapped) return wrapped[prop];
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

// Frontend message types after which the session is between cycles: Query, Sync, Terminate;
// a startup message begins with its length, whose first byte is 0.
const CYCLE_END = new Set([0x51, 0x53, 0x58, 0x00]);
/** A StartupMessage: length, then protocol version 3.0 (it has no type byte). */
const isStartup = (m: Uint8Array) => m.length >= 8 && m[4] === 0 && m[5] === 3 && m[6] === 0 && m[7] === 0;
/** `DEALLOCATE ALL` as a simple Query message. */
const DEALLOCATE_ALL = (() => {
  const sql = Buffer.from('DEALLOCATE ALL\0');
  const m = Buffer.alloc(5 + sql.length);
  m[0] = 0x51;
  m.writeInt32BE(4 + sql.length, 1);
  sql.copy(m, 5);
  return new Uint8Array(m);
})();

export const IDLE_TIMEOUT_MS = 60_000;

export interface PgliteSocket {
  port: number;
  close(): Promise<void>;
}

/** Serves `pglite` on host:port (0 picks a free port) with one client connection at a time. */
export async function startPgliteSocket(pglite: PGlite, lock: SessionLock, host: string, port: number): Promise<PgliteSocket> {
  let lastType = -1;
  let inFlight = 0;
  const afterSocketWork = () => {
    if (inFlight === 0 && CYCLE_END.has(lastType) && !pglite.isInTransaction()) lock.release('socket');
  };
  const socketSide: Record<string | symbol, unknown> = {
    // The library runs each message as runExclusive(() => execProtocolRawStream(message)): take the
    // session lock before PGlite's own query mutex, in the same order as the indexer does.
    runExclusive: async <T>(fn: () => Promise<T>): Promise<T> => {
      await lock.acquire('socket');
      inFlight++;
      try {
        return await pglite.runExclusive(fn);
      } finally {
        inFlight--;
        afterSocketWork();
      }
    },
    execProtocolRawStream: async (message: Uint8Array, options: Parameters<PGlite['execProtocolRawStream']>[1]) => {
      lastType = message[0] ?? -1;
      // Inside the library's runExclusive, as its own messages: the reply is not the client's.
      if (isStartup(message)) await pglite.execProtocolRawStream(DEALLOCATE_ALL, { onRawData: () => undefined });
      return pglite.execProtocolRawStream(message, options);
    },
    // Used by the library to roll back a disconnected client's transaction.
    exec: async (sql: string) => {
      await lock.acquire('socket');
      inFlight++;
      try {
        return await pglite.exec(sql);
      } finally {
        inFlight--;
        lastType = 0x51;
        afterSocketWork();
      }
    },
    // A transaction open on the session is the client's only while the client holds the lock:
    // otherwise it is the indexer's batch, which the library must neither wait for nor roll back.
    isInTransaction: () => lock.owner === 'socket' && pglite.isInTransaction(),
  };
  const db = new Proxy(pglite, {
    get(target, prop) {
      if (prop in socketSide) return socketSide[prop];
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const server = new PGLiteSocketServer({ db, host, port, maxConnections: 1, idleTimeout: IDLE_TIMEOUT_MS });
  await server.start();
  // A client gone mid-cycle (no Sync) leaves the lock with the socket side: free it.
  const watchdog = setInterval(() => {
    if (lock.owner !== 'socket' || inFlight > 0 || server.getStats().activeConnections > 0) return;
    void (async () => {
      if (pglite.isInTransaction()) await pglite.exec('ROLLBACK').catch(() => undefined);
      if (lock.owner === 'socket' && inFlight === 0 && server.getStats().activeConnections === 0) lock.release('socket');
    })();
  }, 1000);
  watchdog.unref();
  const address = server.getServerConn();
  return {
    port: Number(address.slice(address.lastIndexOf(':') + 1)),
    async close() {
      clearInterval(watchdog);
      await server.stop();
    },
  };
}
