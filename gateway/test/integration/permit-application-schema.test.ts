/**
 * What the OpenAPI document asks of a permit application is enough: for every operation type and
 * every level, a body built from the required fields of its member in /openapi.json alone (values
 * from the schema's enums, constants and ranges; only identifiers, people and times from this
 * test's own ledger data) is accepted by the real chaincode through the API.
 */
import * as crypto from 'node:crypto';
import { OPERATION_LEVELS, OPERATION_TYPES } from '@compliance-ledger/schema';
import { expect } from 'chai';
import type { RunningGateway } from '../../src/server.js';
import { Client, createDatabase, dropDatabase, requireNetwork, startTestGateway, token, workerId } from '../support/env.js';
import { iso } from '../support/scenario.js';

type Json = Record<string, any>;

/**
 * The smallest body a schema allows: required properties only, the first enum value, the constant,
 * the middle of a number's range. A patterned or formatted string (an id, a time) must come from
 * `fixtures` by its path; one without a fixture fails the test, so a new required field is noticed.
 */
export function sampleRequired(schema: Json, deref: (s: Json) => Json, fixtures: Record<string, unknown>, path = ''): unknown {
  const s = deref(schema);
  if (path in fixtures) return fixtures[path];
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  for (const key of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(s[key])) return sampleRequired(s[key].find((x: Json) => deref(x).type !== 'null') ?? s[key][0], deref, fixtures, path);
  }
  switch (s.type) {
    case 'object':
      return Object.fromEntries(((s.required ?? []) as string[]).map((k) => [k, sampleRequired(s.properties[k], deref, fixtures, path ? `${path}.${k}` : k)]));
    case 'array':
      return Array.from({ length: Math.max(1, s.minItems ?? 0) }, () => sampleRequired(s.items, deref, fixtures, `${path}[]`));
    case 'number':
    case 'integer': {
      const lo = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 0.5 : 0);
      const hi = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 0.5 : lo + 10);
      const mid = (lo + hi) / 2;
      return s.type === 'integer' ? Math.ceil(mid) : mid;
    }
    case 'boolean':
      return false;
    case 'string':
      if (s.pattern || s.format) throw new Error(`no fixture for the ${s.format ?? 'patterned'} string at ${path}`);
      return 'x'.repeat(Math.max(1, s.minLength ?? 1));
    default:
      throw new Error(`cannot sample ${JSON.stringify(s).slice(0, 200)} at ${path}`);
  }
}

describe('gateway: a permit application built from the OpenAPI schema is accepted by the chaincode, for every operation type and level', function () {
  this.timeout(300_000);
  let gw: RunningGateway;
  let db: string | undefined;
  let doc: Json;
  const tag = crypto.randomBytes(4).toString('hex');
  const crew = { worker: workerId(`schema-worker-${tag}`), guardian: workerId(`schema-guardian-${tag}`), pic: workerId(`schema-pic-${tag}`) };
  let applicant: Client;

  before(async function () {
    requireNetwork(this);
    db = await createDatabase('gw_schema');
    gw = await startTestGateway({ DATABASE_URL: db });
    doc = (await new Client(gw.url).get('/openapi.json')).body;
    const officer = new Client(gw.url).as(await token({ sub: `gw-schema-cred-${tag}`, org: 'enterprise', role: 'credential_officer' }));
    applicant = new Client(gw.url).as(await token({ sub: `gw-schema-applicant-${tag}`, org: 'enterprise', role: 'applicant' }));
    for (const w of Object.values(crew)) {
      const r = await officer.post('/v1/workers', { workerId: w });
      expect(r.status, r.text).to.equal(201);
    }
    const now = Date.now();
    const certificates: [string, string][] = [
      [crew.worker, 'welding_cutting'],
      [crew.worker, 'work_at_height'],
      [crew.worker, 'lifting_equipment'],
      [crew.worker, 'electrician'],
      [crew.guardian, 'guardian'],
    ];
    for (const [i, [w, category]] of certificates.entries()) {
      const r = await officer.post('/v1/certificates', {
        certificateId: `cert-schema-${tag}-${i}`,
        workerId: w,
        category,
        item: category,
        authority: '应急管理局',
        validFrom: iso(now - 365 * 86_400_000),
        validUntil: iso(now + 4 * 365 * 86_400_000),
        reviewDue: iso(now + 2 * 365 * 86_400_000),
        scanSha256: crypto.createHash('sha256').update(`scan-schema-${tag}-${i}`).digest('hex'),
      });
      expect(r.status, r.text).to.equal(201);
    }
  });
  after(async () => {
    await gw?.close();
    await dropDatabase(db);
  });

  it('covers every operation type and level', async () => {
    const schemas = doc.components.schemas as Record<string, Json>;
    const deref = (s: Json): Json => (s.$ref ? schemas[(s.$ref as string).replace('#/components/schemas/', '')]! : s);
    const top = deref(doc.paths['/v1/permits'].post.requestBody.content['application/json'].schema);
    const tried: string[] = [];
    let n = 0;
    for (const type of OPERATION_TYPES) {
      const member = deref({ $ref: top.discriminator.mapping[type] });
      for (const m of (member.oneOf ?? [member]).map(deref)) {
        for (const level of m.properties.level.enum as string[]) {
          const now = Date.now();
          const permitNo = `SCH-${tag}-${++n}`;
          const fixtures: Record<string, unknown> = {
            permitNo,
            level,
            'location.siteId': `site-schema-${tag}`,
            'location.zoneId': `zone-${n}`,
            workUnit: `unit-${tag}`,
            plannedStart: iso(now + 5 * 60_000),
            plannedEnd: iso(now + 65 * 60_000),
            workers: [crew.worker],
            personInChargeId: crew.pic,
            guardianId: crew.guardian,
            'hazards[].hazardId': 'h1',
            'measures[].measureId': 'm1',
          };
          const body = sampleRequired(m, deref, fixtures) as Json;
          const r = await applicant.post('/v1/permits', body);
          expect(r.status, `${type} ${level}: ${JSON.stringify(body)} → ${r.text}`).to.equal(201);
          expect(r.body.record).to.include({ permitNo, operationType: type, requestedLevel: level, status: 'applied' });
          tried.push(`${type}/${level}`);
        }
      }
    }
    expect(tried.sort()).to.deep.equal(OPERATION_TYPES.flatMap((t) => OPERATION_LEVELS[t].map((l) => `${t}/${l}`)).sort());
  });
});
