/**
 * A tus 1.0 client for the tests, over node:http so that a PATCH can stream a large body with
 * backpressure and be cut off mid-way like a dropped connection. Also the test media: bytes whose
 * head is a real signature (an MP4 `ftyp` box, a PE executable's `MZ`), followed by a
 * deterministic AES-CTR stream that any offset can be regenerated from.
 */
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { Readable } from 'node:stream';

export const TUS = { 'tus-resumable': '1.0.0' } as const;

/** An ISO-BMFF `ftyp` box with the isom brand: what file-type reads as video/mp4. */
export const MP4_HEAD = Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex');
/** A JPEG's start of image and JFIF marker. */
export const JPEG_HEAD = Buffer.from('ffd8ffe000104a46494600', 'hex');
/** The DOS header every Windows executable starts with. */
export const EXE_HEAD = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(62)]);

const BLOCK = 1024 * 1024;
function block(seed: string, index: number): Buffer {
  const key = crypto.createHash('sha256').update(seed).digest().subarray(0, 16);
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(index, 12);
  return crypto.createCipheriv('aes-128-ctr', key, iv).update(Buffer.alloc(BLOCK));
}

/** Bytes from..size of a file of `size` bytes that starts with `head` and goes on pseudo-randomly. */
export function mediaStream(seed: string, head: Buffer, size: number, from = 0): Readable {
  return Readable.from(
    (function* () {
      for (let at = from; at < size; ) {
        const index = Math.floor(at / BLOCK);
        let b = block(seed, index);
        if (index === 0) b = Buffer.concat([head, b.subarray(head.length)]);
        const start = at - index * BLOCK;
        const end = Math.min(BLOCK, size - index * BLOCK);
        yield b.subarray(start, end);
        at = index * BLOCK + end;
      }
    })(),
  );
}

export function mediaBytes(seed: string, head: Buffer, size: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i * BLOCK < size; i++) parts.push(i === 0 ? Buffer.concat([head, block(seed, 0).subarray(head.length)]) : block(seed, i));
  return Buffer.concat(parts).subarray(0, size);
}

export function uploadMetadata(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

/** tus creation: POST /v1/uploads. */
export async function createUpload(base: string, auth: string, length: number, metadata: string): Promise<{ status: number; location: string; text: string }> {
  const res = await fetch(`${base}/v1/uploads`, {
    method: 'POST',
    headers: { ...TUS, authorization: auth, 'upload-length': String(length), 'upload-metadata': metadata },
  });
  return { status: res.status, location: res.headers.get('location') ?? '', text: await res.text() };
}

export interface PatchOutcome {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * PATCHes `body` at `offset`. With `cutAfter`, destroys the connection once that many bytes were
 * written (the interrupted transfer), and resolves with status 0.
 */
export function patch(base: string, location: string, auth: string, offset: number, body: Readable, cutAfter?: number): Promise<PatchOutcome> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(location, base), {
      method: 'PATCH',
      headers: { ...TUS, authorization: auth, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) },
    });
    let settled = false;
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
      });
    });
    req.on('error', (e) => {
      if (settled) return;
      settled = true;
      if (cutAfter !== undefined) resolve({ status: 0, headers: {}, body: '' });
      else reject(e);
    });
    let sent = 0;
    body.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (!req.write(chunk)) {
        body.pause();
        req.once('drain', () => body.resume());
      }
      if (cutAfter !== undefined && sent >= cutAfter) {
        body.destroy();
        req.destroy();
      }
    });
    body.on('end', () => req.end());
  });
}
