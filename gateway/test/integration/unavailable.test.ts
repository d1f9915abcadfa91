/**
 * When a dependency is down the gateway answers 503 with Retry-After and a stable code (ledger,
 * query database, Fabric CA), releases the idempotency key so the client can retry, and reports
 * itself degraded. Per-user rate limits answer 429 with Retry-After, and so do repeated failed
 * sign-ins from one address.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import type { RunningGateway } from '../../src/server.js';
import { Client, createDatabase, dropDatabase, profilePath, requireNetwork, startTestGateway, token } from '../support/env.js';

describe('gateway: unreachable dependencies and rate limits', function () {
  this.timeout(120_000);
  let good: RunningGateway;
  let bad: RunningGateway;
  let stateDb: string;
  let walletDir: string;

  before(async function () {
    requireNetwork(this);
    walletDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-wallet-'));
    stateDb = await createDatabase('gw_unavail');
    good = await startTestGateway({ DATABASE_URL: stateDb, GATEWAY_WALLET_DIR: walletDir });
    // Enrol one user while everything is up.
    const t = await token({ sub: 'gw-unavail-reader', org: 'enterprise', role: 'applicant' });
    expect((await new Client(good.url).as(t).get('/v1/permits/NOPE-123')).status).to.equal(404);
    const profile = JSON.parse(fs.readFileSync(profilePath(), 'utf8'));
    for (const org of Object.values<any>(profile.organizations)) {
      org.peer.endpoint = '127.0.0.1:1';
      if (org.ca) org.ca.url = 'https://127.0.0.1:1';
    }
    const badProfile = path.join(walletDir, 'dead-profile.json');
    fs.writeFileSync(badProfile, JSON.stringify(profile));
    bad = await startTestGateway({
      LEDGER_CONNECTION_PROFILE: badProfile,
      GATEWAY_WALLET_DIR: walletDir,
      GATEWAY_STATE_DATABASE_URL: stateDb,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
      GATEWAY_EVALUATE_TIMEOUT_MS: '3000',
      GATEWAY_ENDORSE_TIMEOUT_MS: '3000',
      GATEWAY_RETRY_AFTER_SECONDS: '7',
      GATEWAY_RATE_LIMIT_PER_WINDOW: '8',
      GATEWAY_AUTH_FAILURES_PER_WINDOW: '4',
      GATEWAY_RATE_LIMIT_WINDOW_MS: '60000',
    });
  });
  after(async () => {
    await bad?.close();
    await good?.close();
    await dropDatabase(stateDb);
  });

  it("keeps users' identities in a wallet only the service can read (0700 directories, 0600 files) with their role attributes", () => {
    const dir = path.join(walletDir, 'enterprise', 'gw-unavail-reader');
    const files: string[] = [];
    const walk = (d: string) => {
      expect(fs.statSync(d).mode & 0o777, d).to.equal(0o700);
      for (const e of fs.readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name));
    };
    walk(walletDir === dir ? dir : path.join(walletDir, 'enterprise'));
    for (const f of files) expect(fs.statSync(f).mode & 0o777, f).to.equal(0o600);
    expect(fs.statSync(walletDir).mode & 0o777).to.equal(0o700);
    const pem = fs.readFileSync(path.join(dir, 'msp', 'signcerts', 'cert.pem'), 'utf8');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'identity.json'), 'utf8'))).to.include({ sub: 'gw-unavail-reader', role: 'applicant' });
    expect(pem).to.contain('BEGIN CERTIFICATE');
  });

  it('ledger unreachable: 503 LEDGER_UNAVAILABLE with Retry-After, and the idempotency key is released', async () => {
    const c = new Client(bad.url).as(await token({ sub: 'gw-unavail-reader', org: 'enterprise', role: 'applicant' }));
    const r = await c.get('/v1/permits/NOPE-123');
    expect(r.status, r.text).to.equal(503);
    expect(r.body.error.code).to.equal('LEDGER_UNAVAILABLE');
    expect(r.headers.get('retry-after')).to.equal('7');
    const w = await c.post('/v1/permits/NOPE-123/cancel', { reason: 'no longer needed' }, { idem: 'unavail-cancel-1' });
    expect(w.status, w.text).to.equal(503);
    const db = new pg.Client({ connectionString: stateDb });
    await db.connect();
    const rows = (await db.query(`SELECT * FROM gateway_idempotency WHERE key = 'unavail-cancel-1'`)).rows;
    await db.end();
    expect(rows).to.have.length(0);
  });

  it('Fabric CA unreachable for a new user: 503 IDENTITY_UNAVAILABLE', async () => {
    const c = new Client(bad.url).as(await token({ sub: 'gw-unavail-newcomer', org: 'enterprise', role: 'applicant' }));
    const r = await c.get('/v1/permits/NOPE-123');
    expect(r.status).to.equal(503);
    expect(r.body.error.code).to.equal('IDENTITY_UNAVAILABLE');
    expect(r.headers.get('retry-after')).to.equal('7');
  });

  it('query database unreachable: 503 STORE_UNAVAILABLE', async () => {
    const c = new Client(bad.url).as(await token({ sub: 'gw-unavail-reg', org: 'regulator', role: 'regulator' }));
    const r = await c.get('/v1/regulator/kpis');
    expect(r.status, r.text).to.equal(503);
    expect(r.body.error.code).to.equal('STORE_UNAVAILABLE');
  });

  it('/healthz reports degraded with 503', async () => {
    const r = await new Client(bad.url).get('/healthz');
    expect(r.status).to.equal(503);
    expect(r.body.status).to.equal('degraded');
    expect(r.body.checks).to.deep.equal({ enterprisePeer: false, regulatorPeer: false, database: false });
    const ok = await new Client(good.url).get('/healthz');
    expect(ok.status).to.equal(200);
  });

  it('per-user rate limit: 429 RATE_LIMITED with Retry-After once the window is used up; other users unaffected', async () => {
    const c = new Client(bad.url).as(await token({ sub: 'gw-unavail-busy', org: 'regulator', role: 'regulator' }));
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await c.get('/v1/regulator/kpis?from=bad')).status);
    expect(statuses.slice(0, 8).every((s) => s === 400)).to.equal(true);
    expect(statuses.slice(8)).to.deep.equal([429, 429]);
    const limited = await c.get('/v1/regulator/kpis');
    expect(limited.body.error.code).to.equal('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).to.be.greaterThan(0);
    const other = new Client(bad.url).as(await token({ sub: 'gw-unavail-calm', org: 'regulator', role: 'regulator' }));
    expect((await other.get('/v1/regulator/kpis?from=bad')).status).to.equal(400);
  });

  // Last: it blocks this gateway's loopback address for guesses for the rest of the window.
  it('failed sign-ins from one address: 401 four times, then 429 RATE_LIMITED; a valid token from the same address still gets through', async () => {
    // Requests without credentials are not guesses and do not count.
    for (let i = 0; i < 6; i++) expect((await new Client(bad.url).get('/v1/regulator/kpis')).status).to.equal(401);
    const wrong = new Client(bad.url).as('not-a-token');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await wrong.get('/v1/regulator/kpis')).status);
    expect(statuses).to.deep.equal([401, 401, 401, 401, 429]);
    const limited = await wrong.get('/v1/regulator/kpis');
    expect(limited.body.error.code).to.equal('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).to.be.greaterThan(0);
    // Past sign-in: the query database of this gateway is down, so 503 is what a signed-in regulator gets here.
    const valid = new Client(bad.url).as(await token({ sub: 'gw-unavail-late', org: 'regulator', role: 'regulator' }));
    const r = await valid.get('/v1/regulator/kpis');
    expect(r.status, r.text).to.equal(503);
    expect(r.body.error.code).to.equal('STORE_UNAVAILABLE');
  });
});
