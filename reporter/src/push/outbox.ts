import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Subscription } from './events.js';

/** One queued push: the body is fixed when queued, so every attempt sends the same bytes. */
export interface Delivery {
  id: string;
  /** Position in the outbox; deliveries of one order key go out by ascending seq. */
  seq: number;
  subscriptionId: string;
  url: string;
  orderKey: string;
  blockNumber: string;
  txId: string;
  body: string;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
}

export interface DeadLetter extends Delivery {
  deadAt: string;
}

/** Where the follower resumes: the block of the next event and the last transaction done in it. */
export interface Checkpoint {
  block: string;
  txId: string | null;
}

type Entry =
  | { op: 'subscribe'; subscription: Subscription }
  | { op: 'unsubscribe'; id: string }
  | { op: 'seen'; checkpoint: Checkpoint; deliveries: Delivery[] }
  | { op: 'replay'; generation: number; fromBlock: string; subscriptionIds: string[] | null }
  | { op: 'attempt'; id: string; attempts: number; nextAttemptAt: number; error: string }
  | { op: 'delivered'; id: string }
  | { op: 'dead'; id: string; at: string; error: string };

/**
 * The durable outbox: an append-only file of JSON lines, each written and fsynced before the
 * reporter acts on it. A new event's deliveries and the follower's checkpoint are one line, so a
 * crash either keeps both or neither: the event is queued exactly once, and sent at least once.
 * Subscriptions and replays live in the same file so one fsync orders everything.
 */
export class Outbox {
  readonly subscriptions = new Map<string, Subscription>();
  readonly pending = new Map<string, Delivery>();
  readonly dead = new Map<string, DeadLetter>();
  checkpoint: Checkpoint | null = null;
  /** The furthest the follower got before any replay: events up to it are old. */
  highWater: { block: bigint; txIds: Set<string> } | null = null;
  replay: { generation: number; subscriptionIds: string[] | null } | null = null;
  private nextSeq = 1;
  private fd: number;

  constructor(private readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    if (existsSync(file)) {
      const lines = readFileSync(file, 'utf8').split('\n');
      for (const [i, line] of lines.entries()) {
        if (line === '') continue;
        let entry: Entry;
        try {
          entry = JSON.parse(line) as Entry;
        } catch (e) {
          // Only the last line can be torn (a crash mid-write, never fsynced, never acted on).
          if (i >= lines.length - 2) break;
          throw new Error(`${file}: line ${i + 1} is not JSON (${String(e)}); the outbox is damaged`);
        }
        this.apply(entry);
      }
      this.compact();
    }
    this.fd = openSync(file, 'a');
  }

  /** Rewrites the file with only what is live, so it does not grow with every delivered push. */
  private compact(): void {
    const tmp = `${this.file}.compact`;
    const fd = openSync(tmp, 'w');
    const line = (e: Entry) => writeSync(fd, `${JSON.stringify(e)}\n`);
    for (const s of this.subscriptions.values()) line({ op: 'subscribe', subscription: s });
    if (this.replay)
      line({ op: 'replay', generation: this.replay.generation, fromBlock: this.checkpoint?.block ?? '0', subscriptionIds: this.replay.subscriptionIds });
    if (this.highWater) line({ op: 'seen', checkpoint: { block: this.highWater.block.toString(), txId: null }, deliveries: [] });
    for (const id of this.highWater?.txIds ?? []) line({ op: 'seen', checkpoint: { block: this.highWater!.block.toString(), txId: id }, deliveries: [] });
    for (const d of this.dead.values()) {
      line({ op: 'seen', checkpoint: this.checkpoint ?? { block: '0', txId: null }, deliveries: [d] });
      line({ op: 'dead', id: d.id, at: d.deadAt, error: d.lastError ?? '' });
    }
    line({ op: 'seen', checkpoint: this.checkpoint ?? { block: '0', txId: null }, deliveries: [...this.pending.values()] });
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.file);
    const dir = openSync(dirname(this.file), 'r');
    fsyncSync(dir);
    closeSync(dir);
  }

  private apply(e: Entry): void {
    switch (e.op) {
      case 'subscribe':
        this.subscriptions.set(e.subscription.id, e.subscription);
        break;
      case 'unsubscribe':
        this.subscriptions.delete(e.id);
        for (const [id, d] of this.pending) if (d.subscriptionId === e.id) this.pending.delete(id);
        break;
      case 'seen': {
        this.checkpoint = e.checkpoint;
        const block = BigInt(e.checkpoint.block);
        if (this.highWater === null || block > this.highWater.block) this.highWater = { block, txIds: new Set() };
        if (e.checkpoint.txId !== null && block === this.highWater.block) this.highWater.txIds.add(e.checkpoint.txId);
        for (const d of e.deliveries) {
          this.pending.set(d.id, d);
          this.nextSeq = Math.max(this.nextSeq, d.seq + 1);
        }
        break;
      }
      case 'replay':
        this.replay = { generation: e.generation, subscriptionIds: e.subscriptionIds };
        this.checkpoint = { block: e.fromBlock, txId: null };
        break;
      case 'attempt': {
        const d = this.pending.get(e.id);
        if (d) Object.assign(d, { attempts: e.attempts, nextAttemptAt: e.nextAttemptAt, lastError: e.error });
        break;
      }
      case 'delivered':
        this.pending.delete(e.id);
        break;
      case 'dead': {
        const d = this.pending.get(e.id);
        if (d) {
          this.pending.delete(e.id);
          this.dead.set(e.id, { ...d, lastError: e.error, deadAt: e.at });
        }
        break;
      }
    }
  }

  private append(e: Entry): void {
    writeSync(this.fd, `${JSON.stringify(e)}\n`);
    fsyncSync(this.fd);
    this.apply(e);
  }

  /** Whether an event is past everything seen before a replay began (then every subscription gets it). */
  isNew(block: bigint, txId: string): boolean {
    const hw = this.highWater;
    return hw === null || block > hw.block || (block === hw.block && !hw.txIds.has(txId));
  }

  allocateSeq(): number {
    return this.nextSeq++;
  }

  subscribe(s: Subscription): void {
    this.append({ op: 'subscribe', subscription: s });
  }
  unsubscribe(id: string): void {
    this.append({ op: 'unsubscribe', id });
  }
  seen(checkpoint: Checkpoint, deliveries: Delivery[]): void {
    this.append({ op: 'seen', checkpoint, deliveries });
  }
  startReplay(fromBlock: bigint, subscriptionIds: string[] | null): number {
    const generation = (this.replay?.generation ?? 0) + 1;
    this.append({ op: 'replay', generation, fromBlock: fromBlock.toString(), subscriptionIds });
    return generation;
  }
  attempted(id: string, attempts: number, nextAttemptAt: number, error: string): void {
    this.append({ op: 'attempt', id, attempts, nextAttemptAt, error });
  }
  delivered(id: string): void {
    this.append({ op: 'delivered', id });
  }
  deadLetter(id: string, error: string): void {
    this.append({ op: 'dead', id, at: new Date().toISOString(), error });
  }

  close(): void {
    closeSync(this.fd);
  }
}
