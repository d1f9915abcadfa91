import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { PAYLOAD_PROFILES, PUSH_EVENT_TYPES, type Subscription } from './events.js';
import type { Outbox } from './outbox.js';
import type { PushSigner } from './signing.js';

export const subscriptionInput = z
  .object({
    url: z.url({ protocol: /^https?$/ }).describe('Where each delivery is POSTed'),
    eventTypes: z.array(z.enum(PUSH_EVENT_TYPES)).min(1),
    alarmGradeAtLeast: z
      .union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)])
      .nullable()
      .default(null),
    enterpriseIds: z.array(z.string().min(1)).default([]),
    siteIds: z.array(z.string().min(1)).default([]),
    profile: z.enum(PAYLOAD_PROFILES).default('ledger'),
  })
  .strict();

export const replayInput = z
  .object({
    fromBlock: z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]),
    subscriptionIds: z.array(z.string().min(1)).min(1).nullable().default(null),
  })
  .strict();

export interface PushApiDeps {
  outbox: Outbox;
  signer: PushSigner;
  token: string;
  /** The block new subscriptions start at: the follower's position. */
  currentBlock(): string;
  replayRequested(): void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 64 * 1024) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', 'the body is larger than 64 KiB');
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'VALIDATION_FAILED', 'the body is not valid JSON; send a JSON object');
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new HttpError(400, 'VALIDATION_FAILED', `fix the body: ${r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

function authorized(req: IncomingMessage, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/**
 * The regulator's routes. Returns false when the path is not one of them. Everything but the
 * public key needs `Authorization: Bearer <REPORTER_PUSH_API_TOKEN>`.
 */
export async function handlePushApi(req: IncomingMessage, res: ServerResponse, deps: PushApiDeps): Promise<boolean> {
  const path = (req.url ?? '/').split('?')[0]!;
  if (!path.startsWith('/v1/')) return false;
  try {
    if (req.method === 'GET' && path === '/v1/public-key') {
      send(res, 200, { keyId: deps.signer.keyId, algorithm: 'Ed25519', pem: deps.signer.publicKeyPem, jwk: deps.signer.publicKeyJwk });
      return true;
    }
    if (!authorized(req, deps.token)) throw new HttpError(401, 'UNAUTHENTICATED', 'send Authorization: Bearer <the reporter API token>');
    const { outbox } = deps;
    const one = /^\/v1\/subscriptions\/([^/]+)$/.exec(path);
    if (req.method === 'POST' && path === '/v1/subscriptions') {
      const input = parse(subscriptionInput, await jsonBody(req));
      const s: Subscription = { id: randomUUID(), ...input, fromBlock: deps.currentBlock(), createdAt: new Date().toISOString() };
      outbox.subscribe(s);
      send(res, 201, s);
    } else if (req.method === 'GET' && path === '/v1/subscriptions') {
      send(res, 200, { subscriptions: [...outbox.subscriptions.values()] });
    } else if (one && req.method === 'GET') {
      const s = outbox.subscriptions.get(one[1]!);
      if (!s) throw new HttpError(404, 'NOT_FOUND', `no subscription ${one[1]}; GET /v1/subscriptions lists them`);
      send(res, 200, s);
    } else if (one && req.method === 'DELETE') {
      if (!outbox.subscriptions.has(one[1]!)) throw new HttpError(404, 'NOT_FOUND', `no subscription ${one[1]}; GET /v1/subscriptions lists them`);
      outbox.unsubscribe(one[1]!);
      res.writeHead(204).end();
    } else if (req.method === 'GET' && path === '/v1/dead-letters') {
      const sub = new URL(req.url ?? '/', 'http://x').searchParams.get('subscriptionId');
      const letters = [...outbox.dead.values()].filter((d) => sub === null || d.subscriptionId === sub).sort((a, b) => a.seq - b.seq);
      send(res, 200, {
        deadLetters: letters.map((d) => ({
          deliveryId: d.id,
          subscriptionId: d.subscriptionId,
          blockNumber: d.blockNumber,
          txId: d.txId,
          attempts: d.attempts + 1,
          lastError: d.lastError,
          deadAt: d.deadAt,
          body: JSON.parse(d.body) as unknown,
        })),
      });
    } else if (req.method === 'POST' && path === '/v1/replays') {
      const input = parse(replayInput, await jsonBody(req));
      for (const id of input.subscriptionIds ?? []) {
        if (!outbox.subscriptions.has(id)) throw new HttpError(404, 'NOT_FOUND', `no subscription ${id}; GET /v1/subscriptions lists them`);
      }
      if (BigInt(input.fromBlock) > BigInt(deps.currentBlock())) {
        throw new HttpError(
          400,
          'VALIDATION_FAILED',
          `fromBlock ${input.fromBlock} is ahead of the follower (block ${deps.currentBlock()}); a replay goes back, pick a block at or below it`,
        );
      }
      const generation = outbox.startReplay(BigInt(input.fromBlock), input.subscriptionIds);
      deps.replayRequested();
      send(res, 202, { generation, fromBlock: String(input.fromBlock), subscriptionIds: input.subscriptionIds });
    } else {
      throw new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${path}; see the reporter README`);
    }
  } catch (e) {
    if (e instanceof HttpError) send(res, e.status, { code: e.code, message: e.message });
    else send(res, 500, { code: 'INTERNAL', message: String(e) });
  }
  return true;
}
