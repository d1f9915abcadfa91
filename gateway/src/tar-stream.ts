/**
 * A download's tar written file by file, never assembled: files in memory (manifests, blocks) and
 * spooled evidence read from disk as it is sent. Its length is known before the first byte, so the
 * response announces it.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { tarEnd, tarHeader, tarPadding } from '@compliance-ledger/verifier';
import type { SpooledEvidence } from './evidence-spool.js';

export type TarFile = { path: string; bytes: Uint8Array } | { path: string; spooled: SpooledEvidence };

export interface StreamedTar {
  /** The tar's length in bytes. */
  sizeBytes: number;
  /** The tar, file by file; `discard` runs once it is read to the end or abandoned. */
  chunks(): AsyncGenerator<Uint8Array>;
  /** Releases what the tar would have read from disk (its spooled evidence): for a tar that will not be read. */
  discard(): Promise<void>;
  /** The tar as a response body: its spool is released when the stream ends or closes, whoever closed it. */
  readable(): Readable;
}

const sizeOf = (f: TarFile) => ('bytes' in f ? f.bytes.length : f.spooled.sizeBytes);
const stored = (size: number) => 512 + size + tarPadding(size).length;

export function streamedTar(files: readonly TarFile[], discard: () => Promise<void>): StreamedTar {
  const tar: StreamedTar = {
    discard,
    readable() {
      const stream = Readable.from(tar.chunks());
      // The generator's finally releases the spool when the stream ends or is destroyed mid-file; a client gone before
      // the first chunk was pulled leaves a generator that never started, and so no finally: the stream's close covers it.
      stream.once('close', () => void discard().catch(() => undefined));
      return stream;
    },
    sizeBytes: files.reduce((sum, f) => sum + stored(sizeOf(f)), 0) + tarEnd().length,
    async *chunks() {
      try {
        for (const f of files) {
          yield tarHeader(f.path, sizeOf(f));
          if ('bytes' in f) yield f.bytes;
          else {
            let sent = 0;
            for await (const chunk of createReadStream(f.spooled.file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
              sent += chunk.length;
              yield chunk;
            }
            // The manifest already promised this size: a spooled file that changed underneath cannot be sent.
            if (sent !== f.spooled.sizeBytes) throw new Error(`spooled evidence ${f.path} changed on disk (${sent} bytes, ${f.spooled.sizeBytes} spooled)`);
          }
          yield tarPadding(sizeOf(f));
        }
        yield tarEnd();
      } finally {
        await discard();
      }
    },
  };
  return tar;
}
