import { expect } from 'chai';
import { topicFor } from '../../src/mqtt/topics.js';
import { DeviceKeyring, generateKeyFile } from '../../src/pipeline/device-keys.js';
import type { StandardMessage } from '../../src/pipeline/message.js';
import { rawCid } from '../../tools/scenarios.js';
import { defaultLayout, layoutDeviceIds } from '../../tools/site-layout.js';
import { permitsMessage, tankFarmReading } from '../support/burst.js';
import { failOutboxWrites, type PipelineFixture, pipelineFixture } from '../support/pipeline.js';
import { tempDir } from '../support/temp.js';

const T0 = Date.parse('2026-11-30T02:00:00Z'); // 10:00 at the site
const reading = (deviceId: string, n: number, r: object) => tankFarmReading(T0, deviceId, n, r);

describe('pipeline', () => {
  let dir: ReturnType<typeof tempDir>;
  let f: PipelineFixture;
  beforeEach(async () => {
    dir = tempDir();
    f = await pipelineFixture(dir.path);
  });
  afterEach(async () => {
    await f.close();
    dir.remove();
  });

  const send = (m: StandardMessage) => f.pipeline.handle(topicFor('ledger', { ...m, channel: m.kind }), Buffer.from(JSON.stringify(m)));
  const detection = (areaId: string, behaviour: string, at: number, confidence = 0.95): StandardMessage =>
    ({
      v: 1,
      kind: 'ai',
      messageId: `d-${areaId}-${behaviour}-${at}`,
      siteId: 'site-1',
      areaId,
      deviceId: `cam-${areaId}`,
      observedAt: at,
      detection: { behaviour, confidence, bbox: { x: 0.1, y: 0.1, w: 0.2, h: 0.4 }, cameraId: `cam-${areaId}`, clipCid: rawCid(`${areaId}${at}`) },
    }) as StandardMessage;
  const env = (areaId: string, at: number, r: object): StandardMessage =>
    ({ v: 1, kind: 'env', messageId: `e-${areaId}-${at}`, siteId: 'site-1', areaId, deviceId: `gas-${areaId}`, observedAt: at, reading: r }) as StandardMessage;
  const kinds = () => f.outbox.pending().map((e) => `${e.alarm.fields.areaId} ${e.alarm.fields.kind}`);

  it('a guardian leaving a confined space is a behaviour alarm with the clip; a phone during a gas leak is not', async () => {
    await send(permitsMessage('reactor-3', 'confined_space', T0));
    await send(env('reactor-3', T0 + 1000, { o2VolPct: 20.9, flammableLelPct: 0.5 }));
    expect(kinds()).to.deep.equal([]);
    const absent = detection('reactor-3', 'guardian_absent', T0 + 2000);
    await send(absent);
    const alarm = f.outbox.pending().find((e) => e.alarm.fields.kind === 'behaviour.guardian_absent')?.alarm.fields;
    expect(alarm?.deviceId).to.equal('cam-reactor-3');
    expect(alarm?.clipCid).to.equal(absent.kind === 'ai' ? absent.detection.clipCid : '');

    await send(permitsMessage('tank-farm', 'hot_work', T0));
    await send(env('tank-farm', T0 + 3000, { flammableLelPct: 40, flammableGasLelVolPct: 5 }));
    await send(detection('tank-farm', 'phone_use', T0 + 4000, 0.6));
    expect(kinds()).to.include('tank-farm flammable_gas_above_permit_criterion');
    expect(kinds()).to.not.include('tank-farm behaviour.phone_use');
  });

  it('hot work at night with wind at force 5 raises a scored alarm; the same afternoon in calm air does not', async () => {
    const night = Date.parse('2026-11-30T14:30:00Z'); // 22:30 at the site
    await send(permitsMessage('tank-farm', 'hot_work', night));
    await send(env('tank-farm', night + 1000, { windMs: 9.5, flammableLelPct: 1 }));
    expect(kinds()).to.include('tank-farm risk_score');

    await send(permitsMessage('pipe-rack', 'hot_work', T0));
    await send(env('pipe-rack', T0 + 1000, { windMs: 2, flammableLelPct: 1 }));
    expect(kinds().filter((k) => k.startsWith('pipe-rack'))).to.deep.equal([]);
  });

  it('a redelivered message raises nothing new', async () => {
    const topic = 'ledger/v1/site-1/tank-farm/gas-tank-farm/env';
    const payload = reading('gas-tank-farm', 1, { flammableLelPct: 30 });
    const first = await f.pipeline.handle(topic, payload);
    expect(first.status === 'accepted' && first.alarms.length).to.be.greaterThan(0);
    const depth = f.outbox.depth;
    const again = await f.pipeline.handle(topic, payload);
    expect(again).to.deep.equal({ status: 'accepted', alarms: [] });
    expect(f.outbox.depth).to.equal(depth);
  });
});

