/**
 * What one enterprise sees of another through the routes the supervision screen calls, on the real
 * network with two enterprise orgs on the channel: EnterpriseMSP and one onboarded for this suite
 * with scripts/org-add.sh (test/support/enterprises.ts), each with a permit of its own. Each
 * enterprise's gateway reads a mirror its own indexer builds from its own peer (INDEXER_ORG=enterprise),
 * as `npm start` runs them. An enterprise's safety officer gets their own enterprise's permits,
 * timelines, bundles, KPIs, areas and risk map only: another enterprise named in `org` is 403
 * OTHER_ENTERPRISE, another enterprise's permit is 404 NOT_FOUND exactly as an unknown one. The
 * regulator sees both.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { RunningGateway } from '../../src/server.js';
import { type AddedEnterprise, addEnterprise } from '../support/enterprises.js';
import { Client, chainHeight, createDatabase, dropDatabase, requireNetwork, runDir, startTestGateway, token, uniqueId } from '../support/env.js';
import { type RunningIndexer, startIndexer } from '../support/indexer.js';
import { castWithPermit } from '../support/scenario.js';

describe("gateway: an enterprise sees its own enterprise's records only, the regulator every enterprise's (two enterprise orgs)", function () {
  this.timeout(600_000);
  let other: AddedEnterprise | undefined;
  const dbs: string[] = [];
  const indexers: RunningIndexer[] = [];
  let gwA: RunningGateway;
  let gwB: RunningGateway;
  let permitA: string;
  let permitB: string;
  let safetyA: Client;
  let safetyB: Client;
  let regulator: Client;

  /** A mirror built by its own indexer from the peer of the profile's `org`. */
  async function mirror(prefix: string, env: Record<string, string>): Promise<string> {
    const db = await createDatabase(prefix);
    dbs.push(db);
    indexers.push(startIndexer(db, env));
    return db;
  }

  before(async function () {
    requireNetwork(this);
    other = addEnterprise('s');
    const [dbA, dbB] = await Promise.all([
      mirror('gw_scope_a', { INDEXER_ORG: 'enterprise' }),
      mirror('gw_scope_b', { INDEXER_ORG: 'enterprise', LEDGER_CONNECTION_PROFILE: other.profile }),
    ]);
    // EnterpriseMSP's users and the regulator's on the suites' usual two-org gateway; the other
    // enterprise's on a gateway of its own, as org-add.sh describes one.
    gwA = await startTestGateway({ DATABASE_URL: dbA });
    gwB = await startTestGateway({ ...other.gatewayEnv, DATABASE_URL: dbB });
    const [a, b] = await Promise.all([castWithPermit(new Client(gwA.url)), castWithPermit(new Client(gwB.url))]);
    permitA = a.permitNo;
    permitB = b.permitNo;
    safetyA = a.cast.clients.safety;
    safetyB = b.cast.clients.safety;
    regulator = a.cast.clients.regulator;
    const height = await chainHeight();
    await Promise.all(indexers.map((i) => i.waitForBlock(height - 1, 120_000)));
  });
  after(async () => {
    await gwA?.close();
    await gwB?.close();
    await Promise.all(indexers.map((i) => i.stop()));
    for (const db of dbs) await dropDatabase(db);
    other?.remove();
  });

  const permitNos = (r: { body: { items: { permitNo: string }[] } }) => r.body.items.map((p) => p.permitNo);

  it("each enterprise's session is limited to its own MSP and opens the screen's views; the regulator's is not limited", async () => {
    const a = await safetyA.get('/v1/session');
    expect(a.body).to.include({ org: 'enterprise', role: 'safety_officer', enterprise: 'EnterpriseMSP' });
    expect(a.body.views).to.deep.equal(['alarms', 'acknowledge', 'permits', 'kpis', 'risk', 'timeline', 'verify']);
    expect((await safetyB.get('/v1/session')).body.enterprise).to.equal(other!.msp);
    expect((await regulator.get('/v1/session')).body.enterprise).to.equal(null);
  });

  it("lists only the enterprise's own permits, and refuses a filter naming another enterprise", async () => {
    for (const [client, own, theirs, msp] of [
      [safetyA, permitA, permitB, 'EnterpriseMSP'],
      [safetyB, permitB, permitA, other!.msp],
    ] as const) {
      const r = await client.get('/v1/regulator/permits?limit=500');
      expect(r.status, r.text).to.equal(200);
      expect(permitNos(r)).to.include(own).and.not.include(theirs);
      expect(new Set(r.body.items.map((p: { orgMsp: string }) => p.orgMsp))).to.deep.equal(new Set([msp]));
      const named = await client.get(`/v1/regulator/permits?org=${msp === 'EnterpriseMSP' ? other!.msp : 'EnterpriseMSP'}`);
      expect(named.status, named.text).to.equal(403);
      expect(named.body.error.code).to.equal('OTHER_ENTERPRISE');
      expect(named.body.error.message).to.contain(`org=${msp}`);
      expect((await client.get(`/v1/regulator/permits?org=${msp}`)).status).to.equal(200);
      const alarms = await client.get(`/v1/regulator/alarms?org=${msp === 'EnterpriseMSP' ? other!.msp : 'EnterpriseMSP'}`);
      expect(alarms.body.error.code).to.equal('OTHER_ENTERPRISE');
    }
  });

  it("answers another enterprise's permit timeline and bundle as an unknown permit's (404 NOT_FOUND), its own with the data", async () => {
    const own = await safetyA.get(`/v1/regulator/permits/${permitA}/timeline`);
    expect(own.status, own.text).to.equal(200);
    expect(own.body.permit).to.include({ permitNo: permitA, orgMsp: 'EnterpriseMSP' });
    const unknownNo = uniqueId('HWK');
    for (const [client, theirs] of [
      [safetyA, permitB],
      [safetyB, permitA],
    ] as const) {
      const timeline = await client.get(`/v1/regulator/permits/${theirs}/timeline`);
      const unknown = await client.get(`/v1/regulator/permits/${unknownNo}/timeline`);
      expect(timeline.status, timeline.text).to.equal(404);
      expect(timeline.body.error.code).to.equal('NOT_FOUND');
      expect(timeline.body.error.message.replace(theirs, '<no>')).to.equal(unknown.body.error.message.replace(unknownNo, '<no>'));
      const bundle = await client.download(`/v1/audit/permits/${theirs}/bundle`);
      const unknownBundle = await client.download(`/v1/audit/permits/${unknownNo}/bundle`);
      expect(bundle.status, bundle.text).to.equal(404);
      expect(JSON.parse(bundle.text).error.code).to.equal('NOT_FOUND');
      expect(JSON.parse(bundle.text).error.message.replace(theirs, '<no>')).to.equal(JSON.parse(unknownBundle.text).error.message.replace(unknownNo, '<no>'));
    }
    const bundle = await safetyB.download(`/v1/audit/permits/${permitB}/bundle`);
    expect(bundle.status, bundle.text).to.equal(200);
    expect(bundle.headers.get('content-type')).to.equal('application/x-tar');
  });

  it("gives an enterprise its own KPIs, area plan and risk map, and the regulator every enterprise's", async () => {
    const kpis = await safetyA.get('/v1/regulator/kpis');
    expect(kpis.status, kpis.text).to.equal(200);
    expect(kpis.body.byEnterprise.map((e: { orgMsp: string }) => e.orgMsp)).to.deep.equal(['EnterpriseMSP']);
    const everyone = await regulator.get('/v1/regulator/kpis');
    expect(everyone.body.byEnterprise.map((e: { orgMsp: string }) => e.orgMsp)).to.include.members(['EnterpriseMSP', other!.msp]);
    for (const p of ['/v1/regulator/areas', '/v1/regulator/risk-map']) {
      const r = await safetyB.get(p);
      expect(r.status, `${p}: ${r.text}`).to.equal(200);
    }
    // An applied permit is no active work: the plan lists none of A's permits to B whatever their state.
    const plan = (await safetyB.get('/v1/regulator/areas')).body.items as { activePermits: string[] }[];
    expect(plan.flatMap((a) => a.activePermits)).to.not.include(permitA);
  });

  it('shows the regulator both enterprises: their permits, timelines and bundles', async () => {
    for (const [no, msp] of [
      [permitA, 'EnterpriseMSP'],
      [permitB, other!.msp],
    ] as const) {
      const listed = await regulator.get(`/v1/regulator/permits?org=${msp}&limit=500`);
      expect(permitNos(listed)).to.include(no);
      const timeline = await regulator.get(`/v1/regulator/permits/${no}/timeline`);
      expect(timeline.status, timeline.text).to.equal(200);
      expect(timeline.body.permit.orgMsp).to.equal(msp);
    }
    const bundle = await regulator.download(`/v1/audit/permits/${permitB}/bundle`);
    expect(bundle.status, bundle.text).to.equal(200);
  });

  it('refuses the enterprise roles that do not oversee the enterprise (403 FORBIDDEN)', async () => {
    const applicant = new Client(gwA.url).as(await token({ sub: 'scope-applicant', org: 'enterprise', role: 'applicant' }));
    const r = await applicant.get('/v1/regulator/permits');
    expect(r.status, r.text).to.equal(403);
    expect(r.body.error.code).to.equal('FORBIDDEN');
  });

  // Last: it offboards the second enterprise.
  it("npm start's stack runs the onboarded enterprise's own mirror and gateway (stack.sh up --org), and org-remove.sh stops them", async () => {
    const o = other!;
    const scripts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'scripts');
    execFileSync('bash', [path.join(scripts, 'stack.sh'), 'up', '--org', o.name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
    const pidFile = (service: string) => path.join(runDir(), 'pids', `org-${o.name}-${service}.pid`);
    const pids = ['indexer', 'gateway'].map((service) => Number(fs.readFileSync(pidFile(service), 'utf8')));
    // A zombie (exited, not yet reaped by whoever adopted it) is not alive.
    const alive = (pid: number) => {
      try {
        return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z';
      } catch {
        return false;
      }
    };
    try {
      expect(pids.map(alive)).to.deep.equal([true, true]);
      // The org's block of ports begins one below its peer's; its gateway is at + 8 (README, Many enterprises).
      const entry = fs.readFileSync(path.join(runDir(), 'orgs', `${o.name}.env`), 'utf8');
      const peerPort = Number(new RegExp(`^${o.name.toUpperCase()}_PEER_PORT=(\\d+)$`, 'm').exec(entry)![1]);
      const url = `http://127.0.0.1:${peerPort - 1 + 8}`;
      const secret = fs.readFileSync(path.join(runDir(), `gateway-${o.name}`, 'jwt-hs256.secret'), 'utf8').trim();
      const safety = new Client(url).as(await token({ sub: `stack-safety-${o.name}`, org: 'enterprise', role: 'safety_officer' }, { secret }));
      const session = await safety.get('/v1/session');
      expect(session.status, session.text).to.equal(200);
      expect(session.body.enterprise).to.equal(o.msp);
      // Its own mirror, built from its own peer: its permit, and not EnterpriseMSP's (bounded wait for the catch-up).
      let listed: string[] = [];
      for (const until = Date.now() + 120_000; !listed.includes(permitB) && Date.now() < until; ) {
        const r = await safety.get('/v1/regulator/permits?limit=500');
        expect(r.status, r.text).to.equal(200);
        listed = permitNos(r);
        if (!listed.includes(permitB)) await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      expect(listed).to.include(permitB).and.not.include(permitA);
      // A token signed for another gateway (the suites' secret) means nothing to this one.
      const stranger = new Client(url).as(await token({ sub: `stack-stranger-${o.name}`, org: 'enterprise', role: 'safety_officer' }));
      expect((await stranger.get('/v1/session')).status).to.equal(401);
    } finally {
      o.remove();
    }
    expect(pids.map(alive), 'org-remove.sh stopped the mirror and the gateway').to.deep.equal([false, false]);
  });
});
