/**
 * Routes are declared as data (method, path, access, zod schemas of params/query/body, responses,
 * handler); the Express router and the OpenAPI document are both built from the same list, so the
 * two cannot disagree (a test walks the mounted router and compares it with the document).
 * This module also holds the request pipeline every declared route goes through, in stages (see
 * `handle`): authenticate (with the sign-in limits and the per-user rate limit), authorize (the
 * gateway's own role check), validate (400 with field errors), the idempotency wrapper around the
 * handler (POSTs), and error rendering.
 */
import * as crypto from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { canonicalJson, type Role, unstorableText } from '@compliance-ledger/schema';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { type Authenticator, type Org, type Principal, presentedCredential, requireRole } from './auth.js';
import {
  ApiError,
  ChaincodeError,
  ConflictError,
  type GatewayErrorCode,
  type InputPart,
  OrgNotServedError,
  RateLimitedError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
} from './errors.js';
import type { IdempotencyStore } from './idempotency.js';
import { type LedgerClient, txResultBody } from './ledger.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { KnownCredentials, RateLimiter } from './rate-limit.js';
import type { Wallet, WalletIdentity } from './wallet.js';

export type Access = Partial<Record<Org, readonly Role[] | 'any'>>;

export interface RouteContext<P = Record<string, string>, Q = Record<string, unknown>, B = unknown> {
  req: Request;
  res: Response;
  principal: Principal;
  params: P;
  query: Q;
  body: B;
  requestId: string;
  log: Logger;
  /** The caller's own Fabric identity (enrolled on first use). */
  identity(): Promise<WalletIdentity>;
  /**
   * For a request under an Idempotency-Key: records the transaction on the key before it is handed
   * to the orderer (pass it to LedgerClient.submit); throws, and nothing may be submitted, when that
   * is not possible. At most one transaction per request.
   */
  beforeSubmit?: (transactionId: string) => Promise<void>;
}

export interface RouteResult {
  status?: number;
  body: unknown;
  /** Default application/json. */
  contentType?: string;
  headers?: Record<string, string>;
  /** A streamed body (a download) instead of `body`. */
  stream?: Readable;
  /**
   * A body written chunk by chunk instead of `body`: `pump` calls `write` for each chunk and awaits
   * it; it resolves once the chunk is handed to the socket, after which the chunk's memory may be
   * reused (ContentStore.pump). A failure before the end cuts the connection, as for `stream`.
   */
  pump?: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>;
  /** The handler answers on `ctx.res` itself (a server-sent event stream): nothing more to send. */
  streamed?: boolean;
}

export interface ResponseDoc {
  status: number;
  description: string;
  schema?: z.ZodType;
  contentType?: string;
  /** Shown in the OpenAPI document. */
  example?: unknown;
}

export interface RouteDef {
  method: 'get' | 'post' | 'head' | 'patch' | 'delete' | 'options';
  /** OpenAPI-style path: /v1/permits/{permitNo} */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** false: health and docs only. */
  auth: boolean;
  access?: Access;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Named request examples for the OpenAPI document; a unit test parses each with `body`. */
  bodyExamples?: Record<string, { summary: string; value: unknown }>;
  /** Request headers the route reads (lower-case names), validated and documented like the query. */
  requestHeaders?: z.ZodObject;
  /** A raw body the handler streams itself (a tus PATCH): its media type, for the document. */
  rawBody?: { contentType: string; description: string };
  /**
   * multipart/form-data: the handler streams it; fields and file are documented here. With `body`
   * as well, the route takes either: JSON validated by `body`, or this form (a gate check with its photo).
   */
  multipart?: { fields: z.ZodObject; fileField: string; fileDescription: string; fileOptional?: boolean };
  responses: ResponseDoc[];
  /** Error codes this route may answer with, beyond the common ones. */
  errors?: GatewayErrorCode[];
  /** Alternative credential for machines (the /metrics scrape token): true lets the request through without a principal. */
  tokenAuth?: (req: Request) => boolean;
  /** A POST that writes nothing anywhere (OCR): no Idempotency-Key needed, nothing stored. */
  sideEffectFree?: boolean;
  /** A POST that writes, but whose request fixes what it writes (a client-signed transaction): no Idempotency-Key needed. */
  selfIdempotent?: boolean;
  /** Chaincode transaction written (documentation and metrics). */
  tx?: string;
  handler(ctx: RouteContext): Promise<RouteResult>;
}