describe('pipeline crash after queuing, before the PUBACK', () => {
  it('the message redelivered to a new process keeps the alarms it raised, although its area state is gone', async () => {
    const dir = tempDir();
    const keyring = new DeviceKeyring(generateKeyFile(layoutDeviceIds(defaultLayout())));
    let f = await pipelineFixture(dir.path, { keyring });
    try {
      const send = (m: StandardMessage) => f.pipeline.handle(topicFor('ledger', { ...m, channel: m.kind }), Buffer.from(JSON.stringify(m)));
      // The area is a confined space (an earlier, acknowledged message): H2S above the limit is grade I there.
      await send({
        v: 1,
        kind: 'permits',
        messageId: 'p-1',
        siteId: 'site-1',
        areaId: 'reactor-3',
        deviceId: 'gw-site-1',
        observedAt: T0,
        permits: { active: [{ permitId: 'P-1', type: 'confined_space' }] },
      } as StandardMessage);
      const h2s = {
        v: 1,
        kind: 'env',
        messageId: 'e-1',
        siteId: 'site-1',
        areaId: 'reactor-3',
        deviceId: 'gas-reactor-3',
        observedAt: T0 + 1000,
        reading: { h2sPpm: 20 },
      } as StandardMessage;
      const first = await send(h2s);
      if (first.status !== 'accepted') throw new Error(first.reason);
      expect(first.alarms.map((a) => `${a.fields.kind} ${a.fields.grade}`)).to.include('h2s_above_limit 1');
      const queued = f.outbox.pending().map((e) => e.alarm.fields.alarmId);

      // Crash before the PUBACK. The new process has not seen the permit set, so the same reading
      // would now be grade II, a different alarm id; the first delivery's alarms stand instead.
      await f.close();
      f = await pipelineFixture(dir.path, { keyring });
      const again = await send(h2s);
      expect(again).to.deep.equal({ status: 'accepted', alarms: [] });
      expect(f.outbox.pending().map((e) => e.alarm.fields.alarmId)).to.deep.equal(queued);
      // A new reading is graded as usual (grade II now: no confined space known to this process).
      const next = await send({ ...h2s, messageId: 'e-2', observedAt: T0 + 2000 } as StandardMessage);
      if (next.status !== 'accepted') throw new Error(next.reason);
      expect(next.alarms.map((a) => `${a.fields.kind} ${a.fields.grade}`)).to.include('h2s_above_limit 2');
    } finally {
      await f.close();
      dir.remove();
    }
  });
});

describe('pipeline failure before the alarm is queued', () => {
  it('the retried message raises the alarm instead of being taken for a repeat', async () => {
    const dir = tempDir();
    const f = await pipelineFixture(dir.path);
    try {
      const topic = 'ledger/v1/site-1/tank-farm/gas-tank-farm/env';
      const payload = reading('gas-tank-farm', 1, { flammableLelPct: 30 });
      failOutboxWrites(f.outbox, 1);
      let error: unknown;
      try {
        await f.pipeline.handle(topic, payload);
      } catch (e) {
        error = e;
      }
      expect(String(error)).to.contain('ENOSPC');
      const gasKind = 'flammable_gas_above_permit_criterion';
      expect(f.outbox.pending().map((e) => e.alarm.fields.kind)).to.not.include(gasKind);
      const retried = await f.pipeline.handle(topic, payload);
      expect(retried.status).to.equal('accepted');
      expect(f.outbox.pending().map((e) => e.alarm.fields.kind)).to.include(gasKind);
      // The alarm that was queued the first time is not queued twice.
      expect(new Set(f.outbox.pending().map((e) => e.alarm.fields.alarmId)).size).to.equal(f.outbox.depth);
    } finally {
      await f.close();
      dir.remove();
    }
  });
});
