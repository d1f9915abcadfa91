/**
 * Content storage for evidence: kubo through kubo-rpc-client when IPFS_API_URL is set, otherwise an
 * embedded blockstore on disk (ipfs-unixfs-importer + blockstore-fs). Both build the DAG the way
 * `ipfs add --cid-version=1` does in kubo — 262144-byte fixed chunks, balanced layout with at most
 * 174 links per node, raw leaves, CIDv1 — so the same bytes get the same CID in either mode.
 * sha256 and size are computed on the way through, never by buffering the file.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as dagPb from '@ipld/dag-pb';
import { FsBlockstore } from 'blockstore-fs';
import { NextToLast } from 'blockstore-fs/sharding';
import { UnixFS } from 'ipfs-unixfs';
import { exporter } from 'ipfs-unixfs-exporter';
import { type ImporterOptions, importer } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import type { KuboRPCClient } from 'kubo-rpc-client';
import { CID } from 'multiformats/cid';

export const KUBO_CHUNK_BYTES = 262_144;
export const KUBO_MAX_LINKS = 174;
/** How much of a file the embedded store reads ahead of its reader (4 leaves). */
const READ_WINDOW_BYTES = 4 * KUBO_CHUNK_BYTES;

export interface StoredContent {
  cid: string;
  sha256: string;
  sizeBytes: number;
}

export interface ContentStore {
  readonly kind: 'kubo' | 'embedded';
  /** Stores a stream; throws what `limit` throws when the stream exceeds it. */
  add(source: Readable, maxBytes: number, onTooLarge: () => Error): Promise<StoredContent>;
  /** Streams the content of a CID back (or the byte range given), each chunk its own; gives up after timeoutMs, or when `signal` aborts. */
  cat(cid: string, timeoutMs: number, range?: ByteRange, signal?: AbortSignal): AsyncIterable<Uint8Array>;
  /**
   * Hands the content (or the byte range given) to `write` chunk by chunk, awaiting each call: the
   * chunk's memory is the store's again once that promise resolves, so a download of any size goes
   * through the same two buffers in the embedded store. For a sink that is done with a chunk once
   * it is written (an HTTP response); one that keeps chunks must copy them, or use `cat`.
   */
  pump(cid: string, timeoutMs: number, range: ByteRange | undefined, write: (chunk: Uint8Array) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

const RAW_CODEC = 0x55;

/** Bytes offset … offset + length - 1 of a file. */
export interface ByteRange {
  offset: number;
  length: number;
}

export function importerOptions(): ImporterOptions {
  return {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: KUBO_CHUNK_BYTES }),
    layout: balanced({ maxChildrenPerNode: KUBO_MAX_LINKS }),
  };
}

/** A pass-through that hashes, counts and enforces the size limit. */
export function meter(maxBytes: number, onTooLarge: () => Error): Transform & { result(): { sha256: string; sizeBytes: number } } {
  const h = crypto.createHash('sha256');
  let size = 0;
  let digest: string | undefined;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > maxBytes) return cb(onTooLarge());
      h.update(chunk);
      cb(null, chunk);
    },
  }) as Transform & { result(): { sha256: string; sizeBytes: number } };
  t.result = () => {
    digest ??= h.digest('hex');
    return { sha256: digest, sizeBytes: size };
  };
  return t;
}

/** A blockstore that keeps nothing: for computing a CID only. */
const discardBlockstore = {
  async put(cid: CID) {
    return cid;
  },
  async has() {
    return false;
  },
  get(): AsyncGenerator<Uint8Array> {
    throw new Error('discard blockstore holds nothing');
  },
};

/** A read's signal: its time bound, and the caller's own stop when given. */
function boundedSignal(timeoutMs: number, stop?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return stop ? AbortSignal.any([timeout, stop]) : timeout;
}

/** The kubo-compatible CIDv1 of some bytes, computed without storing them. */
export async function computeCid(source: AsyncIterable<Uint8Array>): Promise<string> {
  let last: string | undefined;
  for await (const entry of importer([{ content: source }], discardBlockstore as never, importerOptions())) last = entry.cid.toString();
  if (!last) throw new Error('no content');
  return last;
}

/** A piece of a file in file order: a byte range of a raw leaf's block file, or bytes held in a node. */
type Segment = { file: string; from: number; to: number } | { bytes: Uint8Array };