/**
 * Authenticates under the sign-in limits. Failed credentials are counted per client address
 * (`req.ip`: the socket's peer, or X-Forwarded-For only from GATEWAY_TRUSTED_PROXIES) and per
 * subject they claim. Past either limit:
 * - a credential that authenticated before (KnownCredentials) passes, checked as always;
 * - an API key (the credential one can guess by trial) from a blocked address, and any credential
 *   for a blocked subject, gets 429 without being checked, so trying gives away nothing;
 * - a JWT from a blocked address is checked, since its signature cannot be guessed online (the
 *   HS256 secret has at least 32 characters; RS256/ES256 need the private key): a valid one passes,
 *   a failing one gets 429 instead of 401.
 * Requests without credentials are not guesses and are neither counted nor blocked.
 */
async function signIn(p: Pipeline, req: Request): Promise<Principal> {
  const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
  const presented = presentedCredential(req.headers as never);
  const known = presented !== undefined && p.knownCredentials.has(presented.fingerprint);
  const addressWait = p.authFailureLimiter.retryAfterSeconds(address);
  const subjectWait = presented ? p.subjectFailureLimiter.retryAfterSeconds(presented.subject) : undefined;
  if (presented && !known) {
    if (subjectWait !== undefined) throw new RateLimitedError(subjectWait);
    if (addressWait !== undefined && presented.kind === 'api_key') throw new RateLimitedError(addressWait);
  }
  try {
    const principal = await p.auth.authenticate(req.headers as never);
    if (presented) p.knownCredentials.remember(presented.fingerprint, principal.expiresAtMs);
    return principal;
  } catch (e) {
    if (!(e instanceof UnauthenticatedError && e.credentialsPresented) || !presented) throw e;
    p.authFailureLimiter.charge(address);
    p.subjectFailureLimiter.charge(presented.subject);
    if (addressWait !== undefined) throw new RateLimitedError(addressWait);
    throw e;
  }
}

export interface Pipeline {
  auth: Authenticator;
  /** The orgs this gateway serves (GATEWAY_ORG); tokens of any other org are refused. */
  orgs: readonly Org[];
  wallet: Wallet;
  idempotency: IdempotencyStore | undefined;
  /** Looks up the outcome of a write whose commit status was lost. */
  ledger: Pick<LedgerClient, 'committed'>;
  rateLimiter: RateLimiter;
  /** Failed authentications per client address. */
  authFailureLimiter: RateLimiter;
  /** Failed authentications per claimed subject (a JWT's `sub`, an API key's fingerprint). */
  subjectFailureLimiter: RateLimiter;
  /** Credentials that authenticated successfully: they pass a blocked address or subject. */
  knownCredentials: KnownCredentials;
  metrics: Metrics;
  logger: Logger;
  retryAfterSeconds: number;
}

export const expressPath = (p: string): string => p.replace(/\{(\w+)\}/g, ':$1');

const idempotencyKeySchema = z.string().regex(/^[A-Za-z0-9._:-]{8,128}$/, 'Idempotency-Key must be 8-128 characters of A-Z a-z 0-9 . _ : -');

/**
 * Whether the request's body is the route's multipart form, which its handler streams, rather than
 * JSON: always for a multipart-only route, by the Content-Type for a route that takes either.
 */
function sendsMultipart(def: RouteDef, req: Request): boolean {
  return def.multipart !== undefined && (def.body === undefined || typeof req.is('multipart/form-data') === 'string');
}

/** What makes two requests "the same" for an Idempotency-Key: method, path and canonical JSON body (a multipart body: its length). */
export function requestFingerprint(method: string, path: string, payload: { json: unknown } | { multipartLength: string }): string {
  // A request without a body fingerprints like a JSON null body.
  const content = 'json' in payload ? canonicalJson(payload.json ?? null) : `multipart:${payload.multipartLength}`;
  return crypto.createHash('sha256').update(`${method} ${path}\n${content}`).digest('hex');
}

export function sendError(res: Response, err: ApiError, requestId: string): void {
  if (err instanceof UnavailableError || err instanceof RateLimitedError) res.setHeader('Retry-After', String(err.retryAfterSeconds));
  res
    .status(err.status)
    .type('application/json')
    .send(JSON.stringify(err.toJSON(requestId)));
}

/**
 * Runs a pump into the response, each write awaited until the socket took it (so the pump may reuse
 * the chunk's memory); a client gone rejects the pending write and so ends the pump.
 */
