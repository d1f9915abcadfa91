/**
 * The OpenAPI 3.1 document, generated from the same route list that builds the Express router:
 * paths, parameters, bodies and responses come from the routes' zod schemas (z.toJSONSchema,
 * JSON Schema 2020-12 as OpenAPI 3.1 uses), error responses from the error codes.
 */
import { z } from 'zod';
import { ERROR_STATUS, type GatewayErrorCode } from './errors.js';
import type { RouteDef } from './http.js';
import { PENDING_LEASE_MS } from './idempotency.js';
import { errorBodySchema } from './routes/common.js';

type Json = Record<string, unknown>;

/** A zod discriminated union becomes `oneOf` with an OpenAPI `discriminator`, so generated clients pick the member by that field. */
const markDiscriminator = (ctx: { zodSchema: unknown; jsonSchema: Json }) => {
  const def = (ctx.zodSchema as { _zod: { def: { type: string; discriminator?: unknown } } })._zod.def;
  if (def.type === 'union' && typeof def.discriminator === 'string') ctx.jsonSchema.discriminator = { propertyName: def.discriminator };
};

function rewriteRefs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(rewriteRefs);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, k === '$ref' && typeof x === 'string' ? x.replace(/^#\/\$defs\//, '#/components/schemas/') : rewriteRefs(x)]),
    );
  }
  return v;
}

/**
 * The JSON Schema of a zod schema. Schemas named with `.meta({ id })` (the permit application's
 * members) go into `components.schemas` and are referenced from there.
 */
function schemaOf(s: z.ZodType, named?: Record<string, Json>): Json {
  const j = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12', override: markDiscriminator }) as Json;
  delete j.$schema;
  const defs = j.$defs as Record<string, Json> | undefined;
  delete j.$defs;
  if (!defs) return j;
  if (!named) throw new Error('a schema with named parts needs the components map');
  for (const [id, def] of Object.entries(defs)) named[id] = rewriteRefs(def) as Json;
  return rewriteRefs(j) as Json;
}

const IDEMPOTENCY_ERRORS: readonly GatewayErrorCode[] = ['IDEMPOTENCY_KEY_REQUIRED', 'IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_IN_PROGRESS', 'STORE_UNAVAILABLE'];

/** The `mapping` of each discriminator: value of the property → the member's component. */
function mapDiscriminators(named: Record<string, Json>): void {
  const discriminatorValue = (ref: string, prop: string): unknown => {
    const target = named[ref.replace('#/components/schemas/', '')];
    if (!target) return undefined;
    const own = (target.properties as Record<string, Json> | undefined)?.[prop]?.const;
    if (own !== undefined) return own;
    const first = (target.oneOf as Json[] | undefined)?.[0]?.$ref;
    return typeof first === 'string' ? discriminatorValue(first, prop) : undefined;
  };
  for (const schema of Object.values(named)) {
    const d = schema.discriminator as { propertyName: string; mapping?: Record<string, string> } | undefined;
    if (!d || !Array.isArray(schema.oneOf)) continue;
    const mapping: Record<string, string> = {};
    for (const m of schema.oneOf as Json[]) {
      const value = typeof m.$ref === 'string' ? discriminatorValue(m.$ref, d.propertyName) : undefined;
      if (typeof value === 'string') mapping[value] = m.$ref as string;
    }
    d.mapping = mapping;
  }
}

const IDEMPOTENCY_KEY_DOC =
  'unique per intended operation; a replay with the same request returns the first result (header `Idempotent-Replayed: true`) and writes nothing again. ' +
  'After a 503 that names `details.transactionId` (the transaction was submitted but its ' +
  'outcome was lost), retry with the same key: the gateway looks the transaction up on the ' +
  'ledger and answers what the first request would have (or 409 CONFLICT if it was invalid), ' +
  'and the operation is never written twice. ' +
  'The same holds when no answer came at all (connection cut, gateway restarted): the ' +
  'transaction id is stored with the key before the transaction is submitted, so a retry ' +
  'gets 409 IDEMPOTENCY_IN_PROGRESS while the first request may still be running ' +
  `(while it runs, and ${PENDING_LEASE_MS / 1000} s after its gateway stopped renewing the key; a retry of a request ` +
  'whose transaction is under way first waits a little for its outcome), ' +
  "then that transaction's outcome as above, or, if nothing was submitted, the retry runs as a new request.";
const LOST_COMMIT_STATUS_DOC =
  '. With `details.transactionId` (LEDGER_UNAVAILABLE): the transaction was submitted but ' +
  "its commit status (or the orderer's acknowledgement) did not arrive, so it may be on the " +
  'ledger; the key is kept in state `unknown`. ' +
  'Retry with the same Idempotency-Key after Retry-After: the answer is the committed ' +
  'result, a 409 CONFLICT if the transaction was invalid, or this 503 again while the peer ' +
  'does not have it. ' +
  'If it never reaches the ledger, the key is released after GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS and that retry is processed as a new request. ' +
  "With `details.refusingOrgs` (LEDGER_UNAVAILABLE): only the other org's peer refused, while this org's peer endorsed (it is " +
  'behind on blocks), at every one of GATEWAY_ENDORSE_ATTEMPTS endorsements; nothing was submitted and the key is released: ' +
  'retry with the same Idempotency-Key after Retry-After.';

const RATE_LIMITED_DOC =
  '. The per-user request limit, or the sign-in limits: after ' +
  'GATEWAY_AUTH_FAILURES_PER_WINDOW failed sign-ins from the client address or for the ' +
  'claimed subject, only credentials that signed in before (and, from such an address, valid ' +
  'JWTs) are checked; others get 429 until Retry-After. ' +
  'The client address is the TCP peer, or X-Forwarded-For only from proxies in GATEWAY_TRUSTED_PROXIES (none by default).';

