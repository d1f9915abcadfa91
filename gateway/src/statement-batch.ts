/**
 * Group commit for one kind of statement: the items that arrive while a statement of their kind is
 * running go together into the next one, so under load one statement (one round trip, one WAL flush)
 * serves many requests, and a lone request waits for nothing. Idempotency keys were three statements
 * per POST, about a third of the REST API's cost above a direct Fabric client at saturation
 * (bench/RESULTS.md, 2026-12-05).
 *
 * Items with the same key never share a statement: an UPDATE … FROM with two source rows for one
 * target applies one of them and reports the row once, and an INSERT … ON CONFLICT refuses to touch a
 * row twice. The later one waits for the next statement, as it would have waited for the row's lock.
 */
export interface BatchStats {
  /** Statements run. */
  statements: number;
  /** Items they carried. */
  items: number;
}

interface Pending<I, R> {
  item: I;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class StatementBatch<I, R> {
  private queue: Pending<I, R>[] = [];
  private running = false;
  readonly stats: BatchStats = { statements: 0, items: 0 };

  constructor(
    /** Runs one statement for distinct items; answers one result per item, in their order. */
    private readonly execute: (items: I[]) => Promise<R[]>,
    /** Two items with the same key go into different statements. */
    private readonly keyOf: (item: I) => string,
    /** Most items per statement (bind parameters and the statement's own size stay bounded). */
    private readonly maxItems = 500,
  ) {}

  run(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const taken: Pending<I, R>[] = [];
        const left: Pending<I, R>[] = [];
        const keys = new Set<string>();
        for (const p of this.queue) {
          const k = this.keyOf(p.item);
          if (taken.length < this.maxItems && !keys.has(k)) {
            keys.add(k);
            taken.push(p);
          } else left.push(p);
        }
        this.queue = left;
        this.stats.statements++;
        this.stats.items += taken.length;
        try {
          const results = await this.execute(taken.map((p) => p.item));
          for (const [i, p] of taken.entries()) p.resolve(results[i]!);
        } catch (e) {
          for (const p of taken) p.reject(e);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