export async function pumpTo(res: ServerResponse, pump: NonNullable<RouteResult['pump']>): Promise<void> {
  let gone: (e: Error) => void = () => undefined;
  const closed = new Promise<never>((_, reject) => {
    gone = reject;
  });
  closed.catch(() => undefined);
  const onClose = () => gone(new Error('the client closed the connection'));
  res.once('close', onClose);
  try {
    await pump((chunk) => Promise.race([new Promise<void>((ok, fail) => res.write(chunk, (e) => (e ? fail(e) : ok()))), closed]));
    await new Promise<void>((ok) => res.end(ok));
  } finally {
    res.off('close', onClose);
  }
}

async function send(res: Response, r: RouteResult, replayed = false): Promise<void> {
  const status = r.status ?? 200;
  for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v);
  if (replayed) res.setHeader('Idempotent-Replayed', 'true');
  if (r.stream) {
    res.status(status);
    if (r.contentType) res.type(r.contentType);
    // Once bytes went out no error body can follow: a failure mid-stream cuts the connection, so
    // the client sees a short body rather than a complete-looking one.
    await pipeline(r.stream, res).catch(() => res.destroy());
  } else if (r.pump) {
    res.status(status);
    if (r.contentType) res.type(r.contentType);
    await pumpTo(res, r.pump).catch(() => res.destroy());
  } else if (r.body === undefined) {
    res.status(status).end();
  } else if (r.contentType && r.contentType !== 'application/json') {
    res
      .status(status)
      .type(r.contentType)
      .send(r.body as string);
  } else {
    res.status(status).type('application/json').send(JSON.stringify(r.body));
  }
}

/** The status a route answers when its write committed: the one it declares. */
function successStatus(def: RouteDef): number {
  return def.responses.find((r) => r.status >= 200 && r.status < 300)?.status ?? 200;
}

function sendStored(res: Response, status: number, stored: { body: unknown; contentType?: string }): void {
  if (status >= 400) {
    res.setHeader('Idempotent-Replayed', 'true');
    res.status(status).type('application/json').send(JSON.stringify(stored.body));
  } else void send(res, { status, body: stored.body, ...(stored.contentType ? { contentType: stored.contentType } : {}) }, true);
}

/** This request's claim on its Idempotency-Key. */
interface KeyClaim {
  scope: string;
  key: string;
  /** Recorded on the key: about to be, or already, submitted. */
  transactionId?: string;
  /** The key turned out not to be this request's (recordTransaction refused): left untouched. */
  lost?: boolean;
}

interface KeyedRequest {
  res: Response;
  principal: Principal;
  scope: string;
  key: string;
  fingerprint: string;
  requestId: string;
}

/**
 * Claims the key; true when the request was answered from it (a stored result, or the outcome of a
 * lost commit status found on the ledger), false when the request is to run as new. Throws the
 * claim's refusals, and 503 while the outcome of an `unknown` key cannot be found.
 */
async function replayed(p: Pipeline, def: RouteDef, r: KeyedRequest): Promise<boolean> {
  const store = p.idempotency!;
  // A second round only when another replay changed an `unknown` key under this one.
  for (let round = 0; ; round++) {
    const claim = await store.claim(r.scope, r.key, r.fingerprint);
    if (claim.kind === 'new') return false;
    if (claim.kind === 'replay') {
      sendStored(r.res, claim.status, claim.body as { body: unknown; contentType?: string });
      return true;
    }
    const txId = claim.transactionId;
    let stored: { status: number; body: unknown };
    try {
      const found = await p.ledger.committed(await p.wallet.identityFor(r.principal), txId);
      if (!found) {
        if (claim.releasable && (await store.takeOver(r.scope, r.key, txId))) return false;
        if (claim.releasable && round === 0) continue;
        throw new UnavailableError(
          'LEDGER_UNAVAILABLE',
          `transaction ${txId} of the first request with this Idempotency-Key is not on the ledger yet; retry with the same key`,
          p.retryAfterSeconds,
          {
            transactionId: txId,
          },
        );
      }
      stored = { status: claim.status, body: txResultBody(found) };
      if (def.tx) p.metrics.ledgerTx.inc({ tx: def.tx });
    } catch (e) {
      if (!(e instanceof ConflictError && e.code === 'CONFLICT')) throw e;
      stored = { status: e.status, body: e.toJSON(r.requestId) };
    }
    if (await store.resolve(r.scope, r.key, txId, stored.status, { body: stored.body })) {
      sendStored(r.res, stored.status, stored);
      return true;
    }
    if (round > 0) throw new ConflictError('IDEMPOTENCY_IN_PROGRESS', 'another request with this Idempotency-Key is settling its outcome; retry later');
  }
}

