/**
 * A burst of failed sign-ins against the gateway as a process of its own (src/main.ts): hundreds of
 * bad API keys and forged tokens in parallel, each new. The limiter answers 429 with Retry-After,
 * the process stays up, a legitimate user is answered throughout as before the burst, and its
 * resident memory grows by a bounded amount. Sign-in touches neither Fabric nor PostgreSQL: the
 * legitimate user's answer is 501 NOT_CONFIGURED (no query database), which comes after sign-in.
 */
import * as crypto from 'node:crypto';
import { expect } from 'chai';
import { Client, requireNetwork, token } from '../support/env.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';

const BURST = 800;
const PARALLEL = 64;
const FORGED_SECRET = 'not-the-gateway-secret-not-the-gateway-secret';
/** Growth of resident memory allowed over the burst: far below what a leak of one entry per request body would reach. */
const MAX_RSS_GROWTH = 64 * 1024 * 1024;

describe('gateway: a burst of failed sign-ins (bad API keys, forged tokens) in parallel', function () {
  this.timeout(180_000);
  let gw: GatewayProcess;

  before(async function () {
    requireNetwork(this);
    gw = await startGatewayProcess({ GATEWAY_AUTH_FAILURES_PER_WINDOW: '5', GATEWAY_RATE_LIMIT_WINDOW_MS: '600000', GATEWAY_OCR_ENABLED: '0' });
  });
  after(async () => {
    await gw?.stop();
  });

  it('answers 429 with Retry-After past the limit, keeps answering a signed-in user, and stays within its memory', async () => {
    const kpis = (headers: Record<string, string>) => new Client(gw.url).get('/v1/regulator/kpis', headers);
    const user = await token({ sub: 'gw-burst-user', org: 'regulator', role: 'regulator' });
    const before = await kpis({ authorization: `Bearer ${user}` });
    expect(before.status).to.not.be.oneOf([401, 429]);
    // Warm the process (JIT, buffers) before the baseline, so the figure is the burst's own.
    // Its first failures get 401, then the address is blocked.
    const warm: number[] = [];
    for (let i = 0; i < 50; i++) warm.push((await kpis({ 'x-api-key': crypto.randomBytes(24).toString('hex') })).status);
    expect(warm.slice(0, 6)).to.deep.equal([401, 401, 401, 401, 401, 429]);
    const baseline = gw.memory().rss;

    const forged = await token({ sub: 'gw-burst-victim', org: 'regulator', role: 'regulator' }, { secret: FORGED_SECRET });
    const bad = (i: number): Record<string, string> =>
      i % 3 === 0
        ? { 'x-api-key': crypto.randomBytes(24).toString('hex') }
        : i % 3 === 1
          ? { authorization: `Bearer ${forged.slice(0, -8)}${crypto.randomBytes(4).toString('hex')}` }
          : { authorization: `Bearer not-a-jwt-${i}` };
    const statuses = new Map<number, number>();
    const retryAfter: number[] = [];
    const legit: number[] = [];
    let next = 0;
    const worker = async () => {
      while (next < BURST) {
        const i = next++;
        const r = await kpis(bad(i));
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 429) {
          expect(r.body.error.code).to.equal('RATE_LIMITED');
          retryAfter.push(Number(r.headers.get('retry-after')));
        }
        // A signed-in user among the burst, every so often.
        if (i % 40 === 0) legit.push((await kpis({ authorization: `Bearer ${user}` })).status);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));

    // All the burst comes from the blocked address: every guess gets 429, none is checked.
    expect([...statuses.entries()]).to.deep.equal([[429, BURST]]);
    expect(retryAfter.length).to.equal(BURST);
    expect(retryAfter.every((s) => Number.isInteger(s) && s > 0)).to.equal(true);
    expect(legit.length).to.equal(BURST / 40);
    expect(legit.every((s) => s === before.status)).to.equal(true);
    expect((await fetch(`${gw.url}/healthz`)).status).to.equal(200);
    expect((await kpis({ authorization: `Bearer ${user}` })).status).to.equal(before.status);
    const grown = gw.memory().rss - baseline;
    expect(grown, `resident memory grew ${Math.round(grown / 1048576)} MiB over ${BURST} failed sign-ins`).to.be.below(MAX_RSS_GROWTH);
  });
});
