/**
 * Templates and the policy through the API on the real network: read, list versions, publish (the
 * regulator; the enterprise only what is not looser than GB 30871), and refusals that write nothing.
 * What this suite publishes has the same content as the version in force, so other suites on the
 * same ledger keep their rules.
 */
import * as crypto from 'node:crypto';
import { expect } from 'chai';
import type { RunningGateway } from '../../src/server.js';
import { Client, chainHeight, createDatabase, dropDatabase, requireNetwork, startTestGateway, token } from '../support/env.js';

type Json = Record<string, any>;
const unpublished = ({ operationType: _o, level: _l, version: _v, publishedBy: _b, publishedAt: _a, ...rest }: Json) => rest;

describe('gateway: templates and policy (real network)', function () {
  this.timeout(180_000);
  let gw: RunningGateway;
  let db: string | undefined;
  const tag = crypto.randomBytes(4).toString('hex');
  const as = async (role: string, org: 'enterprise' | 'regulator' = 'enterprise') =>
    new Client(gw.url).as(await token({ sub: `gw-tpl-${role.replace(/_/g, '-')}-${tag}`, org, role: role as never }));
  let applicant: Client, safety: Client, regulator: Client, auditor: Client;

  before(async function () {
    requireNetwork(this);
    db = await createDatabase('gw_templates');
    gw = await startTestGateway({ DATABASE_URL: db });
    [applicant, safety, regulator, auditor] = [
      await as('applicant'),
      await as('safety_officer'),
      await as('regulator', 'regulator'),
      await as('auditor', 'regulator'),
    ];
  });
  after(async () => {
    await gw?.close();
    await dropDatabase(db);
  });

  it('reads a template by type and level (any role of either org), a version, and refuses a level the type does not have', async () => {
    const t = await auditor.get('/v1/templates/hot_work/2');
    expect(t.status, t.text).to.equal(200);
    expect(t.body).to.include({ operationType: 'hot_work', level: '2' });
    expect(t.body.signOffSteps.map((s: Json) => s.department)).to.include('$work_unit');
    const v1 = await applicant.get('/v1/templates/hot_work/special?version=1');
    expect(v1.status, v1.text).to.equal(200);
    expect(v1.body.version).to.equal(1);
    expect(v1.body.signOffSteps.map((s: Json) => s.department)).to.deep.equal(['safety', 'leadership']);
    const wrong = await applicant.get('/v1/templates/hot_work/IV');
    expect(wrong.status).to.equal(400);
    expect(wrong.body.error.details.fields.map((f: Json) => f.path)).to.include('params.level');
    const missing = await applicant.get('/v1/templates/hot_work/2?version=999999');
    expect(missing.status).to.equal(404);
    expect(missing.body.error.code).to.equal('NOT_FOUND');
  });

  it('the regulator publishes a new version; it is read back and listed with the earlier ones', async () => {
    const before = await applicant.get('/v1/templates/road_breaking/single');
    const r = await regulator.post('/v1/templates/road_breaking/single', unpublished(before.body));
    expect(r.status, r.text).to.equal(201);
    expect(r.body.record.version).to.equal(before.body.version + 1);
    expect(r.body.record.publishedBy.mspId).to.equal('RegulatorMSP');
    const now = await applicant.get('/v1/templates/road_breaking/single');
    expect(now.body.version).to.equal(before.body.version + 1);
    const versions = await applicant.get('/v1/templates/road_breaking/single/versions');
    expect(versions.status, versions.text).to.equal(200);
    expect(versions.body.map((t: Json) => t.version)).to.deep.equal(Array.from({ length: before.body.version + 1 }, (_, i) => i + 1));
    expect(versions.body[0].publishedBy).to.equal(null);
  });

  it("the enterprise's safety officer may publish what keeps GB 30871, not what loosens it (422), and nobody else (403); refusals write nothing", async () => {
    const current = (await applicant.get('/v1/templates/road_breaking/single')).body;
    const height = await chainHeight();
    const looser = { ...unpublished(current), signOffSteps: current.signOffSteps.filter((s: Json) => s.kind !== 'cosign') };
    const r = await safety.post('/v1/templates/road_breaking/single', looser);
    expect(r.status, r.text).to.equal(422);
    expect(r.body.error.code).to.equal('RULE_VIOLATION');
    expect(r.body.error.message).to.match(/looser than GB 30871/);
    const wrongRole = await applicant.post('/v1/templates/road_breaking/single', unpublished(current));
    expect(wrongRole.status).to.equal(403);
    const auditorWrite = await auditor.post('/v1/templates/road_breaking/single', unpublished(current));
    expect(auditorWrite.status).to.equal(403);
    const dupSteps = await regulator.post('/v1/templates/road_breaking/single', {
      ...unpublished(current),
      signOffSteps: [current.signOffSteps[0], current.signOffSteps[0]],
    });
    expect(dupSteps.status).to.equal(400);
    expect(dupSteps.body.error.details.fields.map((f: Json) => f.path)).to.include('body.signOffSteps');
    const inBody = await regulator.post('/v1/templates/road_breaking/single', { ...unpublished(current), operationType: 'road_breaking' });
    expect(inBody.status).to.equal(400);
    expect(await chainHeight()).to.equal(height);
    expect((await applicant.get('/v1/templates/road_breaking/single')).body.version).to.equal(current.version);
    const same = await safety.post('/v1/templates/road_breaking/single', unpublished(current));
    expect(same.status, same.text).to.equal(201);
    expect(same.body.record.version).to.equal(current.version + 1);
    expect(same.body.record.publishedBy.mspId).to.equal('EnterpriseMSP');
  });

  it('reads and publishes the policy; a bad policy (400) and a wrong role (403) write nothing', async () => {
    const p = await auditor.get('/v1/policy');
    expect(p.status, p.text).to.equal(200);
    expect(p.body).to.have.property('alarmSuspendMaxGrade');
    const height = await chainHeight();
    const bad = await regulator.post('/v1/policy', { ...unpublished(p.body), alarmSuspendMaxGrade: 7 });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.details.fields.map((f: Json) => f.path)).to.include('body.alarmSuspendMaxGrade');
    const wrongRole = await applicant.post('/v1/policy', unpublished(p.body));
    expect(wrongRole.status).to.equal(403);
    expect(await chainHeight()).to.equal(height);
    expect((await applicant.get('/v1/policy')).body.version).to.equal(p.body.version);
    const r = await regulator.post('/v1/policy', unpublished(p.body));
    expect(r.status, r.text).to.equal(201);
    expect(r.body.record.version).to.equal(p.body.version + 1);
    expect(unpublished(r.body.record)).to.deep.equal(unpublished(p.body));
    expect((await applicant.get('/v1/policy')).body.version).to.equal(p.body.version + 1);
  });
});