/**
 * The request's beforeSubmit: a transaction goes to the orderer only once the key durably names it,
 * so a request lost after that point leaves a key that replays resolve from the ledger.
 */
function recordTransaction(p: Pipeline, def: RouteDef, idem: KeyClaim): (transactionId: string) => Promise<void> {
  return async (transactionId) => {
    if (!(await p.idempotency!.recordTransaction(idem.scope, idem.key, transactionId, successStatus(def)))) {
      // The claim already names a transaction, or another request took it over: the key is no
      // longer this request's to complete or free.
      idem.lost = true;
      throw new ConflictError('IDEMPOTENCY_IN_PROGRESS', 'another request with this Idempotency-Key owns its transaction; retry later');
    }
    idem.transactionId = transactionId;
  };
}

/**
 * One part of a request checked, the same way for every part and route (the multipart handlers
 * call it for their fields): first for text PostgreSQL cannot store (unstorableText), then against
 * the part's schema, if it has one. The data, or the 400 naming the field.
 */
export function checkInput<T>(schema: z.ZodType<T> | undefined, value: unknown, where: InputPart): { data: T } | { error: ValidationError } {
  const unstorable = unstorableText(value);
  if (unstorable) return { error: new ValidationError([{ path: [where, ...unstorable.path].join('.'), message: unstorable.problem }]) };
  if (!schema) return { data: value as T };
  const r = schema.safeParse(value);
  return r.success ? { data: r.data } : { error: ValidationError.fromZod(r.error, where) };
}

/** checkInput, throwing its 400. */
export function parseInput<T>(schema: z.ZodType<T> | undefined, value: unknown, where: InputPart): T {
  const checked = checkInput(schema, value, where);
  if ('error' in checked) throw checked.error;
  return checked.data;
}

/** Stage 1, authenticate: the caller's principal, or none for public routes and the scrape token. */
async function authenticate(p: Pipeline, def: RouteDef, req: Request, res: Response): Promise<Principal | undefined> {
  if (!def.auth || (def.tokenAuth?.(req) ?? false)) return undefined;
  const principal = await signIn(p, req);
  res.locals.principal = `${principal.org}/${principal.sub}`;
  // Before anything else is done for it: this process has nothing to act with for another org.
  if (!p.orgs.includes(principal.org)) throw new OrgNotServedError(principal.org, p.orgs);
  if (p.wallet.isRevoked(principal.org, principal.sub)) {
    throw new ApiError('IDENTITY_REVOKED', `${principal.org}/${principal.sub} was revoked; its org's admin registers the person under a new sub`);
  }
  p.rateLimiter.take(`${principal.org}/${principal.sub}`);
  return principal;
}

/** Stage 2, authorize: the gateway's own role check, mirroring the chaincode's access table. */
function authorize(def: RouteDef, principal: Principal | undefined): void {
  if (principal && def.access) requireRole(principal, def.access);
}

interface ValidInput {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}

/** Stage 3, validate: path, query and JSON body against the route's schemas (400 with field errors). */
function validate(def: RouteDef, req: Request): ValidInput {
  const params = parseInput(def.params, { ...req.params }, 'params') as Record<string, string>;
  const query = parseInput(def.query, { ...(req.query as object) }, 'query') as Record<string, unknown>;
  if (def.requestHeaders) {
    const named = Object.fromEntries(Object.keys(def.requestHeaders.shape).flatMap((h) => (req.headers[h] === undefined ? [] : [[h, req.headers[h]]])));
    parseInput(def.requestHeaders, named, 'headers');
  }
  let body: unknown;
  if (def.body && !sendsMultipart(def, req)) {
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && !req.is('application/json')) {
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `send the body as application/json${def.multipart ? ' or multipart/form-data' : ''}`);
    }
    body = parseInput(def.body, req.body ?? {}, 'body');
  }
  return { params, query, body };
}

interface Exchange {
  req: Request;
  res: Response;
  principal: Principal | undefined;
  body: unknown;
  requestId: string;
  log: Logger;
}

/** The request was answered from its Idempotency-Key: nothing more to send. */
const REPLAYED = Symbol('replayed');

/**
 * Stage 4, the idempotency wrapper around the handler: a POST that writes needs an Idempotency-Key;
 * a key seen before is answered from its record (or from the ledger when the first request lost its
 * commit status); a new one is claimed, the handler runs with a `beforeSubmit` that records its
 * transaction on the key, and the outcome settles the key.
 */
