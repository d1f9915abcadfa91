/**
 * The routes the supervision screen reads, on the real network and a real mirror: the session's
 * views per role, the live alarm stream's access and its snapshot, an alarm pushed on the
 * indexer's notification, the stream ended when the gateway closes, the screen's files and their
 * caching, and NOT_CONFIGURED without the mirror. The screen itself is tested in Chromium
 * in web/test/integration/screen.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import type { RunningGateway } from '../../src/server.js';
import { Client, chainHeight, createDatabase, dropDatabase, requireNetwork, startTestGateway, token } from '../support/env.js';
import { type RunningIndexer, startIndexer } from '../support/indexer.js';
import { makeCast, recordCameraAlarm, registerCast } from '../support/scenario.js';

/** The events of a server-sent event stream, each as its name and parsed data, as they arrive. */
async function* events(res: Response): AsyncGenerator<{ event: string; data: Record<string, unknown> }> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  for (;;) {
    for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
      const block = text.slice(0, end).split('\n');
      text = text.slice(end + 2);
      const data = block.find((l) => l.startsWith('data: '));
      if (data) yield { event: block.find((l) => l.startsWith('event: '))!.slice(7), data: JSON.parse(data.slice(6)) as Record<string, unknown> };
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended: ${text}`);
    text += value;
  }
}

/** Reads a stream's first event (name and data) and leaves the stream open. */
async function firstEvent(res: Response): Promise<{ event: string; data: Record<string, unknown> }> {
  const { value } = await events(res).next();
  return value!;
}

describe('gateway: the supervision screen routes (real network and mirror)', function () {
  this.timeout(180_000);
  let db: string | undefined;
  let indexer: RunningIndexer | undefined;
  let gw: RunningGateway | undefined;
  const as = async (org: 'enterprise' | 'regulator', role: string) =>
    new Client(gw!.url).as(await token({ sub: `screen-${role}-${Date.now().toString(36)}`, org, role: role as never }));

  before(async function () {
    requireNetwork(this);
    db = await createDatabase('gw_screenroutes');
    indexer = startIndexer(db);
    await indexer.waitForBlock((await chainHeight()) - 1);
    gw = await startTestGateway({ DATABASE_URL: db, GATEWAY_ALARM_STREAM_POLL_MS: '100' });
  });
  after(async () => {
    await gw?.close();
    await indexer?.stop();
    await dropDatabase(db);
  });

  it('tells each role the views its routes allow, and the site time zone', async () => {
    const views = async (org: 'enterprise' | 'regulator', role: string) => {
      const r = await (await as(org, role)).get('/v1/session');
      expect(r.status, r.text).to.equal(200);
      expect(r.body).to.include({ org, role, timeZone: 'Asia/Shanghai' });
      return r.body.views;
    };
    expect(await views('regulator', 'regulator')).to.deep.equal(['alarms', 'permits', 'kpis', 'risk', 'timeline', 'verify']);
    expect(await views('enterprise', 'safety_officer')).to.deep.equal(['alarms', 'acknowledge', 'permits', 'kpis', 'risk', 'timeline', 'verify']);
    expect(await views('enterprise', 'guardian')).to.deep.equal(['alarms', 'acknowledge']);
    expect(await views('enterprise', 'applicant')).to.deep.equal([]);
    expect((await new Client(gw!.url).get('/v1/session')).status).to.equal(401);
  });

  it('streams a snapshot of open alarms to those who watch alarms, refuses other roles, and ends the stream when the gateway closes', async () => {
    const refused = await (await as('enterprise', 'applicant')).get('/v1/alarm-stream');
    expect(refused.status).to.equal(403);
    expect(refused.body.error.code).to.equal('FORBIDDEN');
    const t = await token({ sub: 'screen-stream-reg', org: 'regulator', role: 'regulator' });
    const res = await fetch(`${gw!.url}/v1/alarm-stream`, { headers: { authorization: `Bearer ${t}` } });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/event-stream/);
    const first = await firstEvent(res);
    expect(first.event).to.equal('snapshot');
    expect(first.data.block).to.be.a('number').and.to.be.at.least(0);
    expect(first.data.alarms).to.be.an('array');
    // The document describes one event (the fuzzer leaves this never-ending stream out): its fields as sent.
    const doc = (await new Client(gw!.url).get('/openapi.json')).body;
    const eventSchema = doc.paths['/v1/alarm-stream'].get.responses['200'].content['text/event-stream'].schema;
    expect(eventSchema.properties.event.enum).to.include(first.event);
    expect(eventSchema.properties.data.type, 'data is the JSON text of the event').to.equal('string');
    expect(eventSchema.required).to.include.members(['event', 'data']);
    expect(gw!.services.alarmFeed!.size).to.equal(1);
    // An open stream must not keep the server from closing.
    await gw!.close();
    expect(gw!.services.alarmFeed!.size).to.equal(0);
    gw = undefined;
  });

  it("pushes a recorded alarm on the indexer's notification, with the poll an hour away", async () => {
    const listening = await startTestGateway({ DATABASE_URL: db!, GATEWAY_ALARM_STREAM_POLL_MS: '1h' });
    try {
      const cast = await makeCast(new Client(listening.url));
      await registerCast(cast);
      // The gate user (who records the alarm, as ingest would) gets its Fabric identity on its first ledger read.
      await cast.clients.gate.get(`/v1/devices/cam-${cast.tag}`);
      const t = await token({ sub: `screen-notify-${cast.tag}`, org: 'regulator', role: 'regulator' });
      const abort = new AbortController();
      const res = await fetch(`${listening.url}/v1/alarm-stream`, { headers: { authorization: `Bearer ${t}` }, signal: abort.signal });
      const stream = events(res);
      expect((await stream.next()).value!.event).to.equal('snapshot');
      const alarmId = `notify-${cast.tag}`;
      await recordCameraAlarm(cast, listening.services.config.GATEWAY_WALLET_DIR, alarmId, { areaId: 'zone-8', grade: 2 });
      // The poll would not run within the test's time: only the NOTIFY after the indexer's batch brings it.
      for await (const e of stream) {
        const alarms = (e.data.alarms ?? []) as { alarmId: string; grade: number; status: string }[];
        const mine = alarms.find((a) => a.alarmId === alarmId);
        if (e.event !== 'alarms' || !mine) continue;
        expect(mine).to.include({ grade: 2, status: 'open' });
        break;
      }
      abort.abort();
    } finally {
      await listening.close();
    }
  });

  it("gives the work units' violations on the risk map's first page only, not on the next pages or one site's areas", async () => {
    const risk = await startTestGateway({ DATABASE_URL: db! });
    try {
      const cast = await makeCast(new Client(risk.url));
      await registerCast(cast);
      await cast.clients.gate.get(`/v1/devices/cam-${cast.tag}`);
      await recordCameraAlarm(cast, risk.services.config.GATEWAY_WALLET_DIR, `risk-${cast.tag}`, { areaId: 'zone-3', grade: 3 });
      await indexer!.waitForBlock((await chainHeight()) - 1);
      const regulator = new Client(risk.url).as(await token({ sub: `screen-risk-${cast.tag}`, org: 'regulator', role: 'regulator' }));
      const first = await regulator.get('/v1/regulator/risk-map?limit=1');
      expect(first.status, first.text).to.equal(200);
      expect(first.body.workUnits).to.be.an('array');
      expect(first.body.sites).to.have.length(1);
      const next = await regulator.get(`/v1/regulator/risk-map?cursor=${encodeURIComponent(first.body.sites[0])}`);
      expect(next.status, next.text).to.equal(200);
      expect(next.body).to.not.have.property('workUnits');
      expect(next.body.sites).to.not.include(first.body.sites[0]);
      const site = await regulator.get(`/v1/regulator/risk-map?site=${cast.siteId}`);
      expect(site.status, site.text).to.equal(200);
      expect(site.body).to.not.have.property('workUnits');
      expect(site.body.cells.map((c: { areaId: string; alarms: number }) => [c.areaId, c.alarms])).to.deep.equal([['zone-3', 1]]);
    } finally {
      await risk.close();
    }
  });

  it('serves the screen under its content security policy: hashed chunks kept for good, the page and its entry revalidated', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'screen-'));
    fs.mkdirSync(path.join(dir, 'chunks'));
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>screen</title><script type="module" src="app.js"></script>');
    fs.writeFileSync(path.join(dir, 'app.js'), 'import("./chunks/uPlot-ABC123.js");');
    fs.writeFileSync(path.join(dir, 'chunks', 'uPlot-ABC123.js'), 'export default 1;');
    const served = await startTestGateway({ GATEWAY_WEB_APP_DIR: dir });
    try {
      const page = await fetch(`${served.url}/app/`);
      expect(page.status).to.equal(200);
      expect(page.headers.get('cache-control')).to.equal('no-cache');
      expect(page.headers.get('content-security-policy')).to.include("script-src 'self'");
      const entry = await fetch(`${served.url}/app/app.js`);
      expect(entry.headers.get('cache-control')).to.equal('no-cache');
      const etag = entry.headers.get('etag');
      expect(etag, 'an entry that keeps its name is revalidated by its ETag').to.be.a('string');
      // As a browser revalidates (fetch would add `Cache-Control: no-cache`, which asks for the whole file).
      const again = await fetch(`${served.url}/app/app.js`, { headers: { 'if-none-match': etag!, 'cache-control': 'max-age=0' } });
      expect(again.status).to.equal(304);
      const chunk = await fetch(`${served.url}/app/chunks/uPlot-ABC123.js`);
      expect(chunk.status).to.equal(200);
      expect(chunk.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
    } finally {
      await served.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers NOT_CONFIGURED without the mirror (DATABASE_URL unset)', async () => {
    const bare = await startTestGateway({});
    try {
      const c = new Client(bare.url).as(await token({ sub: 'screen-bare', org: 'regulator', role: 'regulator' }));
      for (const p of ['/v1/alarm-stream', '/v1/regulator/areas', '/v1/regulator/risk-map']) {
        const r = await c.get(p);
        expect(r.status, `${p}: ${r.text}`).to.equal(501);
        expect(r.body.error.code).to.equal('NOT_CONFIGURED');
      }
    } finally {
      await bare.close();
    }
  });
});
