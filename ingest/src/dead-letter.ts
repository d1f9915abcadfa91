import { join } from 'node:path';
import { AppendLog, readAppendLog } from './append-log.js';

export interface DeadLetter {
  at: string;
  topic: string;
  code: string;
  reason: string;
  /** The exact bytes received, base64, so the message can be replayed after a fix. */
  payloadBase64: string;
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
    const letter: DeadLetter = {
      at: now.toISOString(),
      topic,
      code,
      reason,
      payloadBase64: Buffer.from(payload).toString('base64'),
    };
    await this.log.append(letter);
  }

  readAll(): DeadLetter[] {
    return readAppendLog<DeadLetter>(this.log.path);
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