export class EmbeddedContentStore implements ContentStore {
  readonly kind = 'embedded' as const;
  private readonly store: FsBlockstore;
  /** The blockstore's layout on disk, kept to read a leaf's file in place (pump). */
  private readonly sharding = new NextToLast();
  private opened: Promise<void> | undefined;
  constructor(private readonly dir: string) {
    this.store = new FsBlockstore(dir, { shardingStrategy: this.sharding });
  }
  private open(): Promise<void> {
    this.opened ??= this.store.open();
    return this.opened;
  }
  async add(source: Readable, maxBytes: number, onTooLarge: () => Error): Promise<StoredContent> {
    await this.open();
    const m = meter(maxBytes, onTooLarge);
    source.on('error', (e) => m.destroy(e));
    source.pipe(m);
    let cid: string | undefined;
    for await (const entry of importer([{ content: m as AsyncIterable<Uint8Array> }], this.store, importerOptions())) cid = entry.cid.toString();
    if (!cid) throw new Error('nothing was imported');
    return { cid, ...m.result() };
  }
  async *cat(cid: string, timeoutMs: number, range?: ByteRange, stop?: AbortSignal): AsyncIterable<Uint8Array> {
    await this.open();
    const signal = boundedSignal(timeoutMs, stop);
    const entry = await exporter(CID.parse(cid), this.store, { signal });
    if (entry.type !== 'file' && entry.type !== 'raw') throw new Error(`${cid} is not a file`);
    // The exporter walks the DAG of the range it is given without waiting for its reader, so a
    // whole video would pile up in memory behind a slow client (490 MiB for 1 GiB, measured): the
    // file is read in windows, each walked only when the one before has been taken.
    const size = Number(entry.size);
    const start = range?.offset ?? 0;
    const end = Math.min(size, range ? start + range.length : size);
    for (let at = start; at < end; at += READ_WINDOW_BYTES) {
      yield* entry.content({ offset: at, length: Math.min(READ_WINDOW_BYTES, end - at), signal });
    }
  }
  /**
   * The exporter allocates fresh buffers and many small objects for every block, which V8 collects
   * only at its next full collection: a 1 GiB download grew the gateway by about 60 MiB before it
   * did (measured). Here the DAG's few inner nodes are decoded and each leaf's bytes are read from
   * its file into one of two buffers, the next read overlapping the previous chunk's write. The
   * timeout bounds the whole transfer, as in `cat`.
   */
  async pump(cid: string, timeoutMs: number, range: ByteRange | undefined, write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
    await this.open();
    const signal = AbortSignal.timeout(timeoutMs);
    const start = range?.offset ?? 0;
    const end = range ? start + range.length : Number.POSITIVE_INFINITY;
    const buffers = [Buffer.allocUnsafeSlow(KUBO_CHUNK_BYTES), Buffer.allocUnsafeSlow(KUBO_CHUNK_BYTES)];
    let turn = 0;
    let writing: Promise<void> = Promise.resolve();
    const hand = async (chunk: Uint8Array) => {
      await writing;
      writing = write(chunk);
      // Its failure is awaited on the next turn or at the end; meanwhile it is not unhandled.
      writing.catch(() => undefined);
    };
    try {
      for await (const segment of this.segments(CID.parse(cid), start, end, signal)) {
        if ('bytes' in segment) {
          await hand(segment.bytes);
          continue;
        }
        const handle = await fs.promises.open(segment.file, 'r');
        try {
          for (let at = segment.from; at < segment.to; ) {
            signal.throwIfAborted();
            // This buffer's previous chunk was handed two turns ago, and the last hand() waited for
            // that write to end before starting its own: it is free, and this read overlaps that write.
            const buffer = buffers[turn++ % 2]!;
            const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, segment.to - at), at);
            if (bytesRead === 0) throw new Error(`block file ${segment.file} ends at ${at} of ${segment.to} bytes`);
            at += bytesRead;
            await hand(buffer.subarray(0, bytesRead));
          }
        } finally {
          await handle.close();
        }
      }
    } finally {
      await writing.catch(() => undefined);
    }
    await writing;
  }

  /** The pieces of the file under `cid` between `start` and `end` (relative to it), in order. */
  private async *segments(cid: CID, start: number, end: number, signal: AbortSignal): AsyncGenerator<Segment> {
    signal.throwIfAborted();
    const { dir, file: name } = this.sharding.encode(cid);
    const file = path.join(this.dir, dir, name);
    if (cid.code === RAW_CODEC) {
      const size = (await fs.promises.stat(file)).size;
      if (start < Math.min(end, size)) yield { file, from: start, to: Math.min(end, size) };
      return;
    }
    if (cid.code !== dagPb.code) throw new Error(`${cid} is neither a raw block nor a dag-pb node`);
    const node = dagPb.decode(await fs.promises.readFile(file));
    const unixfs = UnixFS.unmarshal(node.Data ?? new Uint8Array(0));
    if (unixfs.type !== 'file' && unixfs.type !== 'raw') throw new Error(`${cid} is not a file`);
    const inline = unixfs.data ?? new Uint8Array(0);
    if (start < Math.min(end, inline.length)) yield { bytes: inline.subarray(start, Math.min(end, inline.length)) };
    let at = inline.length;
    for (const [i, link] of node.Links.entries()) {
      const size = Number(unixfs.blockSizes[i] ?? 0n);
      if (at >= end) return;
      if (at + size > start) yield* this.segments(link.Hash, Math.max(0, start - at), Math.min(end, at + size) - at, signal);
      at += size;
    }
  }
  async close(): Promise<void> {
    if (this.opened) await this.store.close();
  }
}

