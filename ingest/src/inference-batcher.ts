import { FEATURE_COUNT } from './features.js';
import type { RiskModel } from './risk-model.js';

interface Pending {
  features: Float32Array;
  resolve: (score: number) => void;
  reject: (e: unknown) => void;
}

/**
 * Collects single scoring requests into batches: one ONNX call per batch costs about as much as
 * one call per row, so throughput grows with the batch. A batch runs when it is full, or after
 * `maxDelayMs` (0: at the next turn of the event loop, which batches whatever arrived together).
 */
export class InferenceBatcher {
  private queue: Pending[] = [];
  private timer: { cancel(): void } | undefined;
  private running = Promise.resolve();
  batches = 0;

  constructor(
    private readonly model: RiskModel,
    private readonly maxBatch: number,
    private readonly maxDelayMs: number,
    private readonly observeBatch: (rows: number) => void = () => {},
  ) {}

  score(features: Float32Array): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ features, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flushNow();
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
    const batch = this.queue.splice(0, this.maxBatch);
    if (this.queue.length > 0) this.timer = this.schedule();
    if (batch.length === 0) return;
    // Batches run one after another so that results come back in the order requests were made.
    this.running = this.running.then(() => this.run(batch));
  }

  private async run(batch: Pending[]): Promise<void> {
    const rows = new Float32Array(batch.length * FEATURE_COUNT);
    batch.forEach((p, i) => rows.set(p.features, i * FEATURE_COUNT));
    try {
      const scores = await this.model.scoreRows(rows, batch.length);
      this.batches++;
      this.observeBatch(batch.length);
      batch.forEach((p, i) => p.resolve(scores[i]!));
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }
}
