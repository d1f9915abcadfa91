/**
 * The supervision screen against the real stack: the Fabric network, the indexer mirroring it into
 * PostgreSQL, the gateway serving the screen at /app/, ingest reading a Mosquitto broker, and
 * Debian's Chromium. A permit goes to active with an evidence file; a gas leak published on MQTT
 * reaches the screen as a new alarm without a reload; the safety officer acknowledges it on the
 * screen and the regulator's response-time KPI counts it; the regulator opens the permit's timeline
 * and Verify passes in the browser, then fails naming the evidence file after one byte of it is
 * changed in the content store. Every view is checked with axe-core and saved as a screenshot.
 *
 * A second enterprise org is onboarded for the suite (scripts/org-add.sh, test/support/enterprises.ts
 * of the gateway) and applies for a permit through a gateway of its own: the first enterprise's
 * safety officer sees their own permit on the screen and not the other's, and the API calls the
 * page makes, sent directly with that user's token, return only their own enterprise's records and
 * refuse the other's permit timeline and bundle; the regulator sees both.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connectionProfileSchema } from '@compliance-ledger/schema';
import { decodeBlock, headerHash, toHex } from '@compliance-ledger/verifier';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import type { RunningGateway } from '../../../gateway/src/server.js';
import { regulatorBlockSource } from '../../../gateway/test/support/blocks.js';
import { launchChromium } from '../../../gateway/test/support/browser.js';
import { type AddedEnterprise, addEnterprise } from '../../../gateway/test/support/enterprises.js';
import { Client, chainHeight, createDatabase, dropDatabase, requireNetwork, startTestGateway, token } from '../../../gateway/test/support/env.js';
import { type RunningIndexer, startIndexer } from '../../../gateway/test/support/indexer.js';
import { type Cast, castWithPermit, makeCast, registerCast, startPermit, uniqueId, uploadEvidence } from '../../../gateway/test/support/scenario.js';
import { JPEG_HEAD } from '../../../gateway/test/support/tus.js';
import { loadConfig } from '../../../ingest/src/config.js';
import { type IngestService, startIngest } from '../../../ingest/src/ingest-service.js';
import type { OutboxEntry } from '../../../ingest/src/outbox/outbox.js';
import { DeviceKeyring, generateKeyFile, generateServiceKey, publicRegistry, writeKeyFile } from '../../../ingest/src/pipeline/device-keys.js';
import { startTestBroker, type TestBroker } from '../../../ingest/test/support/broker.js';
import { enrollUser, publishGasLeak, runLayout } from '../../../ingest/test/support/network.js';
import { waitFor } from '../../../ingest/test/support/temp.js';
import { layoutDeviceIds } from '../../../ingest/tools/site-layout.js';
import { buildScreen } from '../../tools/build.js';
import { auditView, outputDir, signIn } from '../support/screen.js';

/** A generous bound for what the stack does in seconds (commit, mirror, push): not a timing assertion. */
const ARRIVAL_MS = 90_000;

