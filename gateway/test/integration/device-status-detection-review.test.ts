/**
 * Device status and the review of AI detections through the API on the real network. Alarms come
 * from ingest, not from this API, so the test records them as a device gateway's own identity.
 */
import * as crypto from 'node:crypto';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import { alarmFieldsFor } from '../../../schema/test/support/alarm-fields.js';
import type { RunningGateway } from '../../src/server.js';
import { recordDeviceAlarm } from '../support/direct.js';
import { Client, chainHeight, createDatabase, dropDatabase, requireNetwork, startTestGateway, token } from '../support/env.js';

type Json = Record<string, any>;

describe('gateway: device status and detection review (real network)', function () {
  this.timeout(180_000);
  let gw: RunningGateway;
  let db: string | undefined;
  const tag = crypto.randomBytes(4).toString('hex');
  const site = `site-dev-${tag}`;
  const camera = { id: `cam-${tag}`, key: Wallet.createRandom() };
  const sensor = { id: `gas-${tag}`, key: Wallet.createRandom() };
  const gateSub = `gw-dev-gate-${tag}`;
  let c: Record<'safety' | 'applicant' | 'gate' | 'reviewer' | 'regReviewer' | 'regulator', Client>;

  async function recordAlarm(device: { id: string; key: ReturnType<typeof Wallet.createRandom> }, alarmId: string, kind: string): Promise<void> {
    const alarm = alarmFieldsFor(device.id, site, 'zone-1', { alarmId, grade: 3, kind, observedAt: Date.now() - 1000 });
    await recordDeviceAlarm(gw.services.config.GATEWAY_WALLET_DIR, gateSub, device.key, alarm);
  }

  before(async function () {
    requireNetwork(this);
    db = await createDatabase('gw_devices');
    gw = await startTestGateway({ DATABASE_URL: db });
    const as = async (name: string, org: 'enterprise' | 'regulator', role: string) =>
      new Client(gw.url).as(await token({ sub: name, org, role: role as never }));
    c = {
      safety: await as(`gw-dev-safety-${tag}`, 'enterprise', 'safety_officer'),
      applicant: await as(`gw-dev-applicant-${tag}`, 'enterprise', 'applicant'),
      gate: await as(gateSub, 'enterprise', 'device_gateway'),
      reviewer: await as(`gw-dev-reviewer-${tag}`, 'enterprise', 'reviewer'),
      regReviewer: await as(`gw-dev-regreviewer-${tag}`, 'regulator', 'reviewer'),
      regulator: await as(`gw-dev-regulator-${tag}`, 'regulator', 'regulator'),
    };
    for (const [d, kind] of [
      [camera, 'camera'],
      [sensor, 'sensor'],
    ] as const) {
      const r = await c.safety.post('/v1/devices', { deviceId: d.id, siteId: site, areaId: 'zone-1', address: d.key.address, kind });
      expect(r.status, r.text).to.equal(201);
    }
    // The device gateway's identity is enrolled by its first request.
    expect((await c.gate.get(`/v1/devices/${camera.id}`)).status).to.equal(200);
  });
  after(async () => {
    await gw?.close();
    await dropDatabase(db);
  });

  it('disables and re-enables a device; the same status again is 409, a wrong role 403, a bad status 400, none of which writes', async () => {
    const off = await c.safety.post(`/v1/devices/${sensor.id}/status`, { status: 'disabled', reason: 'calibration overdue' });
    expect(off.status, off.text).to.equal(200);
    expect(off.body.record).to.include({ deviceId: sensor.id, status: 'disabled' });
    const height = await chainHeight();
    const again = await c.safety.post(`/v1/devices/${sensor.id}/status`, { status: 'disabled', reason: 'again' });
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal('INVALID_STATE');
    const wrongRole = await c.applicant.post(`/v1/devices/${sensor.id}/status`, { status: 'active', reason: 'x' });
    expect(wrongRole.status).to.equal(403);
    const regulatorWrite = await c.regulator.post(`/v1/devices/${sensor.id}/status`, { status: 'active', reason: 'x' });
    expect(regulatorWrite.status).to.equal(403);
    const bad = await c.safety.post(`/v1/devices/${sensor.id}/status`, { status: 'broken', reason: 'x' });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.details.fields.map((f: Json) => f.path)).to.include('body.status');
    const noReason = await c.safety.post(`/v1/devices/${sensor.id}/status`, { status: 'active' });
    expect(noReason.status).to.equal(400);
    const unknown = await c.safety.post(`/v1/devices/nope-${tag}/status`, { status: 'disabled', reason: 'x' });
    expect(unknown.status).to.equal(404);
    expect(await chainHeight()).to.equal(height);
    const read = await c.applicant.get(`/v1/devices/${sensor.id}`);
    expect(read.body.status).to.equal('disabled');
    expect(read.body.statusHistory).to.have.length(1);
    // A disabled device's alarms are refused by the chaincode.
    let refused = '';
    await recordAlarm(sensor, `al-off-${tag}`, 'gas_leak').catch((e: Error & { details?: { message: string }[] }) => {
      refused = [e.message, ...(e.details ?? []).map((d) => d.message)].join(' ');
    });
    expect(refused).to.match(/FORBIDDEN: device .* is disabled/);
    const on = await c.safety.post(`/v1/devices/${sensor.id}/status`, { status: 'active', reason: 'calibrated' });
    expect(on.status, on.text).to.equal(200);
    expect(on.body.record.statusHistory.map((h: Json) => h.status)).to.deep.equal(['disabled', 'active']);
  });

  it(
    "records a reviewer's verdict on a camera detection once (201, then 409); refuses sensors " +
      '(422), other roles (403) and bad verdicts (400) without writing',
    async () => {
      const cameraAlarm = `al-cam-${tag}`;
      const sensorAlarm = `al-gas-${tag}`;
      await recordAlarm(camera, cameraAlarm, 'behaviour.no_helmet');
      await recordAlarm(sensor, sensorAlarm, 'gas_leak');
      const height = await chainHeight();
      const wrongRole = await c.safety.post(`/v1/alarms/${cameraAlarm}/review`, { verdict: 'false_positive' });
      expect(wrongRole.status).to.equal(403);
      const bad = await c.reviewer.post(`/v1/alarms/${cameraAlarm}/review`, { verdict: 'maybe' });
      expect(bad.status).to.equal(400);
      expect(bad.body.error.details.fields.map((f: Json) => f.path)).to.include('body.verdict');
      const notCamera = await c.reviewer.post(`/v1/alarms/${sensorAlarm}/review`, { verdict: 'true_positive' });
      expect(notCamera.status, notCamera.text).to.equal(422);
      expect(notCamera.body.error.code).to.equal('RULE_VIOLATION');
      const unknown = await c.reviewer.post(`/v1/alarms/nope-${tag}/review`, { verdict: 'true_positive' });
      expect(unknown.status).to.equal(404);
      expect(await chainHeight()).to.equal(height);
      expect((await c.applicant.get(`/v1/alarms/${cameraAlarm}`)).body.review).to.equal(null);

      const r = await c.regReviewer.post(`/v1/alarms/${cameraAlarm}/review`, { verdict: 'false_positive', note: 'shadow of the rack' });
      expect(r.status, r.text).to.equal(201);
      expect(r.body.record.review).to.include({ verdict: 'false_positive', note: 'shadow of the rack' });
      expect(r.body.record.review.reviewer.mspId).to.equal('RegulatorMSP');
      const twice = await c.reviewer.post(`/v1/alarms/${cameraAlarm}/review`, { verdict: 'true_positive' });
      expect(twice.status).to.equal(409);
      expect(twice.body.error.code).to.equal('ALREADY_EXISTS');
      expect((await c.applicant.get(`/v1/alarms/${cameraAlarm}`)).body.review.verdict).to.equal('false_positive');
    },
  );
});
