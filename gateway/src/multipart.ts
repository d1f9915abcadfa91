/**
 * Reading one multipart/form-data body (evidence uploads, certificate images) with busboy. Each
 * route says what its parts mean; this settles the request exactly once. On failure it stops
 * reading, discards what the client is still sending and closes the connection afterwards, so a
 * refused upload neither ties up the socket nor is half stored.
 */
import busboy from 'busboy';
import { ApiError, ValidationError } from './errors.js';
import type { RouteContext } from './http.js';

export interface Upload<T> {
  /** Refuses the request (once; later outcomes are ignored). */
  fail(e: unknown): void;
  /** Accepts it (once). */
  succeed(value: T): void;
  readonly settled: boolean;
}

export function readMultipart<T>(
  ctx: Pick<RouteContext, 'req' | 'res'>,
  limits: busboy.Limits,
  expected: string,
  read: (bb: busboy.Busboy, upload: Upload<T>) => void,
): Promise<T> {
  const { req } = ctx;
  if (!req.is('multipart/form-data')) throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `send multipart/form-data with ${expected}`);
  return new Promise<T>((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits });
    } catch (e) {
      // A multipart Content-Type without a usable boundary, say.
      reject(new ValidationError([{ path: 'form', message: (e as Error).message }]));
      return;
    }
    let settled = false;
    const upload: Upload<T> = {
      fail(e) {
        if (settled) return;
        settled = true;
        req.unpipe(bb);
        req.resume();
        ctx.res.setHeader('Connection', 'close');
        reject(e);
      },
      succeed(value) {
        if (settled) return;
        settled = true;
        resolve(value);
      },
      get settled() {
        return settled;
      },
    };
    bb.on('error', (e) => upload.fail(new ValidationError([{ path: 'form', message: `malformed multipart body: ${(e as Error).message}` }])));
    read(bb, upload);
    req.pipe(bb);
  });
}
