/**
 * The declared media type of evidence is checked against the file's first bytes (magic numbers,
 * with the `file-type` package), so a renamed executable declared as video/mp4 never reaches the
 * content store or the ledger. Only the head of a stream is held, never the file.
 */
import { Readable } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import { ApiError } from './errors.js';

/** Enough for every signature file-type knows of the accepted types (its own recommended sample). */
export const SNIFF_BYTES = 4100;

/**
 * Declared types whose bytes carry no signature: they are accepted only when the bytes look like
 * none of the formats file-type knows (a text file that is really a PE executable is refused).
 */
const WITHOUT_SIGNATURE = new Set(['text/plain']);

/** Throws CONTENT_TYPE_MISMATCH unless the head of the bytes is what `declared` says. */
export async function checkMediaType(head: Uint8Array, declared: string): Promise<void> {
  const found = await fileTypeFromBuffer(head);
  if (WITHOUT_SIGNATURE.has(declared)) {
    if (found) throw mismatch(declared, found.mime);
    return;
  }
  if (found?.mime !== declared) throw mismatch(declared, found?.mime);
}

function mismatch(declared: string, found: string | undefined): ApiError {
  const what = found ? `the bytes are ${found}` : 'the bytes carry no signature of it';
  return new ApiError('CONTENT_TYPE_MISMATCH', `the file is declared as ${declared} but ${what}; upload the file as its real type or upload the right file`, {
    declared,
    detected: found ?? null,
  });
}

/**
 * Reads the head of a stream, checks it, and gives back a stream of all the bytes (the head, then
 * the rest as it arrives), so the content store still sees one unbroken stream.
 */
export async function checkedStream(source: Readable, declared: string): Promise<Readable> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let headBytes = 0;
  let done = false;
  while (headBytes < SNIFF_BYTES) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    head.push(next.value);
    headBytes += next.value.length;
  }
  const headBuffer = Buffer.concat(head);
  await checkMediaType(headBuffer.subarray(0, SNIFF_BYTES), declared);
  return Readable.from(
    (async function* () {
      yield headBuffer;
      if (done) return;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    })(),
    { objectMode: false },
  );
}
