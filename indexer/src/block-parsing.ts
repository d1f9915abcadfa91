/**
 * Where the follower's blocks are parsed. Parsing (protobuf decoding, certificates, hashes) is
 * most of the indexer's own CPU per transaction after the database's writes, and with PGlite those
 * writes run on the main thread too: parsed there, each block waited for the batch before it and
 * the second core stayed idle. ParseThreads parses on worker threads instead, while the main thread
 * writes; results come back in the order blocks were given, however the threads finish.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { common } from '@hyperledger/fabric-protos';
import type { Knex } from 'knex';
import { type ParsedBlock, parseBlock } from './block-parser.js';
import { isPglite } from './db.js';

export interface BlockParsing {
  /** The parsed block; rejects with BlockUnreadableError when the block cannot be read. */
  parse(block: common.Block): Promise<ParsedBlock>;
  close(): Promise<void>;
}

/** The block itself (or a valid transaction in it) cannot be read: the follower must stop there. */
export class BlockUnreadableError extends Error {
  override readonly name = 'BlockUnreadableError';
}

/** A parsing thread stopped with blocks in hand: nothing is wrong with them, so they are parsed again after a restart. */
export class ParseThreadError extends Error {
  override readonly name = 'ParseThreadError';
}

/**
 * Threads when INDEXER_PARSE_THREADS is unset: one with PGlite, whose writes share the main thread
 * with parsing; none with a PostgreSQL server, which writes in its own processes, so the main
 * thread has room and a thread only adds its start and the hand-over of each block.
 */
export function defaultParseThreads(db: Knex): number {
  return isPglite(db) ? 1 : 0;
}

/** Parses on the calling thread, as each block is given. */
export const inThreadParsing: BlockParsing = {
  parse: (block) => {
    try {
      return Promise.resolve(parseBlock(block));
    } catch (err) {
      return Promise.reject(new BlockUnreadableError((err as Error).message));
    }
  },
  close: () => Promise.resolve(),
};

/** Messages to and from parse-worker.ts. */
export interface ParseRequest {
  id: number;
  bytes: Uint8Array;
}
export type ParseReply = { id: number; parsed: ParsedBlock } | { id: number; error: string };

interface Pending {
  resolve(parsed: ParsedBlock): void;
  reject(err: Error): void;
}

const here = fileURLToPath(import.meta.url);
const workerFile = path.join(path.dirname(here), `parse-worker${path.extname(here)}`);

/**
 * parse-worker.js from dist. From source, parse-worker.ts: a worker thread does not get the
 * process's `--import tsx` loader on Node 20, so the thread registers tsx itself before loading it.
 */
function startWorker(): Worker {
  if (path.extname(here) !== '.ts') return new Worker(workerFile);
  const bootstrap = `import(${JSON.stringify(tsxApi())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(workerFile).href)}); })`;
  return new Worker(bootstrap, { eval: true });
}

/** The file URL of tsx's ESM API (its `register`), found through tsx's own exports from this folder, as an import here resolves it. */
function tsxApi(): string {
  const manifest = createRequire(here).resolve('tsx/package.json');
  const exported = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api'];
  if (!exported) throw new Error(`${manifest} exports no ./esm/api`);
  return pathToFileURL(path.join(path.dirname(manifest), exported.import.default)).href;
}

class ParseThread {
  readonly pending = new Map<number, Pending>();
  readonly worker: Worker;
  exited = false;
  private idle: NodeJS.Timeout | undefined;

  constructor(
    onExit: (thread: ParseThread, reason: string) => void,
    private readonly idleMs: number,
  ) {
    this.worker = startWorker();
    // An idle thread must not keep the process alive; one with blocks in hand does (track()).
    this.worker.unref();
    this.worker.on('message', (reply: ParseReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      this.track();
      if ('error' in reply) p.reject(new BlockUnreadableError(reply.error));
      else p.resolve(asBuffers(reply.parsed));
    });
    this.worker.on('error', (err) => onExit(this, err.message));
    this.worker.on('exit', (code) => onExit(this, `exit code ${code}`));
  }

  /** Called whenever `pending` changes: a busy thread keeps the process alive, an idle one ends after idleMs. */
  track(): void {
    clearTimeout(this.idle);
    if (this.pending.size > 0) {
      this.worker.ref();
      return;
    }
    this.worker.unref();
    this.idle = setTimeout(() => {
      if (this.pending.size > 0 || this.exited) return;
      // Ended, not failed: nothing is pending, and the next block starts a thread again.
      this.exited = true;
      void this.worker.terminate();
    }, this.idleMs);
    this.idle.unref();
  }
}

export class ParseThreads implements BlockParsing {
  private readonly threads: ParseThread[] = [];
  private next = 0;
  private ids = 0;
  private closed = false;

  /**
   * @param idleMs how long a thread without work is kept. A thread holds its own heap and modules
   * (tens of MiB); the indexer at rest, following the head, parses on its main thread anyway
   * (follower.ts), so an idle thread is ended rather than kept for the next catch-up.
   */
  constructor(
    private readonly count: number,
    private readonly idleMs = 10_000,
  ) {
    if (!(count >= 1)) throw new RangeError('ParseThreads needs at least one thread');
  }

  parse(block: common.Block): Promise<ParsedBlock> {
    if (this.closed) return Promise.reject(new ParseThreadError('block parsing is closed'));
    const thread = this.thread();
    const id = ++this.ids;
    // Fresh bytes with a buffer of their own, handed over (not copied) to the thread.
    const bytes = block.serializeBinary();
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    return new Promise<ParsedBlock>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.track();
      const request: ParseRequest = { id, bytes };
      thread.worker.postMessage(request, own ? [bytes.buffer as ArrayBuffer] : []);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  /** The next thread in turn, started on first use and again after one stopped. */
  private thread(): ParseThread {
    const slot = this.next;
    this.next = (this.next + 1) % this.count;
    let thread = this.threads[slot];
    if (!thread || thread.exited) {
      thread = new ParseThread((t, reason) => this.stopped(t, reason), this.idleMs);
      this.threads[slot] = thread;
    }
    return thread;
  }

  private stopped(thread: ParseThread, reason: string): void {
    if (thread.exited) return;
    thread.exited = true;
    const pending = [...thread.pending.values()];
    thread.pending.clear();
    for (const p of pending) p.reject(new ParseThreadError(`a block-parsing thread stopped (${reason})`));
  }
}

/** A copy across threads arrives with Uint8Arrays where the parser made Buffers: the same bytes, as Buffers again. */
function asBuffers(block: ParsedBlock): ParsedBlock {
  const b = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  block.headerHash = b(block.headerHash);
  block.previousHash = b(block.previousHash);
  block.dataHash = b(block.dataHash);
  block.computedDataHash = b(block.computedDataHash);
  for (const tx of block.transactions) {
    for (const e of tx.events) e.payload = b(e.payload);
    for (const w of tx.writes) {
      if (w.value) w.value = b(w.value);
      if (w.valueHash) w.valueHash = b(w.valueHash);
    }
  }
  return block;
}