describe('supervision screen in Chromium against the real stack', function () {
  // Onboarding the second enterprise takes 15-60 s of the suite's setup on a loaded machine.
  this.timeout(600_000);
  let db: string | undefined;
  let indexer: RunningIndexer | undefined;
  let gw: RunningGateway;
  let cast: Cast;
  let browser: Browser;
  let broker: TestBroker;
  let ingest: IngestService | undefined;
  let scratch: string;
  let enterprisePage: Page;
  let regulatorPage: Page;
  let safetyToken: string;
  let permitNo: string;
  let other: AddedEnterprise | undefined;
  let otherPermitNo: string;
  let evidenceCid: string;
  let alarmId: string;
  const critical: Record<string, string[]> = {};

  before(async function () {
    requireNetwork(this);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'web-screen-'));
    const webDir = path.join(scratch, 'web');
    await buildScreen(webDir);
    db = await createDatabase('gw_screen');
    indexer = startIndexer(db);
    gw = await startTestGateway({ DATABASE_URL: db, GATEWAY_WEB_APP_DIR: webDir, GATEWAY_EVIDENCE_MAX_BYTES: '1000000' });
    cast = await makeCast(new Client(gw.url));
    await registerCast(cast);
    permitNo = uniqueId('WS');
    expect((await startPermit(cast, permitNo)).status).to.equal('active');
    const photo = Buffer.alloc(300_000, 7); // two chunks: one leaf can be changed on disk
    JPEG_HEAD.copy(photo); // the gateway checks the declared type against the bytes
    photo.write('gas meter photo', JPEG_HEAD.length);
    evidenceCid = await uploadEvidence(cast, permitNo, photo, 'meter.jpg', 'image/jpeg');
    safetyToken = await token({ sub: `gw-safety-${cast.tag}`, org: 'enterprise', role: 'safety_officer' });
    // The other enterprise applies for a permit through its own gateway (GATEWAY_ORG=enterprise with its profile).
    other = addEnterprise('w');
    // Its idempotency records in the suite's database; it reads no mirror.
    const otherGateway = await startTestGateway({ ...other.gatewayEnv, GATEWAY_STATE_DATABASE_URL: db });
    try {
      otherPermitNo = (await castWithPermit(new Client(otherGateway.url))).permitNo;
    } finally {
      await otherGateway.close();
    }
    broker = await startTestBroker(scratch);
    browser = await launchChromium();
  });

  after(async () => {
    await ingest?.stop();
    await browser?.close();
    await broker?.stop();
    await gw?.close();
    await indexer?.stop();
    await dropDatabase(db);
    other?.remove();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    console.log(`      screenshots and axe reports: ${outputDir()}`);
  });

  afterEach(function () {
    // Each test's axe findings are asserted in the test; this names them all once more on failure.
    if (this.currentTest?.state === 'failed' && Object.keys(critical).length) console.log(JSON.stringify(critical, null, 2));
  });

  const audit = async (page: Page, name: string) => {
    critical[name] = await auditView(page, name);
    expect(critical[name], `critical accessibility violations in ${name}`).to.deep.equal([]);
  };

  it('the page loads and the user signs in with the same token as the API; a wrong token is refused with the reason', async () => {
    const page = await browser.newPage();
    await page.goto(`${gw.url}/app/`);
    await page.locator('#credential').waitFor();
    await audit(page, '01-sign-in');
    await page.locator('#credential').fill('not-a-token');
    await page.getByRole('button', { name: /登录|Sign in/ }).click();
    await expect(await page.getByRole('alert').textContent()).to.match(/UNAUTHENTICATED/);
    await page.close();

    enterprisePage = await signIn(browser, gw.url, safetyToken);
    expect(await enterprisePage.locator('[data-testid="who"]').textContent()).to.contain(`gw-safety-${cast.tag} (enterprise / safety_officer)`);
    regulatorPage = await signIn(browser, gw.url, await token({ sub: `gw-regulator-${cast.tag}`, org: 'regulator', role: 'regulator' }));
    const tabs = await regulatorPage.locator('nav a').allTextContents();
    expect(tabs).to.deep.equal(['实时报警', '作业票', '指标', '风险分析', '作业票追溯']);
    // Labels switch to English and back; the choice is the browser's.
    await regulatorPage.getByRole('button', { name: 'English' }).click();
    expect(await regulatorPage.locator('nav a').allTextContents()).to.deep.equal(['Live alarms', 'Permits', 'KPIs', 'Risk analysis', "Permit's timeline"]);
    expect(await regulatorPage.evaluate(() => document.documentElement.lang)).to.equal('en');
  });

  it("an enterprise user sees their own enterprise's permits and not another's, on screen and through the API the page calls", async () => {
    await indexer!.waitForBlock((await chainHeight()) - 1);
    expect(await enterprisePage.locator('nav a').allTextContents()).to.deep.equal(['实时报警', '作业票', '指标', '风险分析', '作业票追溯']);
    expect(await enterprisePage.locator('[data-testid="scope"]').getAttribute('data-enterprise')).to.equal('EnterpriseMSP');
    // The regulator's list has both permits (the other one, applied later, above): the window the enterprise's page shows covers both.
    await regulatorPage.goto(`${gw.url}/app/#/permits`);
    await regulatorPage.locator(`tr[data-permit-no="${otherPermitNo}"][data-org="${other!.msp}"]`).waitFor({ timeout: ARRIVAL_MS });
    await regulatorPage.locator(`tr[data-permit-no="${permitNo}"][data-org="EnterpriseMSP"]`).waitFor();
    await enterprisePage.goto(`${gw.url}/app/#/permits`);
    await enterprisePage.locator(`tr[data-permit-no="${permitNo}"]`).waitFor({ timeout: ARRIVAL_MS });
    expect(await enterprisePage.locator(`tr[data-permit-no="${otherPermitNo}"]`).count()).to.equal(0);
    const orgs = new Set(await enterprisePage.locator('tr[data-permit-no]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-org'))));
    expect([...orgs]).to.deep.equal(['EnterpriseMSP']);
    await audit(enterprisePage, '02-enterprise-permits');
    // Typed into the address bar, the other's permit number opens nothing: it reads as an unknown permit.
    await enterprisePage.goto(`${gw.url}/app/#/timeline/${otherPermitNo}`);
    expect(await enterprisePage.locator('main[data-view="timeline"] [role="alert"]').textContent()).to.contain('NOT_FOUND');
    expect(await enterprisePage.locator('tr[data-event]').count()).to.equal(0);
    await audit(enterprisePage, '02-enterprise-other-timeline');

    // The same calls the page makes, sent directly with the enterprise user's token.
    const api = new Client(gw.url).as(safetyToken);
    const listed = await api.get('/v1/regulator/permits?limit=500');
    expect(listed.status, listed.text).to.equal(200);
    const nos = listed.body.items.map((p: { permitNo: string }) => p.permitNo);
    expect(nos).to.include(permitNo).and.not.include(otherPermitNo);
    expect(new Set(listed.body.items.map((p: { orgMsp: string }) => p.orgMsp))).to.deep.equal(new Set(['EnterpriseMSP']));
    const named = await api.get(`/v1/regulator/permits?org=${other!.msp}`);
    expect(named.status, named.text).to.equal(403);
    expect(named.body.error.code).to.equal('OTHER_ENTERPRISE');
    const kpis = await api.get('/v1/regulator/kpis');
    expect(kpis.body.byEnterprise.map((e: { orgMsp: string }) => e.orgMsp)).to.deep.equal(['EnterpriseMSP']);
    const areas = await api.get('/v1/regulator/areas');
    expect(areas.status, areas.text).to.equal(200);
    expect(areas.body.items.flatMap((a: { activePermits: string[] }) => a.activePermits))
      .to.include(permitNo)
      .and.not.include(otherPermitNo);
    expect((await api.get('/v1/regulator/risk-map')).status).to.equal(200);
    expect((await api.get(`/v1/regulator/permits/${permitNo}/timeline`)).status).to.equal(200);
    const timeline = await api.get(`/v1/regulator/permits/${otherPermitNo}/timeline`);
    expect(timeline.status, timeline.text).to.equal(404);
    expect(timeline.body.error.code).to.equal('NOT_FOUND');
    const bundle = await api.download(`/v1/audit/permits/${otherPermitNo}/bundle`);
    expect(bundle.status, bundle.text).to.equal(404);
    expect(JSON.parse(bundle.text).error.code).to.equal('NOT_FOUND');
    // The regulator's API gives both enterprises' permits.
    const regulatorApi = new Client(gw.url).as(await token({ sub: `gw-regulator-${cast.tag}`, org: 'regulator', role: 'regulator' }));
    for (const no of [permitNo, otherPermitNo]) expect((await regulatorApi.get(`/v1/regulator/permits/${no}/timeline`)).status).to.equal(200);

    await enterprisePage.goto(`${gw.url}/app/#/alarms`);
    await enterprisePage.locator('[data-testid="stream-state"]', { hasText: '实时连接' }).waitFor({ timeout: ARRIVAL_MS });
  });

  it('a gas leak published on MQTT appears on the screen as a new alarm, without a reload', async () => {
    const profile = connectionProfileSchema.parse(JSON.parse(fs.readFileSync(process.env.LEDGER_CONNECTION_PROFILE!, 'utf8')));
    // The simulator's site, with this run's own device ids (the ledger's are global).
    const layout = runLayout(cast.tag);
    const tank = layout.areas.find((a) => a.areaId === 'tank-farm')!;
    const keyFile = generateKeyFile(layoutDeviceIds(layout));
    const devices = new DeviceKeyring(keyFile);
    const service = generateServiceKey(`ingest-${cast.tag}`);
    const registry = path.join(scratch, 'devices.json');
    const serviceKeyPath = path.join(scratch, 'ingest-key.json');
    fs.writeFileSync(registry, JSON.stringify(publicRegistry(keyFile)));
    writeKeyFile(serviceKeyPath, service);
    const safety = new Client(gw.url).as(safetyToken);
    for (const d of [
      { deviceId: tank.gasDeviceId, kind: 'sensor', address: devices.wallet(tank.gasDeviceId)!.address, areaId: tank.areaId },
      { deviceId: tank.cameraDeviceId, kind: 'camera', address: devices.wallet(tank.cameraDeviceId)!.address, areaId: tank.areaId },
      { deviceId: service.serviceId, kind: 'ingest_service', address: service.address, areaId: 'ingest' },
    ]) {
      const r = await safety.post('/v1/devices', { ...d, siteId: cast.siteId });
      expect(r.status, r.text).to.equal(201);
    }
    const identity = enrollUser(profile, `screen-ingest-${cast.tag}`, 'device_gateway');
    const topicRoot = `screen-${randomUUID().slice(0, 8)}`;
    ingest = await startIngest(
      loadConfig({
        INGEST_MQTT_URL: broker.url,
        INGEST_MQTT_CLIENT_ID: `ingest-${randomUUID()}`,
        INGEST_TOPIC_ROOT: topicRoot,
        INGEST_DATA_DIR: path.join(scratch, 'ingest-data'),
        INGEST_DEVICE_REGISTRY_FILE: registry,
        INGEST_SERVICE_KEY_FILE: serviceKeyPath,
        INGEST_HTTP_PORT: '0',
        LOG_LEVEL: 'silent',
        INGEST_RETRY_MIN_MS: '100',
        INGEST_RETRY_MAX_MS: '1000',
        INGEST_FABRIC_CONNECTION_PROFILE: process.env.LEDGER_CONNECTION_PROFILE!,
        INGEST_FABRIC_IDENTITY_DIR: path.dirname(path.dirname(path.dirname(identity.certPath))),
      }),
    );
    const raised: OutboxEntry[] = [];
    ingest.outbox.on('enqueued', (e: OutboxEntry) => raised.push(e));
    const before = await enterprisePage.locator('tr[data-alarm-id]').count();
    await publishGasLeak(broker.url, devices, layout, topicRoot);
    const isGas = (e: OutboxEntry) => e.alarm.fields.kind === 'flammable_gas_above_permit_criterion';
    await waitFor(() => raised.some(isGas), ARRIVAL_MS, 'the gas alarm to be raised');
    alarmId = raised.find(isGas)!.alarm.fields.alarmId;
    await waitFor(() => ingest!.outbox.outcome(alarmId) !== undefined, ARRIVAL_MS, 'the gas alarm to reach the ledger');
    expect(ingest.outbox.outcome(alarmId)).to.deep.include({ status: 'committed' });
    // Pushed: the page was neither reloaded nor navigated since it connected.
    const row = enterprisePage.locator(`tr[data-alarm-id="${alarmId}"]`);
    await row.waitFor({ timeout: ARRIVAL_MS });
    expect(await enterprisePage.locator('tr[data-alarm-id]').count()).to.be.greaterThan(before);
    expect(await row.getAttribute('data-status')).to.equal('open');
    expect(await row.locator('xpath=ancestor::table').getAttribute('data-grade')).to.equal('1');
    expect(await row.textContent()).to.contain('tank-farm');
    expect(await enterprisePage.locator('[data-testid="stream-state"]').textContent()).to.match(/条新报警/);
    await audit(enterprisePage, '03-live-alarms');
  });

  it('acknowledging the alarm on the screen ends its response time, and the KPI view counts it', async () => {
    const kpiTile = (id: string) => regulatorPage.locator(`[data-kpi="${id}"] .value`);
    await regulatorPage.goto(`${gw.url}/app/#/kpis`);
    await kpiTile('responded').waitFor();
    const respondedBefore = Number(await kpiTile('responded').getAttribute('data-count'));

    const row = enterprisePage.locator(`tr[data-alarm-id="${alarmId}"]`);
    await row.getByRole('button', { name: `确认 ${alarmId}` }).click();
    // The acknowledgement comes back through the stream, once the indexer has mirrored its block.
    await enterprisePage.locator(`tr[data-alarm-id="${alarmId}"][data-status="acknowledged"]`).waitFor({ timeout: ARRIVAL_MS });
    const responseSeconds = Number(await row.locator('td').nth(6).textContent());
    expect(responseSeconds).to.be.greaterThan(0);

    await regulatorPage.reload();
    await kpiTile('responded').waitFor();
    expect(Number(await kpiTile('responded').getAttribute('data-count'))).to.equal(respondedBefore + 1);
    expect(await kpiTile('average-response').textContent()).to.match(/^\d+\.\d s$/);
    expect(await kpiTile('p90-response').textContent()).to.match(/^\d+\.\d s$/);
    const api = await new Client(gw.url).as(await token({ sub: `gw-regulator-${cast.tag}`, org: 'regulator', role: 'regulator' })).get('/v1/regulator/kpis');
    expect(api.body.alarmsResponded).to.equal(respondedBefore + 1);
    expect(await kpiTile('average-response').textContent()).to.equal(`${api.body.averageAlarmResponseSeconds.toFixed(1)} s`);
    await audit(regulatorPage, '04-kpis');
  });

  it('the permits view lists the permit, and the area plan shows the work and the open alarm', async () => {
    await regulatorPage.goto(`${gw.url}/app/#/permits`);
    await regulatorPage.locator(`tr[data-permit-no="${permitNo}"]`).waitFor({ timeout: ARRIVAL_MS });
    const work = regulatorPage.locator(`[data-area="${cast.siteId}/zone-1"]`);
    expect(await work.textContent()).to.contain('1 active permits');
    const alarmArea = regulatorPage.locator(`[data-area="${cast.siteId}/tank-farm"]`);
    expect(await alarmArea.getAttribute('class')).to.contain('alarm');
    await regulatorPage.getByLabel('State').selectOption('closed');
    await regulatorPage.locator(`tr[data-permit-no="${permitNo}"]`).waitFor({ state: 'detached' });
    await audit(regulatorPage, '05-permits');
  });

  it("the risk analysis heat map has the alarm in its area and month, and the work unit's repeated violations", async () => {
    // Two investigation flags by the regulator on the permit: two violations of its work unit this month.
    const regulatorApi = new Client(gw.url).as(await token({ sub: `gw-regulator-${cast.tag}`, org: 'regulator', role: 'regulator' }));
    for (const n of [1, 2]) {
      const f = await regulatorApi.post(`/v1/permits/${permitNo}/flags`, { flagId: `flag-${cast.tag}-${n}`, reason: 'guardian away from the work point' });
      expect(f.status, f.text).to.equal(201);
    }
    await indexer!.waitForBlock((await chainHeight()) - 1);
    await regulatorPage.goto(`${gw.url}/app/#/risk`);
    const month = new Date().toISOString().slice(0, 7);
    // The park's map is per site, a page of sites at a time: the site's row is on a page, then its areas on demand.
    const siteCell = regulatorPage.locator(`[data-heat="sites"] td[data-cell="${cast.siteId}|${month}"]`);
    await regulatorPage.locator('[data-heat="sites"]').waitFor();
    const siteRows = regulatorPage.locator('[data-heat="sites"] tbody tr');
    while ((await siteCell.count()) === 0) {
      const shown = await siteRows.count();
      await regulatorPage.locator('[data-more-sites]:not([disabled])').click();
      await regulatorPage.waitForFunction((n) => document.querySelectorAll('[data-heat="sites"] tbody tr').length > n, shown);
    }
    expect(await siteCell.textContent()).to.match(/^[1-9]\d* \/ 2$/);
    await regulatorPage.locator(`[data-heat="sites"] button[data-site="${cast.siteId}"]`).click();
    const cell = regulatorPage.locator(`[data-heat="areas"] td[data-cell="${cast.siteId} / tank-farm|${month}"]`);
    await cell.waitFor();
    expect(await cell.textContent()).to.match(/^[1-9]\d* \/ 0$/);
    expect(await regulatorPage.locator(`[data-heat="areas"] td[data-cell="${cast.siteId} / zone-1|${month}"]`).textContent()).to.equal('0 / 2');
    expect(await regulatorPage.locator(`[data-heat="work-units"] td[data-cell="${cast.workUnit}|${month}"]`).textContent()).to.equal('2 (repeat)');
    await audit(regulatorPage, '06-risk');
  });

  /** The hash of the newest block as the regulator's own peer reports it: what the user pins. */
  async function trustedHash(): Promise<string> {
    const source = regulatorBlockSource();
    try {
      return toHex(await headerHash(decodeBlock(await source.block((await source.height()) - 1)).header));
    } finally {
      source.close();
    }
  }

  async function verifyOnScreen(): Promise<string> {
    await regulatorPage.goto(`${gw.url}/app/#/timeline/${permitNo}`);
    await regulatorPage.locator('tr[data-event]').first().waitFor({ timeout: ARRIVAL_MS });
    await regulatorPage.locator('input[name="trusted-hash"]').fill(await trustedHash());
    await regulatorPage.getByRole('button', { name: 'Verify' }).click();
    const summary = regulatorPage.locator('[data-testid="verify-summary"]');
    await summary.waitFor({ timeout: 180_000 });
    return (await summary.getAttribute('data-ok'))!;
  }

  it("a permit's timeline opens with every step, who, block and transaction, and Verify passes in the browser", async () => {
    await ingest?.stop();
    ingest = undefined;
    await indexer!.waitForBlock((await chainHeight()) - 1);
    expect(await verifyOnScreen()).to.equal('true');
    const steps = await regulatorPage.locator('tr[data-event="step"] td:nth-child(2)').allTextContents();
    for (const s of ['apply', 'sign_off', 'issue', 'activate']) expect(steps, steps.join(',')).to.include(s);
    const first = regulatorPage.locator('tr[data-event="step"]').first();
    expect(await first.locator('td').nth(2).textContent()).to.contain('EnterpriseMSP');
    expect(Number(await first.locator('td').nth(3).textContent())).to.be.greaterThan(0);
    expect(await regulatorPage.locator(`[data-evidence="${evidenceCid}"]`).count()).to.equal(1);
    expect(await regulatorPage.locator(`[data-check="evidence.${evidenceCid}"]`).getAttribute('data-status')).to.equal('pass');
    expect(await regulatorPage.locator('[data-check="chain.trust"]').getAttribute('data-status')).to.equal('pass');
    expect(await regulatorPage.locator('.evidence-media img').count()).to.equal(1);
    await audit(regulatorPage, '07-timeline-verified');
  });

  it('after one byte of the evidence file is changed in the content store, Verify fails and names the file', async () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name));
    };
    walk(gw.services.config.GATEWAY_BLOCKSTORE_DIR);
    const leaf = files.find((f) => fs.statSync(f).size === 262_144)!;
    const bytes = fs.readFileSync(leaf);
    bytes[100] = bytes[100]! ^ 0x01;
    fs.writeFileSync(leaf, bytes);
    expect(await verifyOnScreen()).to.equal('false');
    const named = regulatorPage.locator(`[data-testid="failed-files"] li[data-cid="${evidenceCid}"]`);
    expect(await named.textContent()).to.match(/gas_test, image\/jpeg, 300000 B.*sha256 is/);
    expect(await regulatorPage.locator(`[data-check="evidence.${evidenceCid}"]`).getAttribute('data-status')).to.equal('fail');
    await audit(regulatorPage, '08-timeline-tampered');
  });
});
