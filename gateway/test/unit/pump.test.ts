/**
 * A pumped download (RouteResult.pump): each write resolves only once the socket took the chunk,
 * so the content store may refill the same buffer for the next one; a client that goes away ends
 * the pump instead of leaving it writing into nothing.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { pumpTo } from '../../src/http.js';

const CHUNK = 256 * 1024;

/** A server whose one response is the given pump; resolves with its URL and the pump's outcome. */
async function serve(pump: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>) {
  let outcome!: Promise<Error | undefined>;
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/octet-stream');
    outcome = pumpTo(res, pump).then(
      () => undefined,
      (e: Error) => e,
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, outcome: () => outcome, close: () => server.close() };
}

describe('gateway: pumped downloads (http pumpTo)', () => {
  it('delivers every chunk intact although the pump refills one buffer after each write', async () => {
    const chunks = 64;
    const buffer = Buffer.alloc(CHUNK);
    const s = await serve(async (write) => {
      for (let i = 0; i < chunks; i++) {
        buffer.fill(i); // had the write resolved before the socket took the bytes, earlier chunks would read as later ones
        await write(buffer);
      }
    });
    try {
      const res = await fetch(s.url);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.length).to.equal(chunks * CHUNK);
      for (let i = 0; i < chunks; i++) {
        const part = body.subarray(i * CHUNK, (i + 1) * CHUNK);
        expect(
          part.every((b) => b === i),
          `chunk ${i}`,
        ).to.equal(true);
      }
      expect(await s.outcome()).to.equal(undefined);
    } finally {
      s.close();
    }
  });

  it('ends the pump with an error when the client goes away mid-transfer', async () => {
    let written = 0;
    const s = await serve(async (write) => {
      const buffer = Buffer.alloc(CHUNK, 7);
      // Far more than socket buffers hold: without the client's reads the writes must stall, then fail.
      for (let i = 0; i < 4096; i++) {
        await write(buffer);
        written++;
      }
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const req = http.get(s.url, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (e) => (e.message.includes('socket hang up') ? resolve() : reject(e)));
      });
      const err = await s.outcome();
      expect(err, 'the pump was ended').to.be.instanceOf(Error);
      expect(written).to.be.lessThan(4096);
    } finally {
      s.close();
    }
  });
});