export class KuboContentStore implements ContentStore {
  readonly kind = 'kubo' as const;
  private client: Promise<KuboRPCClient> | undefined;
  constructor(private readonly apiUrl: string) {}
  /** Loaded on first use: the client costs the process some 13 MiB, which the embedded mode need not carry. */
  private kubo(): Promise<KuboRPCClient> {
    this.client ??= import('kubo-rpc-client').then((m) => m.create({ url: this.apiUrl }));
    return this.client;
  }
  /**
   * `ipfs add` through the RPC API with the body streamed as it arrives, over node:http: both
   * kubo-rpc-client's add and fetch with a streamed body held the whole file in memory before kubo
   * answered (+530 MiB for a 512 MiB file, measured), which a 2 GiB video cannot afford; this
   * way the same file takes +33 MiB at the peak.
   */
  async add(source: Readable, maxBytes: number, onTooLarge: () => Error): Promise<StoredContent> {
    const m = meter(maxBytes, onTooLarge);
    let failure: Error | undefined;
    m.on('error', (e) => {
      failure ??= e;
    });
    source.on('error', (e) => m.destroy(e));
    source.pipe(m);
    const boundary = `evidence-${crypto.randomBytes(16).toString('hex')}`;
    const parts = async function* () {
      yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="evidence"\r\nContent-Type: application/octet-stream\r\n\r\n`);
      yield* m as AsyncIterable<Buffer>;
      yield Buffer.from(`\r\n--${boundary}--\r\n`);
    };
    const query = `cid-version=1&raw-leaves=true&chunker=size-${KUBO_CHUNK_BYTES}&trickle=false&pin=true&quieter=true`;
    let text: string;
    try {
      text = await new Promise<string>((resolve, reject) => {
        const req = (this.apiUrl.startsWith('https:') ? https : http).request(`${this.apiUrl}/api/v0/add?${query}`, {
          method: 'POST',
          headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
        });
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`kubo add: ${res.statusCode} ${body.slice(0, 300)}`))));
          res.on('error', reject);
        });
        req.on('error', reject);
        pipeline(Readable.from(parts()), req).catch(reject);
      });
    } catch (e) {
      throw failure ?? e;
    }
    const added = JSON.parse(text.trim().split('\n').pop()!) as { Hash: string };
    return { cid: added.Hash, ...m.result() };
  }
  async *cat(cid: string, timeoutMs: number, range?: ByteRange, stop?: AbortSignal): AsyncIterable<Uint8Array> {
    const signal = boundedSignal(timeoutMs, stop);
    yield* (await this.kubo()).cat(CID.parse(cid), { signal, ...range });
  }
  async pump(cid: string, timeoutMs: number, range: ByteRange | undefined, write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
    for await (const chunk of this.cat(cid, timeoutMs, range)) await write(chunk);
  }
  async close(): Promise<void> {}
}

export function createContentStore(opts: { apiUrl?: string | undefined; dir: string }): ContentStore {
  return opts.apiUrl ? new KuboContentStore(opts.apiUrl) : new EmbeddedContentStore(opts.dir);
}
