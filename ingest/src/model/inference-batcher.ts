import { FEATURE_COUNT } from './features.js';
import type { RiskModel } from './risk-model.js';

/** Rows that one caller wants scored together; their scores come back in one array. */
interface Pending {
  rows: readonly Float32Array[];
  resolve: (scores: Float32Array) => void;
  reject: (e: unknown) => void;
}

/**
 * Collects scoring requests into batches: one ONNX call per batch costs about as much as one
 * call per row, so throughput grows with the batch. A batch runs when it is full, or after
 * `maxDelayMs` (0: at the next turn of the event loop, which batches whatever arrived together).
 * A caller with many rows (a batch envelope) hands them over at once and gets one promise:
 * per-row promises cost more than the inference of a row.
 */
export class InferenceBatcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private timer: { cancel(): void } | undefined;
  private running = Promise.resolve();
  batches = 0;

  constructor(
    private readonly model: RiskModel,
    private readonly maxBatch: number,
    private readonly maxDelayMs: number,
    private readonly observeBatch: (rows: number) => void = () => {},
  ) {}

  async score(features: Float32Array): Promise<number> {
    return (await this.scoreAll([features]))[0]!;
  }

  /** The scores of `rows`, in their order. */
  scoreAll(rows: readonly Float32Array[]): Promise<Float32Array> {
    if (rows.length === 0) return Promise.resolve(new Float32Array(0));
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      this.queuedRows += rows.length;
      if (this.queuedRows >= this.maxBatch) this.flushNow();
      else this.timer ??= this.schedule();
    });
  }

  private schedule(): { cancel(): void } {
    if (this.maxDelayMs > 0) {
      const t = setTimeout(() => this.flushNow(), this.maxDelayMs);
      return { cancel: () => clearTimeout(t) };
    }
    const i = setImmediate(() => this.flushNow());
    return { cancel: () => clearImmediate(i) };
  }

  private flushNow(): void {
    this.timer?.cancel();
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    this.queuedRows = 0;
    if (batch.length === 0) return;
    // Batches run one after another so that results come back in the order requests were made.
    this.running = this.running.then(() => this.run(batch));
  }

  private async run(batch: Pending[]): Promise<void> {
    let count = 0;
    for (const p of batch) count += p.rows.length;
    const rows = new Float32Array(count * FEATURE_COUNT);
    let at = 0;
    for (const p of batch) for (const r of p.rows) rows.set(r, at++ * FEATURE_COUNT);
    try {
      // More rows than maxBatch (a large envelope) go to the model in several calls.
      const scores = new Float32Array(count);
      for (let from = 0; from < count; from += this.maxBatch) {
        const n = Math.min(this.maxBatch, count - from);
        scores.set(await this.model.scoreRows(rows.subarray(from * FEATURE_COUNT, (from + n) * FEATURE_COUNT), n), from);
        this.batches++;
        this.observeBatch(n);
      }
      let offset = 0;
      for (const p of batch) {
        p.resolve(scores.subarray(offset, offset + p.rows.length));
        offset += p.rows.length;
      }
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }
}