async function idempotent(
  p: Pipeline,
  def: RouteDef,
  x: Exchange,
  run: (beforeSubmit?: (transactionId: string) => Promise<void>) => Promise<RouteResult>,
): Promise<RouteResult | typeof REPLAYED> {
  if (def.method !== 'post' || !def.auth || def.sideEffectFree || def.selfIdempotent || !x.principal) return run();
  const keyHeader = x.req.headers['idempotency-key'];
  if (keyHeader === undefined)
    throw new ApiError('IDEMPOTENCY_KEY_REQUIRED', 'every POST needs an Idempotency-Key header (a unique value per intended operation)');
  const key = idempotencyKeySchema.safeParse(keyHeader);
  if (!key.success) throw new ValidationError([{ path: 'header.Idempotency-Key', message: key.error.issues[0]!.message }]);
  const store = p.idempotency;
  if (!store) throw new UnavailableError('STORE_UNAVAILABLE', 'no database is configured for idempotency keys (DATABASE_URL)', p.retryAfterSeconds);
  const fingerprint = requestFingerprint(
    def.method,
    x.req.path,
    sendsMultipart(def, x.req) ? { multipartLength: x.req.headers['content-length'] ?? '' } : { json: x.body },
  );
  const scope = `${x.principal.org}/${x.principal.sub}`;
  if (await replayed(p, def, { res: x.res, principal: x.principal, scope, key: key.data, fingerprint, requestId: x.requestId })) return REPLAYED;
  const idem: KeyClaim = { scope, key: key.data };
  store.hold(scope, key.data);
  try {
    let result: RouteResult;
    try {
      result = await run(recordTransaction(p, def, idem));
    } catch (e) {
      const err = toApiError(e, x.log);
      if (!idem.lost) await settleRefused(p, def, idem, err, x);
      throw err;
    }
    // The write happened: answer it at once, its result stored beside the answer, and even if that
    // fails. The key then stays pending with its transaction id (replays get
    // IDEMPOTENCY_IN_PROGRESS), and once its lease lapsed a replay finds the outcome on the ledger:
    // never released for a second transaction. The lease is held until the result is stored.
    void store
      .completeAfterAnswer(scope, key.data, result.status ?? 200, { body: result.body, contentType: result.contentType }, idem.transactionId, (e2) =>
        x.log.error({ err: e2, idempotencyKey: key.data }, 'could not store the result of an idempotent request'),
      )
      .finally(() => store.letGo(scope, key.data));
    return result;
  } catch (e) {
    // Whatever the store holds now, this request no longer runs: its lease lapses.
    store.letGo(scope, key.data);
    throw e;
  }
}

/** What a failed request leaves on its key. */
async function settleRefused(p: Pipeline, def: RouteDef, idem: KeyClaim, err: ApiError, x: Exchange): Promise<void> {
  const store = p.idempotency!;
  try {
    if (err instanceof ChaincodeError) {
      // A refusal by the chaincode is the deterministic answer to this request: kept, so a replay gets it too.
      await store.complete(idem.scope, idem.key, err.status, { body: err.toJSON(x.requestId) }, idem.transactionId);
    } else if (err instanceof UnavailableError && err.mayHaveCommitted && typeof err.details?.transactionId === 'string') {
      // Ordered but unconfirmed: neither released (a retry would write it twice) nor answered for
      // good (it was probably committed); a replay asks the ledger (see idempotency.ts).
      await store.markUnknown(idem.scope, idem.key, err.details.transactionId, successStatus(def));
    } else {
      // Anything else wrote nothing and may be retried with the same key.
      await store.release(idem.scope, idem.key, idem.transactionId);
    }
  } catch (e2) {
    x.log.warn({ err: e2 }, 'idempotency store update failed');
  }
}

/** Stage 6, errors: every failure as a coded ApiError body, chaincode refusals counted per transaction. */
function answerError(p: Pipeline, def: RouteDef, res: Response, e: unknown, requestId: string, log: Logger): void {
  const err = toApiError(e, log);
  if (err instanceof ChaincodeError && def.tx) p.metrics.ledgerRefusals.inc({ tx: def.tx, code: err.code });
  sendError(res, err, requestId);
}

