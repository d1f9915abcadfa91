/**
 * The OpenAPI document and the mounted Express routes must agree: every route the router serves
 * is documented with the same method and path, and every documented operation is served. The
 * document must also be a well-formed OpenAPI 3.1 document in the parts clients rely on.
 */

import { DEFAULT_TEMPLATES, OPERATION_LEVELS, OPERATION_TYPES, WIND_SENSITIVE_OPERATIONS, WORK_UNIT_DEPARTMENT } from '@compliance-ledger/schema';
import { compileErrors, validate } from '@readme/openapi-parser';
import { expect } from 'chai';
import { ERROR_STATUS } from '../../src/errors.js';
import { offlineApp } from '../support/offline.js';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

function mounted(stack: Layer[], out: Set<string> = new Set()): Set<string> {
  for (const l of stack) {
    if (l.route) for (const [m, on] of Object.entries(l.route.methods)) if (on && m !== '_all') out.add(`${m.toUpperCase()} ${l.route.path}`);
    if (l.handle?.stack) mounted(l.handle.stack, out);
  }
  return out;
}

describe('gateway: OpenAPI document', () => {
  const { app, openapi, routes } = offlineApp();
  const doc = openapi as { openapi: string; paths: Record<string, Record<string, any>>; components: any };

  it('documents exactly the routes the router serves (besides the Swagger UI assets)', () => {
    const served = mounted((app as unknown as { router: { stack: Layer[] } }).router.stack);
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([p, ms]) => Object.keys(ms).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`)),
    );
    const ui = [...served].filter((r) => r.includes('/docs'));
    const api = new Set([...served].filter((r) => !r.includes('/docs')));
    expect(
      [...api].filter((r) => !documented.has(r)),
      'served but not documented',
    ).to.deep.equal([]);
    expect(
      [...documented].filter((r) => !api.has(r)),
      'documented but not served',
    ).to.deep.equal([]);
    expect(ui.length).to.be.greaterThan(0);
    expect(api.size).to.be.greaterThan(30);
  });

  it('documents no body for a 204 or a HEAD answer (OPTIONS /v1/uploads answered 204 against a documented JSON body)', () => {
    let n = 0;
    for (const [p, methods] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(methods)) {
        for (const [status, res] of Object.entries(op.responses as Record<string, { content?: unknown }>)) {
          if (status !== '204' && !(m === 'head' && status.startsWith('2'))) continue;
          expect(res.content, `${m.toUpperCase()} ${p} ${status}`).to.equal(undefined);
          n++;
        }
      }
    }
    expect(n).to.be.greaterThan(1);
  });

  it('passes an OpenAPI 3.1 validator', async () => {
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).to.equal(true);
  });

  it('is OpenAPI 3.1 with unique operation ids, path parameters declared, error responses with codes', () => {
    expect(doc.openapi).to.equal('3.1.0');
    const ids = new Set<string>();
    for (const [p, methods] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(methods)) {
        expect(ids.has(op.operationId), `duplicate ${op.operationId}`).to.equal(false);
        ids.add(op.operationId);
        for (const name of [...p.matchAll(/\{(\w+)\}/g)].map((x) => x[1])) {
          expect(
            op.parameters.some((q: any) => q.in === 'path' && q.name === name && q.required),
            `${m} ${p} declares ${name}`,
          ).to.equal(true);
        }
        const statuses = Object.keys(op.responses).map(Number);
        expect(
          statuses.some((s) => s >= 200 && s < 300),
          `${m} ${p} has a success response`,
        ).to.equal(true);
        if (op.security.length) {
          expect(statuses, `${m} ${p}`).to.include.members([401, 403, 503]);
          expect(op.responses['503'].headers['Retry-After']).to.be.an('object');
        }
        // OCR writes nothing; a tus creation writes nothing to the ledger (its PATCH does, once);
        // the client-signed steps are fixed by the client's signatures (routes/client-signed.ts).
        const withoutKey = [
          'createUpload',
          'ocrCertificate',
          'prepareClientSignedTransaction',
          'endorseClientSignedTransaction',
          'submitClientSignedTransaction',
        ];
        if (m === 'post' && op.security.length && !withoutKey.includes(op.operationId)) {
          expect(
            op.parameters.some((q: any) => q.name === 'Idempotency-Key' && q.in === 'header' && q.required),
            `${p} Idempotency-Key`,
          ).to.equal(true);
        }
        for (const [status, r] of Object.entries<any>(op.responses)) {
          if (Number(status) >= 400)
            for (const code of r.content['application/json']['x-error-codes'] ?? [])
              expect(ERROR_STATUS[code as keyof typeof ERROR_STATUS]).to.equal(Number(status));
        }
      }
    }
  });

  it('tells clients of writes to retry a 503 that names a transaction with the same Idempotency-Key', () => {
    for (const [p, op] of [
      ['/v1/permits', doc.paths['/v1/permits']!.post],
      ['/v1/permits/{permitNo}/cancel', doc.paths['/v1/permits/{permitNo}/cancel']!.post],
    ] as const) {
      const key = op.parameters.find((q: any) => q.name === 'Idempotency-Key');
      expect(key.description, p)
        .to.match(/details\.transactionId/)
        .and.match(/same key/);
      expect(op.responses['503'].description, p)
        .to.match(/LEDGER_UNAVAILABLE/)
        .and.match(/`unknown`/)
        .and.match(/GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS/);
    }
    expect(doc.paths['/v1/permits/{permitNo}']!.get.responses['503'].description).to.not.match(/unknown/);
  });

  it('request bodies are the chaincode input schemas: strict objects with their required fields', () => {
    const hotWork = doc.components.schemas['ApplyPermit.hot_work'];
    expect(hotWork.additionalProperties).to.equal(false);
    expect(hotWork.required).to.include.members(['permitNo', 'operationType', 'level', 'location', 'workers', 'plannedStart', 'plannedEnd']);
    expect(hotWork.required).to.not.include('nightOrHoliday');
    const gas = doc.paths['/v1/permits/{permitNo}/gas-tests']!.post.requestBody.content['application/json'].schema;
    expect(gas.properties).to.not.have.property('permitNo');
    const ev = doc.paths['/v1/permits/{permitNo}/evidence']!.post.requestBody.content['multipart/form-data'].schema;
    expect(ev.required).to.include.members(['step', 'capturedAt', 'file']);
  });

  it(
    'serves Swagger UI from the local swagger-ui-dist package and the document without ' + 'authentication; /metrics needs the scrape token or a user',
    async () => {
      const server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      try {
        const html = await fetch(`${base}/docs/`);
        expect(html.status).to.equal(200);
        const text = await html.text();
        expect(text).to.contain('swagger-ui');
        expect(text).to.not.match(/https?:\/\/(cdn|unpkg|cdnjs)/);
        const init = await (await fetch(`${base}/docs/swagger-initializer.js`)).text();
        expect(init).to.contain("url: '/openapi.json'");
        expect((await fetch(`${base}/docs/swagger-ui-bundle.js`)).status).to.equal(200);
        const j = await fetch(`${base}/openapi.json`);
        expect(j.status).to.equal(200);
        expect(((await j.json()) as { openapi: string }).openapi).to.equal('3.1.0');
        expect((await fetch(`${base}/metrics`)).status).to.equal(401);
        const m = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${'m'.repeat(32)}` } });
        expect(m.status).to.equal(200);
        expect(await m.text()).to.contain('gateway_http_requests_total');
        expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${'n'.repeat(32)}` } })).status).to.equal(401);
        const e = await fetch(`${base}/v1/permits/X-1`);
        expect(e.status).to.equal(401);
        expect(e.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
      } finally {
        server.close();
      }
    },
  );

  describe('POST /v1/permits: one member per operation type, with what the chaincode requires of it', () => {
    const schemas = doc.components.schemas as Record<string, any>;
    const deref = (x: any): any => (x.$ref ? schemas[x.$ref.replace('#/components/schemas/', '')] : x);
    /** Every object member (a nested union on level is opened up) of an operation type. */
    const membersOf = (type: string): any[] => {
      const top = deref(doc.paths['/v1/permits']!.post.requestBody.content['application/json'].schema);
      const m = deref({ $ref: top.discriminator.mapping[type] });
      return m.oneOf ? m.oneOf.map(deref) : [m];
    };

    it('is a oneOf with a discriminator on operationType that maps every operation type', () => {
      const body = doc.paths['/v1/permits']!.post.requestBody.content['application/json'].schema;
      expect(body.$ref).to.equal('#/components/schemas/ApplyPermit');
      const top = deref(body);
      expect(top.discriminator.propertyName).to.equal('operationType');
      expect(Object.keys(top.discriminator.mapping).sort()).to.deep.equal([...OPERATION_TYPES].sort());
      expect(top.oneOf).to.have.length(OPERATION_TYPES.length);
      for (const t of ['work_at_height', 'lifting']) expect(deref({ $ref: top.discriminator.mapping[t] }).discriminator.propertyName, t).to.equal('level');
    });

    it('gives each operation type its level enum, and each member its required fields', () => {
      for (const type of OPERATION_TYPES) {
        const members = membersOf(type);
        const levels = members.flatMap((m) => m.properties.level.enum ?? [m.properties.level.const]);
        expect(levels.sort(), type).to.deep.equal([...OPERATION_LEVELS[type]].sort());
        for (const m of members) {
          expect(m.additionalProperties, type).to.equal(false);
          expect(m.properties.operationType.const).to.equal(type);
          const location = m.properties.location;
          expect(location.required.includes('outdoor'), `${type} location.outdoor`).to.equal(WIND_SENSITIVE_OPERATIONS.includes(type));
          expect(m.required.includes('workHeightMetres'), `${type} workHeightMetres`).to.equal(type === 'work_at_height');
          expect(m.required.includes('liftLoadTonnes'), `${type} liftLoadTonnes`).to.equal(type === 'lifting');
          if (type !== 'work_at_height') expect(m.properties.workHeightMetres.type, type).to.equal('null');
          if (type !== 'lifting') expect(m.properties.liftLoadTonnes.type, type).to.equal('null');
          expect(m.properties.servesPermitNo.type === 'null', `${type} servesPermitNo`).to.equal(type !== 'temporary_electricity');
        }
      }
    });

    it('puts the GB 30871 ranges of each work-at-height class and lifting level into the member', () => {
      const range = (type: string, field: string) =>
        Object.fromEntries(
          membersOf(type).map((m) => {
            const p = m.properties[field];
            return [m.properties.level.enum?.[0] ?? m.properties.level.const, [p.minimum ?? `>${p.exclusiveMinimum}`, p.maximum ?? `<${p.exclusiveMaximum}`]];
          }),
        );
      expect(range('work_at_height', 'workHeightMetres')).to.deep.equal({ I: [2, 5], II: ['>5', 15], III: ['>15', 30], IV: ['>30', 1000] });
      expect(range('lifting', 'liftLoadTonnes')).to.deep.equal({ '1': ['>100', 100000], '2': [40, 100], '3': [10, '<40'] });
    });

    it('says who signs off each level: the departments of the built-in templates', () => {
      for (const type of OPERATION_TYPES) {
        for (const m of membersOf(type)) {
          const description: string = m.properties.level.description;
          for (const level of m.properties.level.enum ?? [m.properties.level.const]) {
            const part = description.split('. ').find((x) => x.startsWith(`\`${level}\``));
            expect(part, `${type} ${level}`).to.be.a('string');
            const template = DEFAULT_TEMPLATES.find((t) => t.operationType === type && t.level === level)!;
            for (const step of template.signOffSteps) {
              expect(part, `${type} ${level} ${step.stepId}`).to.contain(
                step.department === WORK_UNIT_DEPARTMENT ? 'of the work unit' : `of department ${step.department}`,
              );
              expect(part).to.contain(step.role);
            }
          }
        }
      }
      // The issue's own reading: special → leadership, 1 → safety, 2 → the work unit.
      const hot = membersOf('hot_work')[0].properties.level.description as string;
      expect(hot).to.match(/`special`:[^`]*approval by approver of department leadership/);
      expect(hot).to.match(/`1`:[^`]*approval by approver of department safety/);
      expect(hot).to.match(/`2`:[^`]*approval by approver of the work unit/);
    });
  });

  it('every request example parses with the route body schema', () => {
    let n = 0;
    for (const [p, methods] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(methods)) {
        for (const [name, ex] of Object.entries<any>(op.requestBody?.content?.['application/json']?.examples ?? {})) {
          const route = routes.find((r) => r.path === p && r.method === m)!;
          const parsed = route.body!.safeParse(ex.value);
          expect(parsed.success, `${m} ${p} example ${name}: ${parsed.error?.message}`).to.equal(true);
          n++;
        }
      }
    }
    expect(n).to.be.greaterThan(5);
  });
});
