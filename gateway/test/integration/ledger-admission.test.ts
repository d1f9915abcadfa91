/**
 * A burst larger than the gateway admits at its peer (GATEWAY_LEDGER_MAX_IN_FLIGHT and
 * GATEWAY_LEDGER_MAX_QUEUED set small here): the calls past the bound are answered 503
 * LEDGER_UNAVAILABLE with Retry-After before anything is endorsed, none 500; every admitted write
 * commits; a refused write left nothing (its Idempotency-Key takes the same request again) and the
 * gauges and counter say what happened. The bound's own rules: unit/ledger-admission.test.ts.
 */
import * as crypto from 'node:crypto';
import { expect } from 'chai';
import type { RunningGateway } from '../../src/server.js';
import { Client, createDatabase, dropDatabase, requireNetwork, scratchDir, startTestGateway } from '../support/env.js';
import { applyBody, type Cast, makeCast, registerCast, uniqueId } from '../support/scenario.js';

const METRICS_TOKEN = crypto.randomBytes(24).toString('hex');

describe('gateway: ledger calls held below the peer, a burst past the bound answered 503 (real network)', function () {
  this.timeout(180_000);
  let gw: RunningGateway;
  let db: string;
  let cast: Cast;

  before(async function () {
    requireNetwork(this);
    db = await createDatabase('gw_admission');
    gw = await startTestGateway({
      GATEWAY_STATE_DATABASE_URL: db,
      GATEWAY_WALLET_DIR: scratchDir('gw-admission-wallet-'),
      GATEWAY_RETRY_AFTER_SECONDS: '3',
      GATEWAY_LEDGER_MAX_IN_FLIGHT: '2',
      GATEWAY_LEDGER_MAX_QUEUED: '3',
      GATEWAY_METRICS_TOKEN: METRICS_TOKEN,
    });
    cast = await makeCast(new Client(gw.url));
    await registerCast(cast);
  });
  after(async () => {
    await gw?.close();
    await dropDatabase(db);
  });

  it('admits 2 at the peer and 3 waiting; the rest of a burst of 16 writes are 503 with Retry-After, and nothing of theirs is written', async () => {
    const applications = Array.from({ length: 16 }, (_, i) => {
      const permitNo = uniqueId(`ADM${i}`);
      return { permitNo, key: `admission-${permitNo}`, body: applyBody(cast, permitNo) };
    });
    const replies = await Promise.all(applications.map((a) => cast.clients.applicant.post('/v1/permits', a.body, { idem: a.key })));
    const statuses = replies.map((r) => r.status);
    expect(
      statuses.filter((s) => s !== 201 && s !== 503),
      JSON.stringify(statuses),
    ).to.deep.equal([]);
    const refused = replies.flatMap((r, i) => (r.status === 503 ? [i] : []));
    // At least the 11 past 2 + 3 are refused at once; more only if a write took the 10 s wait.
    expect(refused.length, JSON.stringify(statuses)).to.be.at.least(11);
    for (const i of refused) {
      expect(replies[i]!.body.error.code).to.equal('LEDGER_UNAVAILABLE');
      expect(replies[i]!.body.error.message).to.match(/the enterprise ledger is at capacity: .*; nothing was written, retry later/);
      expect(replies[i]!.headers.get('retry-after')).to.equal('3');
    }
    const metrics = (await new Client(gw.url).as(METRICS_TOKEN).get('/metrics')).text;
    expect(metrics).to.match(/gateway_ledger_admission_refusals_total\{org="enterprise",reason="queue_full"\} (\d+)/);
    expect(Number(/gateway_ledger_admission_refusals_total\{org="enterprise",reason="queue_full"\} (\d+)/.exec(metrics)![1])).to.be.at.least(11);
    expect(metrics).to.contain('gateway_ledger_calls_in_flight{org="enterprise"} 0');
    expect(metrics).to.contain('gateway_ledger_calls_queued{org="enterprise"} 0');

    // A refused application was never endorsed: the permit does not exist, and its key takes the same request again.
    const first = applications[refused[0]!]!;
    expect((await cast.clients.applicant.get(`/v1/permits/${first.permitNo}`)).status).to.equal(404);
    const again = await cast.clients.applicant.post('/v1/permits', first.body, { idem: first.key });
    expect(again.status, again.text).to.equal(201);
    expect(again.body.record).to.include({ permitNo: first.permitNo, status: 'applied' });
    for (const [i, a] of applications.entries()) {
      if (statuses[i] === 201) expect(replies[i]!.body.record).to.include({ permitNo: a.permitNo, status: 'applied' });
    }
  });
});
