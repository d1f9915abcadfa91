/**
 * For every endpoint in the OpenAPI document: unauthenticated → 401; missing, extra and
 * wrong-typed fields (body, query, path) → 4xx with its code; multipart without file, with a
 * refused media type or too large → 400/415/413; POST without Idempotency-Key → 400. And the
 * channel height is the same afterwards: none of it reached the ledger.
 */

import * as http from 'node:http';
import { LEDGER_TIME_RANGE, ROLES, type Role } from '@compliance-ledger/schema';
import { expect } from 'chai';
import type { RunningGateway } from '../../src/server.js';
import { Client, chainHeight, createDatabase, dropDatabase, type Reply, requireNetwork, startTestGateway, token } from '../support/env.js';

type Json = Record<string, any>;

/** One request with node:http, which (unlike fetch) sends any method, TRACE included. */
function rawRequest(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    // Content-Length given: node:http frames no body of a TRACE otherwise, and the server would read it as the next request.
    const framing = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = http.request(new URL(path, base), { method, headers: { ...headers, ...framing } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function wrongValue(schema: Json): unknown {
  const types = new Set<string>();
  const collect = (s: Json) => {
    if (typeof s.type === 'string') types.add(s.type);
    if (Array.isArray(s.type)) for (const t of s.type as string[]) types.add(t);
    if ('const' in s) types.add(typeof s.const);
    if (s.enum) for (const v of s.enum as unknown[]) types.add(typeof v);
    for (const sub of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])]) collect(sub);
  };
  collect(schema);
  types.delete('null');
  if (types.has('string')) return 12345;
  if (types.has('number') || types.has('integer')) return 'not-a-number';
  if (types.has('boolean')) return 'yes';
  if (types.has('array')) return 'not-an-array';
  if (types.has('object')) return 'not-an-object';
  return Symbol.for('skip');
}

const VALID_PATH_VALUES: Record<string, string> = {
  workerId: 'a'.repeat(64),
  txId: 'b'.repeat(64),
  transactionId: 'c'.repeat(64),
  operationType: 'hot_work',
  level: '2',
};

function resolvePath(p: string, bad?: string): string {
  return p.replace(/\{(\w+)\}/g, (_, name: string) => bad ?? VALID_PATH_VALUES[name] ?? 'NOPE-123');
}

/**
 * The object schemas a JSON body may take, each with the discriminator values that select it: a
 * plain object is one, a discriminated union (the permit application) one per member.
 */
function bodyMembers(schema: Json, components: Record<string, Json>, fixed: Json = {}): { schema: Json; fixed: Json }[] {
  const s = schema.$ref ? components[(schema.$ref as string).replace('#/components/schemas/', '')]! : schema;
  if (!Array.isArray(s.oneOf)) return [{ schema: s, fixed }];
  return s.oneOf.flatMap((m: Json) => {
    const member = m.$ref ? components[(m.$ref as string).replace('#/components/schemas/', '')]! : m;
    const prop = s.discriminator?.propertyName as string | undefined;
    const first = (x: Json): Json => (x.$ref ? first(components[(x.$ref as string).replace('#/components/schemas/', '')]!) : x.oneOf ? first(x.oneOf[0]) : x);
    const value = prop ? (first(member).properties[prop].const ?? first(member).properties[prop].enum?.[0]) : undefined;
    return bodyMembers(member, components, prop ? { ...fixed, [prop]: value } : fixed);
  });
}

