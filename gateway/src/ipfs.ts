/**
 * Content storage for evidence: kubo through kubo-rpc-client when IPFS_API_URL is set, otherwise an
 * embedded blockstore on disk (ipfs-unixfs-importer + blockstore-fs). Both build the DAG the way
 * `ipfs add --cid-version=1` does in kubo — 262144-byte fixed chunks, balanced layout with at most
 * 174 links per node, raw leaves, CIDv1 — so the same bytes get the same CID in either mode.
 * sha256 and size are computed on the way through, never by buffering the file.
 */
import * as crypto from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import { FsBlockstore } from 'blockstore-fs';
import { exporter } from 'ipfs-unixfs-exporter';
import { type ImporterOptions, importer } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { create as createKubo, type KuboRPCClient } from 'kubo-rpc-client';
import { CID } from 'multiformats/cid';

export const KUBO_CHUNK_BYTES = 262_144;
export const KUBO_MAX_LINKS = 174;

export interface StoredContent {
  cid: string;
  sha256: string;
  sizeBytes: number;
}

export interface ContentStore {
  readonly kind: 'kubo' | 'embedded';
  /** Stores a stream; throws what `limit` throws when the stream exceeds it. */
  add(source: Readable, maxBytes: number, onTooLarge: () => Error): Promise<StoredContent>;
  /** Streams the content of a CID back (or the byte range given); gives up after timeoutMs. */
  cat(cid: string, timeoutMs: number, range?: ByteRange): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

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

/** The kubo-compatible CIDv1 of some bytes, computed without storing them. */
export async function computeCid(source: AsyncIterable<Uint8Array>): Promise<string> {
  let last: string | undefined;
  for await (const entry of importer([{ content: source }], discardBlockstore as never, importerOptions())) last = entry.cid.toString();
  if (!last) throw new Error('no content');
  return last;
}

export class EmbeddedContentStore implements ContentStore {
  readonly kind = 'embedded' as const;
  private readonly store: FsBlockstore;
  private opened: Promise<void> | undefined;
  constructor(dir: string) {
    this.store = new FsBlockstore(dir);
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
  async *cat(cid: string, timeoutMs: number, range?: ByteRange): AsyncIterable<Uint8Array> {
    await this.open();
    const entry = await exporter(CID.parse(cid), this.store, { signal: AbortSignal.timeout(timeoutMs) });
    if (entry.type !== 'file' && entry.type !== 'raw') throw new Error(`${cid} is not a file`);
    yield* entry.content(range);
  }
  async close(): Promise<void> {
    if (this.opened) await this.store.close();
  }
}

export class KuboContentStore implements ContentStore {
  readonly kind = 'kubo' as const;
  private readonly client: KuboRPCClient;
  constructor(url: string) {
    this.client = createKubo({ url });
  }
  async add(source: Readable, maxBytes: number, onTooLarge: () => Error): Promise<StoredContent> {
    const m = meter(maxBytes, onTooLarge);
    source.on('error', (e) => m.destroy(e));
    source.pipe(m);
    const added = await this.client.add(m as AsyncIterable<Uint8Array>, {
      cidVersion: 1,
      rawLeaves: true,
      chunker: `size-${KUBO_CHUNK_BYTES}`,
      trickle: false,
      pin: true,
    });
    return { cid: added.cid.toString(), ...m.result() };
  }
  cat(cid: string, timeoutMs: number, range?: ByteRange): AsyncIterable<Uint8Array> {
    return this.client.cat(CID.parse(cid), { signal: AbortSignal.timeout(timeoutMs), ...range });
  }
  async close(): Promise<void> {}
}

export function createContentStore(opts: { apiUrl?: string | undefined; dir: string }): ContentStore {
  return opts.apiUrl ? new KuboContentStore(opts.apiUrl) : new EmbeddedContentStore(opts.dir);
}
