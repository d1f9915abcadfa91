/**
 * The sign-in limits over real HTTP: many failed sign-ins from one address (a plant behind one NAT)
 * do not lock out the valid users at that address, while guesses from it get 429; failures are
 * also counted per claimed subject; and X-Forwarded-For names the client only when the request
 * comes from a proxy in GATEWAY_TRUSTED_PROXIES. Sign-in touches neither Fabric nor PostgreSQL:
 * "past sign-in" shows as 501 NOT_CONFIGURED (no query database), which comes after the role check.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import type { RunningGateway } from '../../src/server.js';
import { Client, requireNetwork, startTestGateway, token } from '../support/env.js';

const FORGED_SECRET = 'not-the-gateway-secret-not-the-gateway-secret';
const PAST_SIGN_IN = 501;

describe('gateway: sign-in limits per address and per subject, and trusted proxies', function () {
  this.timeout(60_000);
  const keys = { early: crypto.randomBytes(24).toString('hex'), late: crypto.randomBytes(24).toString('hex') };
  let direct: RunningGateway;
  let proxied: RunningGateway;

  before(async function () {
    requireNetwork(this);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-signin-'));
    const keysFile = path.join(dir, 'api-keys.json');
    const entry = (key: string, sub: string) => ({ sha256: crypto.createHash('sha256').update(key).digest('hex'), sub, org: 'regulator', role: 'regulator' });
    fs.writeFileSync(keysFile, JSON.stringify([entry(keys.early, 'gw-signin-machine-1'), entry(keys.late, 'gw-signin-machine-2')]));
    const common = { GATEWAY_AUTH_FAILURES_PER_WINDOW: '3', GATEWAY_RATE_LIMIT_WINDOW_MS: '600000', GATEWAY_API_KEYS_FILE: keysFile, GATEWAY_OCR_ENABLED: '0' };
    direct = await startTestGateway(common);
    proxied = await startTestGateway({ ...common, GATEWAY_TRUSTED_PROXIES: '127.0.0.1,::1' });
  });
  after(async () => {
    await direct?.close();
    await proxied?.close();
  });

  const kpis = (gw: RunningGateway, headers: Record<string, string>) => new Client(gw.url).get('/v1/regulator/kpis', headers);
  const bearer = (t: string, forwardedFor?: string) => ({ authorization: `Bearer ${t}`, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) });
  const apiKey = (k: string) => ({ 'x-api-key': k });

  it('an address past its failures: guesses get 429, valid JWTs (new ones too) and API keys that worked before get through', async () => {
    const user = await token({ sub: 'gw-signin-user-1', org: 'regulator', role: 'regulator' });
    expect((await kpis(direct, bearer(user))).status).to.equal(PAST_SIGN_IN);
    expect((await kpis(direct, apiKey(keys.early))).status).to.equal(PAST_SIGN_IN);
    // Without a trusted proxy, X-Forwarded-For changes nothing: all of these count against loopback.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await kpis(direct, { ...apiKey(crypto.randomBytes(24).toString('hex')), 'x-forwarded-for': `10.1.0.${i}` })).status);
    expect(statuses).to.deep.equal([401, 401, 401, 429, 429]);
    const guess = await kpis(direct, bearer('not-a-token'));
    expect(guess.status).to.equal(429);
    expect(guess.body.error.code).to.equal('RATE_LIMITED');
    expect(Number(guess.headers.get('retry-after'))).to.be.greaterThan(0);

    // The plant's users at the same address keep working: a token in use, and one issued just now.
    expect((await kpis(direct, bearer(user))).status).to.equal(PAST_SIGN_IN);
    const fresh = await token({ sub: 'gw-signin-user-2', org: 'regulator', role: 'regulator' });
    expect((await kpis(direct, bearer(fresh))).status).to.equal(PAST_SIGN_IN);
    // An API key can be guessed by trial, so a blocked address checks only keys that worked before:
    // the machine already signed in passes, a valid key never seen yet waits like a guess.
    expect((await kpis(direct, apiKey(keys.early))).status).to.equal(PAST_SIGN_IN);
    const unseen = await kpis(direct, apiKey(keys.late));
    expect(unseen.status).to.equal(429);
    // A forged token from the blocked address is refused with 429, not let through.
    const forged = await token({ sub: 'gw-signin-user-1', org: 'regulator', role: 'regulator' }, { secret: FORGED_SECRET });
    expect((await kpis(direct, bearer(forged))).status).to.equal(429);
  });

  it('failures are counted per claimed subject too: forged tokens for one user from many addresses block new tokens for that user only', async () => {
    const victim = 'gw-signin-victim';
    const inUse = await token({ sub: victim, org: 'regulator', role: 'regulator' });
    expect((await kpis(proxied, bearer(inUse, '10.2.0.1'))).status).to.equal(PAST_SIGN_IN);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const forged = await token({ sub: victim, org: 'regulator', role: 'regulator' }, { secret: FORGED_SECRET, expiresIn: `${60 + i}m` });
      statuses.push((await kpis(proxied, bearer(forged, `10.3.0.${i}`))).status);
    }
    expect(statuses).to.deep.equal([401, 401, 401, 429]);
    const newForVictim = await token({ sub: victim, org: 'regulator', role: 'regulator' }, { expiresIn: '2h' });
    expect((await kpis(proxied, bearer(newForVictim, '10.2.0.1'))).status).to.equal(429);
    // The token the user already signed in with still works, and so does everybody else.
    expect((await kpis(proxied, bearer(inUse, '10.2.0.1'))).status).to.equal(PAST_SIGN_IN);
    const other = await token({ sub: 'gw-signin-bystander', org: 'regulator', role: 'regulator' });
    expect((await kpis(proxied, bearer(other, '10.3.0.9'))).status).to.equal(PAST_SIGN_IN);
  });

  it('behind a trusted proxy, X-Forwarded-For names the client: one blocked client does not block the next', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await kpis(proxied, { ...apiKey(crypto.randomBytes(24).toString('hex')), 'x-forwarded-for': '10.4.0.1' })).status);
    expect(statuses).to.deep.equal([401, 401, 401, 429]);
    expect((await kpis(proxied, { ...apiKey(crypto.randomBytes(24).toString('hex')), 'x-forwarded-for': '10.4.0.2' })).status).to.equal(401);
    // The never-seen valid key: 429 from the blocked client, accepted from another one.
    expect((await kpis(proxied, { ...apiKey(keys.late), 'x-forwarded-for': '10.4.0.1' })).status).to.equal(429);
    expect((await kpis(proxied, { ...apiKey(keys.late), 'x-forwarded-for': '10.4.0.3' })).status).to.equal(PAST_SIGN_IN);
  });
});