/** One request through the stages: authenticate, authorize, validate, idempotency around the handler, errors. */
async function handle(p: Pipeline, def: RouteDef, req: Request, res: Response): Promise<void> {
  const requestId = (res.locals.requestId as string) ?? crypto.randomUUID();
  const log = (res.locals.log as Logger) ?? p.logger;
  res.locals.route = def.path;
  try {
    const principal = await authenticate(p, def, req, res);
    authorize(def, principal);
    const input = validate(def, req);
    const result = await idempotent(p, def, { req, res, principal, body: input.body, requestId, log }, (beforeSubmit) =>
      // Stage 5, the handler. Routes with auth always have a principal here; the scrape token's does not use one.
      def.handler({
        req,
        res,
        principal: principal!,
        ...input,
        requestId,
        log,
        identity: () => p.wallet.identityFor(principal!),
        ...(beforeSubmit ? { beforeSubmit } : {}),
      }),
    );
    if (result !== REPLAYED && !result.streamed) await send(res, result);
  } catch (e) {
    answerError(p, def, res, e, requestId, log);
  }
}

/**
 * The order of the Allow header; every method a route may declare is in it (a method missing here
 * would be refused on its own path). Express answers HEAD with a GET route's handler, so a path
 * that declares GET allows HEAD too.
 */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'] as const satisfies readonly Uppercase<RouteDef['method']>[];

/**
 * The methods the route table answers on each request path: a matcher per declared path template,
 * which matches as the router does (any segment for a `{param}`, case-insensitive, with or
 * without a trailing slash).
 */
export function declaredMethods(routes: readonly RouteDef[]): (requestPath: string) => { template: string; allow: string[] } | undefined {
  const byTemplate = new Map<string, Set<string>>();
  for (const def of routes) byTemplate.set(def.path, (byTemplate.get(def.path) ?? new Set()).add(def.method.toUpperCase()));
  const matchers = [...byTemplate].map(([template, methods]) => {
    const pattern = template
      .split(/\{\w+\}/)
      .map((literal) => literal.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
      .join('[^/]+');
    if (methods.has('GET')) methods.add('HEAD');
    return { template, methods, regex: new RegExp(`^${pattern}/?$`, 'i') };
  });
  return (requestPath) => {
    const matched = matchers.filter((m) => m.regex.test(requestPath));
    if (matched.length === 0) return undefined;
    const allowed = new Set(matched.flatMap((m) => [...m.methods]));
    return { template: matched[0]!.template, allow: METHOD_ORDER.filter((m) => allowed.has(m)) };
  };
}

/**
 * 405 METHOD_NOT_ALLOWED, with an Allow header, for a method the route table does not declare on a
 * path it does (PUT, DELETE, TRACE, OPTIONS, …), before the body is read: the document is the
 * contract, so a client learns the path exists but not with that method. Unknown paths pass on to
 * the 404 at the end.
 */
export function refuseUndeclaredMethods(routes: readonly RouteDef[]): (req: Request, res: Response, next: () => void) => void {
  const methodsOf = declaredMethods(routes);
  return (req, res, next) => {
    const declared = methodsOf(req.path);
    if (!declared || declared.allow.includes(req.method)) return next();
    res.locals.route = declared.template;
    res.setHeader('Allow', declared.allow.join(', '));
    const message = `${req.method} is not allowed on ${declared.template}; it answers ${declared.allow.join(', ')} (see /openapi.json)`;
    sendError(res, new ApiError('METHOD_NOT_ALLOWED', message, { allow: declared.allow }), res.locals.requestId as string);
  };
}

/** Mounts every declared route on the router; the same list builds the OpenAPI document. */
export function mountRoutes(router: Router, routes: readonly RouteDef[], p: Pipeline): void {
  for (const def of routes) router[def.method](expressPath(def.path), (req: Request, res: Response) => handle(p, def, req, res));
}

export function toApiError(e: unknown, log: Logger): ApiError {
  if (e instanceof ApiError) return e;
  const err = e as { type?: string; status?: number; message?: string; body?: unknown };
  if (err && err.type === 'entity.parse.failed') return new ValidationError([{ path: 'body', message: `not valid JSON: ${err.message}` }]);
  if (err && err.type === 'entity.too.large') return new ApiError('PAYLOAD_TOO_LARGE', 'the JSON body is too large');
  if (err && err.status === 415) return new ApiError('UNSUPPORTED_MEDIA_TYPE', err.message ?? 'unsupported media type');
  log.error({ err: e }, 'unhandled error');
  return new ApiError('INTERNAL', 'internal error; report the request id');
}
