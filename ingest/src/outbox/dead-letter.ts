import { join } from 'node:path';
import { AppendLog, readAppendLog } from './append-log.js';

export interface DeadLetter {
  at: string;
  topic: string;
  code: string;
  reason: string;
  /**
   * The exact bytes received, base64, so the message can be replayed after a fix. For an item of
   * a batch envelope: the item's JSON, which can be replayed on the device's own topic.
   */
  payloadBase64: string;
  /** Set for an item of a batch envelope: its position in `items` (0-based) and the batch. */
  index?: number;
  batchId?: string;
}

/** What the store needs to know about one refused message or batch item. */
export interface Refused {
  topic: string;
  payload: Uint8Array;
  code: string;
  reason: string;
  item?: { index: number; batchId: string };
}

/**
 * Where every message that cannot be used ends up, with the reason. Appends are durable before
 * the MQTT message is acknowledged, so an invalid message is never dropped silently.
 */
export class DeadLetterStore {
  private constructor(private readonly log: AppendLog) {}

  static async open(dataDir: string): Promise<DeadLetterStore> {
    return new DeadLetterStore(await AppendLog.open(join(dataDir, 'dead-letter.jsonl')));
  }

  get path(): string {
    return this.log.path;
  }

  async put(topic: string, payload: Uint8Array, code: string, reason: string, now = new Date()): Promise<void> {
    await this.putAll([{ topic, payload, code, reason }], now);
  }

  /** Stores them together (one fsync): a batch's refused items. */
  async putAll(refused: readonly Refused[], now = new Date()): Promise<void> {
    const at = now.toISOString();
    await this.log.appendAll(
      refused.map(
        (r): DeadLetter => ({
          at,
          topic: r.topic,
          code: r.code,
          reason: r.reason,
          payloadBase64: Buffer.from(r.payload).toString('base64'),
          ...(r.item ? { index: r.item.index, batchId: r.item.batchId } : {}),
        }),
      ),
    );
  }

  readAll(): DeadLetter[] {
    return readAppendLog<DeadLetter>(this.log.path);
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