const COMMON_AUTH_ERRORS: GatewayErrorCode[] = [
  'UNAUTHENTICATED',
  'IDENTITY_REVOKED',
  'FORBIDDEN',
  'IDENTITY_MISMATCH',
  'RATE_LIMITED',
  'IDENTITY_UNAVAILABLE',
  'LEDGER_UNAVAILABLE',
  'INTERNAL',
];

export function buildOpenApi(routes: readonly RouteDef[], opts: { version: string; serverUrl?: string | undefined }): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const named: Record<string, Json> = {};
  for (const r of routes) {
    const parameters: Json[] = [];
    for (const [where, obj] of [
      ['path', r.params],
      ['query', r.query],
      ['header', r.requestHeaders],
    ] as const) {
      if (!obj) continue;
      const js = schemaOf(obj);
      const props = (js.properties ?? {}) as Record<string, Json>;
      const required = new Set((js.required ?? []) as string[]);
      for (const [name, schema] of Object.entries(props)) {
        const { description, ...rest } = schema;
        parameters.push({ name, in: where, required: where === 'path' || required.has(name), schema: rest, ...(description ? { description } : {}) });
      }
    }
    const idempotent = r.method === 'post' && r.auth && !r.sideEffectFree && !r.selfIdempotent;
    if (idempotent) {
      parameters.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: true,
        description: IDEMPOTENCY_KEY_DOC,
        schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{8,128}$' },
      });
    }
    const op: Json = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: r.tags,
      ...(r.tx ? { 'x-ledger-transaction': r.tx } : {}),
      ...(r.access ? { 'x-roles': r.access } : {}),
      security: r.auth ? [{ bearerJwt: [] }, { apiKey: [] }, ...(r.tokenAuth ? [{ metricsToken: [] }] : [])] : [],
      parameters,
    };
    if (r.body)
      op.requestBody = {
        required: true,
        content: { 'application/json': { schema: schemaOf(r.body, named), ...(r.bodyExamples ? { examples: r.bodyExamples } : {}) } },
      };
    if (r.rawBody)
      op.requestBody = {
        required: true,
        description: r.rawBody.description,
        content: { [r.rawBody.contentType]: { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } },
      };
    if (r.multipart) {
      const fields = schemaOf(r.multipart.fields);
      const json = r.body ? (op.requestBody as { content: Json } | undefined)?.content : undefined;
      op.requestBody = {
        required: true,
        content: {
          ...(json ?? {}),
          'multipart/form-data': {
            schema: {
              type: 'object',
              properties: {
                ...((fields.properties ?? {}) as Json),
                [r.multipart.fileField]: { type: 'string', contentMediaType: 'application/octet-stream', description: r.multipart.fileDescription },
              },
              required: [...((fields.required ?? []) as string[]), ...(r.multipart.fileOptional ? [] : [r.multipart.fileField])],
            },
          },
        },
      };
    }
    const responses: Record<string, Json> = {};
    for (const res of r.responses) {
      const key = String(res.status);
      // 204 and HEAD answers carry no body: a documented media type would promise one (the fuzzer holds the document to it).
      if (res.status === 204 || r.method === 'head') {
        responses[key] = { description: res.description };
        continue;
      }
      responses[key] ??= { description: res.description, content: {} };
      const entry = responses[key];
      (entry.content as Json)[res.contentType ?? 'application/json'] = res.schema
        ? { schema: schemaOf(res.schema, named), ...(res.example !== undefined ? { example: res.example } : {}) }
        : { schema: { type: 'string' } };
    }
    const codes = new Set<GatewayErrorCode>([...(r.auth ? COMMON_AUTH_ERRORS : ['INTERNAL' as const]), ...(r.errors ?? [])]);
    if (r.params || r.query || r.requestHeaders || r.body || r.multipart) codes.add('VALIDATION_FAILED');
    if (idempotent) for (const c of IDEMPOTENCY_ERRORS) codes.add(c);
    const byStatus = new Map<number, GatewayErrorCode[]>();
    for (const c of codes) byStatus.set(ERROR_STATUS[c], [...(byStatus.get(ERROR_STATUS[c]) ?? []), c]);
    for (const [status, cs] of [...byStatus].sort((a, b) => a[0] - b[0])) {
      responses[String(status)] = {
        description: `error: ${cs.join(', ')}${status === 503 && idempotent ? LOST_COMMIT_STATUS_DOC : ''}${status === 429 ? RATE_LIMITED_DOC : ''}`,
        ...(status === 503 || status === 429 ? { headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds to wait' } } } : {}),
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' }, 'x-error-codes': cs } },
      };
    }
    op.responses = responses;
    paths[r.path] ??= {};
    paths[r.path]![r.method] = op;
  }
  mapDiscriminators(named);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Compliance ledger gateway',
      version: opts.version,
      description:
        'REST API of the compliance ledger for high-risk special operations (GB 30871). Enterprise ' +
        "writes are chaincode transactions submitted as the caller's own Fabric identity; " +
        "regulator reads come from the indexer's PostgreSQL; auditor reads come from the peer " +
        '(qscc) and IPFS. Every error has a stable `code`. A method not declared here on a ' +
        'known path gets 405 `METHOD_NOT_ALLOWED` with an `Allow` header.',
    },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      securitySchemes: {
        bearerJwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'claims: sub, org (enterprise|regulator), role, department?, workerId?',
        },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'GATEWAY_METRICS_TOKEN, for Prometheus scrapers (only /metrics)' },
      },
      schemas: { ...named, Error: schemaOf(errorBodySchema), ErrorCodes: { type: 'string', enum: Object.keys(ERROR_STATUS) } },
    },
  };
}
