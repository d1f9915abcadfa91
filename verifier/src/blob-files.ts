/**
 * A bundle or an archive held as a Blob, as a browser downloads it: its files read by slices, the
 * counterpart of the CLI's tar on disk (node-files.ts). A browser keeps a large Blob on disk, so a
 * bundle with a month's video is checked without its evidence ever being copied into the page's
 * memory whole: headers, manifests and blocks are read (the checks parse them), each evidence file
 * is streamed and hashed in pieces when checked, and may be shown from its slice afterwards.
 */
import { type FileContent, isEvidenceFile, type LargeFile } from './content.js';
import { Sha256 } from './sha256.js';
import { indexTar } from './tar.js';

/** What is read of a Blob (the browser's, or Node's): slices, read whole or as a stream. */
export interface BlobSource {
  readonly size: number;
  slice(start?: number, end?: number, contentType?: string): BlobSource;
  arrayBuffer(): Promise<ArrayBuffer>;
  stream(): ReadableStream<Uint8Array>;
}

/** The slice type of a Blob type: a browser's Blob slices to a Blob, which a page can show. */
export type SliceOf<B extends BlobSource> = ReturnType<B['slice']>;

/** An evidence file inside the Blob: streamed each time it is read, never held. */
export class BlobFile<B extends BlobSource = BlobSource> implements LargeFile {
  constructor(
    /** The file's own slice of the Blob (a page may show it, e.g. with URL.createObjectURL). */
    readonly blob: B,
  ) {}

  get size(): number {
    return this.blob.size;
  }

  createSha256(): Sha256 {
    return new Sha256();
  }

  async *read(): AsyncIterable<Uint8Array> {
    const reader = this.blob.stream().getReader();
    let ended = false;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          ended = true;
          return;
        }
        yield value;
      }
    } finally {
      // A check that stops early (a failed file) leaves nothing still being read.
      if (!ended) await reader.cancel().catch(() => undefined);
      reader.releaseLock();
    }
  }
}

/** A tar held as a Blob as its files by path: the same entries and refusals as `readTar`, evidence left in the Blob. */
export async function openTarBlob<B extends BlobSource>(blob: B): Promise<Map<string, Uint8Array | BlobFile<SliceOf<B>>>> {
  const bytesOf = async (part: BlobSource) => new Uint8Array(await part.arrayBuffer());
  const files = new Map<string, Uint8Array | BlobFile<SliceOf<B>>>();
  for (const entry of await indexTar(blob.size, (offset, size) => bytesOf(blob.slice(offset, offset + size)))) {
    const part = blob.slice(entry.start, entry.start + entry.size) as SliceOf<B>;
    files.set(entry.path, isEvidenceFile(entry.path) ? new BlobFile(part) : await bytesOf(part));
  }
  return files;
}

/** Whether a file of a bundle was left in its Blob (evidence), rather than read into memory. */
export const isBlobFile = (content: FileContent | undefined): content is BlobFile => content instanceof BlobFile;