describe('gateway: every endpoint refuses missing, extra and wrong-typed input with a coded 4xx and writes nothing', function () {
  this.timeout(180_000);
  let gw: RunningGateway;
  let doc: Json;
  let heightBefore: number;
  let db: string | undefined;
  const tokens = new Map<string, string>();

  async function clientFor(op: Json): Promise<Client> {
    const roles = op['x-roles'] as Record<string, Role[] | 'any'> | undefined;
    let org: 'enterprise' | 'regulator' = 'enterprise';
    let role: Role = 'applicant';
    if (roles) {
      const [o, r] = Object.entries(roles)[0]!;
      org = o as typeof org;
      role = r === 'any' ? (org === 'enterprise' ? 'applicant' : 'regulator') : r[0]!;
    }
    const key = `${org}/${role}`;
    if (!tokens.has(key)) tokens.set(key, await token({ sub: `gw-val-${org}-${role}`.replace(/_/g, '-'), org, role }));
    return new Client(gw.url).as(tokens.get(key)!);
  }

  before(async function () {
    requireNetwork(this);
    db = await createDatabase('gw_validation');
    gw = await startTestGateway({ DATABASE_URL: db, GATEWAY_EVIDENCE_MAX_BYTES: '1000', GATEWAY_OCR_MAX_BYTES: '1000' });
    doc = (await new Client(gw.url).get('/openapi.json')).body;
    heightBefore = await chainHeight();
  });
  after(async () => {
    await gw?.close();
    await dropDatabase(db);
  });

  const ops = () =>
    Object.entries(doc.paths as Record<string, Record<string, Json>>).flatMap(([p, methods]) =>
      Object.entries(methods).map(([m, op]) => ({ path: p, method: m.toUpperCase(), op })),
    );

  it('answers 401 UNAUTHENTICATED on every authenticated endpoint without credentials, or with a bad or expired token', async () => {
    let n = 0;
    for (const { path, method, op } of ops()) {
      if (!op.security?.length) continue;
      const anon = await new Client(gw.url).request(method, resolvePath(path), method === 'POST' ? { json: {} } : {});
      expect(anon.status, `${method} ${path}`).to.equal(401);
      // A HEAD answer has no body to carry the code (the status is the answer).
      if (method !== 'HEAD') expect(anon.body.error.code).to.equal('UNAUTHENTICATED');
      n++;
    }
    expect(n).to.be.greaterThan(25);
    const forged = await token({ sub: 'x', org: 'enterprise', role: 'applicant' }, { secret: 'another-secret-another-secret-another-secret' });
    expect((await new Client(gw.url).as(forged).get('/v1/permits/NOPE-123')).status).to.equal(401);
    const expired = await token({ sub: 'x', org: 'enterprise', role: 'applicant' }, { expiresIn: '-1m' });
    expect((await new Client(gw.url).as(expired).get('/v1/permits/NOPE-123')).status).to.equal(401);
    const badClaims = await token({ sub: 'x', org: 'enterprise', role: 'wizard' as Role });
    expect((await new Client(gw.url).as(badClaims).get('/v1/permits/NOPE-123')).status).to.equal(401);
  });

  it('answers 403 FORBIDDEN to a role the route does not allow (checked by the gateway before the ledger)', async () => {
    let n = 0;
    for (const { path, method, op } of ops()) {
      const roles = op['x-roles'] as Record<string, Role[] | 'any'> | undefined;
      if (!roles || Object.values(roles).includes('any')) continue;
      const allowed = new Set(Object.entries(roles).flatMap(([org, r]) => (r as Role[]).map((x) => `${org}/${x}`)));
      const wrong = ROLES.map((r) => `enterprise/${r}`).find((k) => !allowed.has(k)) ?? 'regulator/regulator';
      const [org, role] = wrong.split('/') as ['enterprise', Role];
      const c = new Client(gw.url).as(await token({ sub: `gw-val-wrong-${role}`.replace(/_/g, '-'), org, role }));
      const r = await c.request(method, resolvePath(path), method === 'POST' ? { json: {} } : {});
      expect(r.status, `${method} ${path} as ${wrong}`).to.equal(403);
      if (method !== 'HEAD') expect(r.body.error.code).to.equal('FORBIDDEN');
      n++;
    }
    expect(n).to.be.greaterThan(15);
  });

  it('JSON bodies: missing fields, an extra field and each wrong-typed field get 400 VALIDATION_FAILED naming the field', async () => {
    let cases = 0;
    for (const { path, method, op } of ops()) {
      const schema = op.requestBody?.content?.['application/json']?.schema as Json | undefined;
      if (method !== 'POST' || !schema || !op.security?.length) continue;
      const c = await clientFor(op);
      const url = resolvePath(path);
      const members = bodyMembers(schema, doc.components?.schemas ?? {});
      for (const [name] of Object.entries(members[0]!.fixed)) {
        // A union refuses a body whose discriminator selects no member, naming the discriminator.
        const r = await c.post(url, { [name]: 12345 });
        expect(r.status, `${path} ${name}`).to.equal(400);
        expect(r.body.error.details.fields.map((f: { path: string }) => f.path)).to.include(`body.${name}`);
        cases++;
      }
      for (const { schema: member, fixed } of members) {
        const label = `${path} ${JSON.stringify(fixed)}`;
        const required = ((member.required ?? []) as string[]).filter((f) => !(f in fixed));
        if (required.length) {
          const r = await c.post(url, fixed);
          expect(r.status, `${label} {}`).to.equal(400);
          expect(r.body.error.code).to.equal('VALIDATION_FAILED');
          const paths = r.body.error.details.fields.map((f: { path: string }) => f.path);
          for (const f of required) expect(paths, `${label} missing ${f}`).to.include(`body.${f}`);
          cases++;
        }
        const extra = await c.post(url, { ...fixed, unexpectedField: 1 });
        expect(extra.status, `${label} extra`).to.equal(400);
        expect(JSON.stringify(extra.body.error.details.fields)).to.contain('unexpectedField');
        cases++;
        for (const [name, prop] of Object.entries((member.properties ?? {}) as Record<string, Json>)) {
          if (name in fixed) continue;
          const v = wrongValue(prop);
          if (v === Symbol.for('skip')) continue;
          const r = await c.post(url, { ...fixed, [name]: v });
          expect(r.status, `${label} ${name}=${JSON.stringify(v)}`).to.equal(400);
          expect(r.body.error.code).to.equal('VALIDATION_FAILED');
          expect(
            r.body.error.details.fields.map((f: { path: string }) => f.path),
            `${label} ${name}`,
          ).to.include(`body.${name}`);
          cases++;
        }
      }
      const notJson = await c.request('POST', url, { body: 'permitNo=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(notJson.status, `${path} form`).to.equal(415);
      const broken = await c.request('POST', url, { body: '{"permitNo": ', headers: { 'content-type': 'application/json' } });
      expect(broken.status, `${path} broken JSON`).to.equal(400);
      expect(broken.body.error.code).to.equal('VALIDATION_FAILED');
      cases += 2;
    }
    expect(cases).to.be.greaterThan(100);
  });

  it('POSTs need an Idempotency-Key (400 IDEMPOTENCY_KEY_REQUIRED), and a malformed one is a 400', async () => {
    for (const { path, method, op } of ops()) {
      if (method !== 'POST' || !op.parameters?.some((p: Json) => p.name === 'Idempotency-Key')) continue;
      const c = await clientFor(op);
      const r = await c.request('POST', resolvePath(path), { json: {}, idem: false });
      expect(r.status, path).to.equal(400);
      expect(['IDEMPOTENCY_KEY_REQUIRED', 'VALIDATION_FAILED']).to.include(r.body.error.code);
      const bad = await c.request('POST', resolvePath(path), { json: {}, headers: { 'idempotency-key': 'x' } });
      expect(bad.status, path).to.equal(400);
    }
  });

  it('path parameters and query strings: bad formats, unknown and wrong-typed parameters get 400', async () => {
    let cases = 0;
    for (const { path, method, op } of ops()) {
      if (!op.security?.length) continue;
      const c = await clientFor(op);
      if (path.includes('{')) {
        const r = await c.request(method, resolvePath(path, 'bad!id'), method === 'POST' ? { json: {} } : {});
        expect(r.status, `${method} ${path} bad id`).to.equal(400);
        if (method !== 'HEAD') expect(r.body.error.details.fields[0].path).to.match(/^params\./);
        cases++;
      }
      if (method === 'GET') {
        const r = await c.get(`${resolvePath(path)}?unexpectedParam=1`);
        expect(r.status, `${path} unknown query`).to.equal(400);
        cases++;
        for (const p of (op.parameters ?? []) as Json[]) {
          if (p.in !== 'query') continue;
          const v = wrongValue(p.schema);
          const bad =
            typeof v === 'number' ? (p.schema.pattern || p.schema.format || p.schema.enum ? '!!' : null) : v === Symbol.for('skip') ? null : String(v);
          if (bad === null) continue;
          const r2 = await c.get(`${resolvePath(path)}?${p.name}=${encodeURIComponent(bad)}`);
          expect(r2.status, `${path} ${p.name}=${bad}`).to.equal(400);
          expect(r2.body.error.details.fields.map((f: { path: string }) => f.path)).to.include(`query.${p.name}`);
          cases++;
        }
      }
    }
    expect(cases).to.be.greaterThan(20);
    const missingMonth = await (await clientFor({ 'x-roles': { regulator: ['regulator'] } })).get('/v1/regulator/reports/monthly');
    expect(missingMonth.status).to.equal(400);
  });

  it('a NUL character (U+0000) in a query or path parameter or any JSON body field, or a lone surrogate in one, gets 400 naming it', async () => {
    // PostgreSQL stores no NUL in text or jsonb, and no lone surrogate in jsonb: a query parameter with a NUL was a 500 (the fuzz test's find).
    let cases = 0;
    for (const { path, method, op } of ops()) {
      if (!op.security?.length) continue;
      const c = await clientFor(op);
      const named = (r: Reply, field: string, message = 'holds a NUL character (U+0000), which no field accepts: remove it') => {
        expect(r.status, `${method} ${path} ${field}`).to.equal(400);
        expect(r.body.error.code).to.equal('VALIDATION_FAILED');
        expect(r.body.error.details.fields, `${method} ${path}`).to.deep.equal([{ path: field, message }]);
        cases++;
      };
      const param = /\{(\w+)\}/.exec(path)?.[1];
      if (param && method !== 'HEAD') named(await c.request(method, resolvePath(path, 'X%00Y'), method === 'POST' ? { json: {} } : {}), `params.${param}`);
      if (method === 'GET') {
        for (const p of (op.parameters ?? []) as Json[]) {
          if (p.in === 'query') named(await c.get(`${resolvePath(path)}?${p.name}=a%00b`), `query.${p.name}`);
        }
      }
      const schema = op.requestBody?.content?.['application/json']?.schema as Json | undefined;
      if (method === 'POST' && schema) {
        const { schema: member, fixed } = bodyMembers(schema, doc.components?.schemas ?? {})[0]!;
        for (const name of Object.keys((member.properties ?? {}) as Json)) {
          if (!(name in fixed)) named(await c.post(resolvePath(path), { ...fixed, [name]: 'a\u0000b' }), `body.${name}`);
        }
        named(await c.post(resolvePath(path), { ...fixed, nested: [{ text: 'ok' }, { text: '\u0000' }] }), 'body.nested.1.text');
        // JSON.stringify sends a lone surrogate as the escape \ud800, which the gateway's JSON parser turns back into one.
        const surrogate = 'holds a lone UTF-16 surrogate (half of a pair, not a character): send valid Unicode text';
        named(await c.post(resolvePath(path), { ...fixed, nested: { text: 'ok \ud800' } }), 'body.nested.text', surrogate);
      }
    }
    expect(cases).to.be.greaterThan(200);
  });

  it('an instant of the year 0000 (which PostgreSQL has not) or before 1970, in any query parameter or JSON body field, gets 400 naming it', async () => {
    // Accepted, a certificate valid from 0000-01-01 would have been committed valid and stopped the regulator's mirror.
    const message = `must be ${LEDGER_TIME_RANGE}`;
    const deref = (x: Json): Json => (x?.$ref ? deref(doc.components!.schemas![(x.$ref as string).replace('#/components/schemas/', '')] as Json) : x);
    /** Paths of the date-time fields of an object schema, through nested objects (not arrays). */
    const instants = (schema: Json, at: string[] = []): string[][] =>
      Object.entries((deref(schema).properties ?? {}) as Record<string, Json>).flatMap(([name, prop]) => {
        const p = deref(prop);
        const options = [p, ...((p.anyOf ?? p.oneOf ?? []) as Json[]).map(deref)];
        if (options.some((o) => o.format === 'date-time')) return [[...at, name]];
        return options.some((o) => o.type === 'object') ? instants(options.find((o) => o.type === 'object')!, [...at, name]) : [];
      });
    const setAt = (body: Json, path: string[], value: unknown): Json =>
      path.length === 1 ? { ...body, [path[0]!]: value } : { ...body, [path[0]!]: setAt((body[path[0]!] as Json) ?? {}, path.slice(1), value) };
    let cases = 0;
    for (const { path, method, op } of ops()) {
      if (!op.security?.length) continue;
      const c = await clientFor(op);
      const named = (r: Reply, field: string) => {
        expect(r.status, `${method} ${path} ${field}`).to.equal(400);
        expect(r.body.error.code).to.equal('VALIDATION_FAILED');
        expect(r.body.error.details.fields, `${method} ${path}`).to.deep.include({ path: field, message });
        cases++;
      };
      if (method === 'GET') {
        for (const p of (op.parameters ?? []) as Json[]) {
          if (p.in !== 'query' || deref(p.schema).format !== 'date-time') continue;
          for (const at of ['0000-01-01T00:00:00Z', '1969-12-31T23:59:59Z']) named(await c.get(`${resolvePath(path)}?${p.name}=${at}`), `query.${p.name}`);
        }
      }
      const schema = op.requestBody?.content?.['application/json']?.schema as Json | undefined;
      if (method === 'POST' && schema) {
        for (const { schema: member, fixed } of bodyMembers(schema, doc.components?.schemas ?? {})) {
          for (const field of instants(member)) named(await c.post(resolvePath(path), setAt(fixed, field, '0000-01-01T00:00:00Z')), `body.${field.join('.')}`);
        }
      }
    }
    // The permit application's planned window, the gas test's sample, a certificate's dates, evidence capture, the regulator's windows, ...
    expect(cases).to.be.greaterThan(20);
  });

  it('multipart uploads: no file or no boundary → 400, wrong media type → 415, over the size limit → 413, JSON instead → 415', async () => {
    const evidence = await clientFor({ 'x-roles': { enterprise: ['safety_officer'] } });
    const url = '/v1/permits/NOPE-123/evidence';
    const fields = (f: FormData) => {
      f.set('step', 'execution');
      f.set('capturedAt', '2026-01-01T00:00:00Z');
      return f;
    };
    const noFile = await evidence.request('POST', url, { body: fields(new FormData()) });
    expect(noFile.status).to.equal(400);
    expect(noFile.body.error.code).to.equal('VALIDATION_FAILED');
    const badFields = new FormData();
    badFields.set('step', 'dancing');
    badFields.set('file', new Blob(['x'], { type: 'text/plain' }));
    const r1 = await evidence.request('POST', url, { body: badFields });
    expect(r1.status).to.equal(400);
    expect(JSON.stringify(r1.body.error.details.fields)).to.contain('form.step');
    const exe = fields(new FormData());
    exe.set('file', new Blob(['MZ'], { type: 'application/x-msdownload' }), 'a.exe');
    const r2 = await evidence.request('POST', url, { body: exe });
    expect(r2.status).to.equal(415);
    expect(r2.body.error.code).to.equal('UNSUPPORTED_MEDIA_TYPE');
    const json = await evidence.post(url, { step: 'execution' });
    expect(json.status).to.equal(415);
    // An unknown permit is refused before anything is stored.
    const big = fields(new FormData());
    big.set('file', new Blob([Buffer.alloc(5000)], { type: 'text/plain' }));
    const r3 = await evidence.request('POST', url, { body: big });
    expect(r3.status).to.equal(404);
    const ocr = await clientFor({ 'x-roles': { enterprise: ['credential_officer'] } });
    const img = new FormData();
    img.set('image', new Blob([Buffer.alloc(5000)], { type: 'image/png' }), 'c.png');
    const r4 = await ocr.request('POST', '/v1/certificates/ocr', { body: img });
    expect(r4.status, r4.text).to.equal(413);
    expect(r4.body.error.code).to.equal('PAYLOAD_TOO_LARGE');
    const none = await ocr.request('POST', '/v1/certificates/ocr', { body: new FormData() });
    expect(none.status).to.equal(400);
    // A multipart Content-Type without a boundary is the client's error on both upload routes.
    for (const [client, path] of [
      [evidence, url],
      [ocr, '/v1/certificates/ocr'],
    ] as const) {
      const r = await client.request('POST', path, { body: 'x', headers: { 'content-type': 'multipart/form-data' } });
      expect(r.status, `${path}: ${r.text}`).to.equal(400);
      expect(r.body.error.code).to.equal('VALIDATION_FAILED');
    }
  });

  it('a JSON body over the limit gets 413 PAYLOAD_TOO_LARGE', async () => {
    const c = await clientFor({ 'x-roles': { enterprise: ['applicant'] } });
    const r = await c.post('/v1/permits', { permitNo: 'BIG-001', description: 'x'.repeat(300_000) });
    expect(r.status).to.equal(413);
    expect(r.body.error.code).to.equal('PAYLOAD_TOO_LARGE');
  });

  it('unknown routes get 404 ROUTE_NOT_FOUND, whatever the method', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'TRACE']) {
      const r = await rawRequest(gw.url, method, '/v1/nothing-here');
      expect(r.status, method).to.equal(404);
      expect(JSON.parse(r.text).error.code, method).to.equal('ROUTE_NOT_FOUND');
    }
  });

  it('a method the document does not declare on a known path gets 405 METHOD_NOT_ALLOWED with an Allow header', async () => {
    const bearer = { authorization: `Bearer ${await token({ sub: 'gw-val-405', org: 'enterprise', role: 'applicant' })}` };
    const exact: [method: string, path: string, allow: string][] = [
      ['PUT', '/v1/permits/P-405-1', 'GET, HEAD'],
      ['TRACE', '/v1/permits/P-405-1', 'GET, HEAD'],
      ['DELETE', '/v1/permits/P-405-1/evidence', 'GET, HEAD, POST'],
      ['GET', '/v1/permits', 'POST'],
      ['PATCH', '/v1/policy/', 'GET, HEAD, POST'],
      ['OPTIONS', '/healthz', 'GET, HEAD'],
      // The path of OCR also matches /v1/certificates/{certificateId}: the router answers both templates' methods there.
      ['PUT', '/v1/certificates/ocr', 'GET, HEAD, POST'],
    ];
    for (const [method, path, allow] of exact) {
      // With credentials and a body that is not even JSON: the method is refused before either is looked at.
      const r = await rawRequest(gw.url, method, path, { ...bearer, 'content-type': 'application/json' }, '{"broken": ');
      expect(r.status, `${method} ${path}: ${r.text}`).to.equal(405);
      expect(r.headers.allow, `${method} ${path}`).to.equal(allow);
      const body = JSON.parse(r.text);
      expect(body.error.code).to.equal('METHOD_NOT_ALLOWED');
      expect(body.error.status).to.equal(405);
      expect(body.error.details.allow).to.deep.equal(allow.split(', '));
      expect(body.error.message).to.contain(method);
    }
    // Every documented path: PUT is declared nowhere, and the Allow header names at least the path's own methods.
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Json>)) {
      const r = await rawRequest(gw.url, 'PUT', resolvePath(path));
      expect(r.status, `PUT ${path}`).to.equal(405);
      const allow = r.headers.allow?.split(', ') ?? [];
      for (const m of Object.keys(methods)) expect(allow, `PUT ${path}`).to.include(m.toUpperCase());
      expect(allow.includes('HEAD'), `PUT ${path}: HEAD where GET is`).to.equal(allow.includes('GET'));
    }
    // Declared methods still reach their routes (no credentials: 401 instead of 405).
    expect((await rawRequest(gw.url, 'GET', '/v1/permits/P-405-1')).status).to.equal(401);
    expect((await rawRequest(gw.url, 'HEAD', '/v1/permits/P-405-1')).status).to.equal(401);
  });

  it('wrote nothing to the ledger', async () => {
    expect(await chainHeight()).to.equal(heightBefore);
  });
});
