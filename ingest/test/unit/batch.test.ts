import { expect } from 'chai';
import { batchTopicFor, parseTopic, topicFor } from '../../src/mqtt/topics.js';
import type { SignedAlarm } from '../../src/pipeline/alarm-signature.js';
import { decodePayload } from '../../src/pipeline/decode.js';
import { DeviceKeyring, generateKeyFile, generateServiceKey, serviceKey } from '../../src/pipeline/device-keys.js';
import { MAX_BATCH_ITEMS, type StandardMessage } from '../../src/pipeline/message.js';
import { type Scenario, scenarioMessages } from '../../tools/scenarios.js';
import { batchEnvelope } from '../../tools/simulator.js';
import { defaultLayout, layoutDeviceIds } from '../../tools/site-layout.js';
import { permitsMessage } from '../support/burst.js';
import { failOutboxWrites, fixturesPerTest, type PipelineFixture } from '../support/pipeline.js';
import { tempDir } from '../support/temp.js';

const T0 = Date.parse('2026-11-30T02:00:00Z'); // 10:00 at the site, aligned to the dedup window
const layout = defaultLayout();
const BATCH_TOPIC = batchTopicFor('ledger', { siteId: 'site-1', deviceId: 'gw-site-1' });
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));
const envelope = (items: unknown[], batchId = 'b-1') => bytes(batchEnvelope(layout, batchId, items as StandardMessage[]));

/** Three incidents in three areas, one after another, with the gateway's permit sets. */
function siteStream(): StandardMessage[] {
  const runs: [Scenario, number, number][] = [
    ['gas-leak', T0, 3],
    ['guardian-absent', T0 + 3_600_000, 5],
    ['oxygen-deficiency', T0 + 7_200_000, 4],
  ];
  return runs.flatMap(([scenario, startMs, seed]) => [...scenarioMessages(layout, { scenario, startMs, ticks: 45, tickMs: 1000, seed })]);
}

const env = (areaId: string, at: number, reading: object, id = `e-${areaId}-${at}`) =>
  ({ v: 1, kind: 'env', messageId: id, siteId: 'site-1', areaId, deviceId: `gas-${areaId}`, observedAt: at, reading }) as StandardMessage;

const describeAlarm = (a: SignedAlarm) => `${a.fields.areaId} ${a.fields.kind} ${a.fields.grade}`;

describe('batch envelopes', () => {
  const keyring = new DeviceKeyring(generateKeyFile(layoutDeviceIds(layout)));
  const service = serviceKey(generateServiceKey('ingest-test'));
  const { fixture, forget } = fixturesPerTest({ keyring, service });

  it('the batch topic is the site and its gateway, one level shorter than a device topic', () => {
    expect(BATCH_TOPIC).to.equal('ledger/v1/site-1/gw-site-1/batch');
    expect(parseTopic('ledger', BATCH_TOPIC)).to.deep.equal({ siteId: 'site-1', deviceId: 'gw-site-1', channel: 'batch' });
    expect(parseTopic('ledger', 'ledger/v1/site-1/tank-farm/gw-site-1/batch'))
      .to.have.property('error')
      .that.matches(/channel/);
    expect(parseTopic('ledger', 'ledger/v1/site-1/gw+/batch')).to.have.property('error');
  });

  it('scores a batch to the same alarms, with the same ids and signatures, as the messages sent one by one', async () => {
    const messages = siteStream();
    const single = await fixture();
    for (const m of messages) {
      const r = await single.pipeline.handle(topicFor('ledger', { ...m, channel: m.kind }), bytes(m));
      expect(r.status).to.equal('accepted');
    }
    const batched = await fixture();
    const sizes = [1, 7, 100, 250];
    let at = 0;
    for (let i = 0; at < messages.length; i++) {
      const items = messages.slice(at, at + sizes[i % sizes.length]!);
      at += items.length;
      const r = await batched.pipeline.handle(BATCH_TOPIC, envelope(items, `b-${i}`));
      expect(r).to.deep.include({ status: 'accepted', refusedItems: [] });
    }

    const alarms = (f: PipelineFixture) => f.outbox.pending().map((e) => e.alarm);
    expect(alarms(single).map(describeAlarm)).to.include.members([
      'tank-farm flammable_gas_above_permit_criterion 1',
      'reactor-3 behaviour.guardian_absent 1',
      'reactor-3 oxygen_out_of_range 1',
    ]);
    expect(alarms(batched)).to.deep.equal(alarms(single));
    expect(batched.deadLetters.readAll()).to.deep.equal([]);
  });

  it('scores the rows of a batch together', async () => {
    const f = await fixture();
    const items = Array.from({ length: 200 }, (_, i) => env(`area-${i % 20}`, T0 + i * 100, { o2VolPct: 20.9, flammableLelPct: 1 }));
    const before = f.batcher.batches;
    await f.pipeline.handle(BATCH_TOPIC, envelope(items));
    expect(f.batcher.batches - before).to.equal(1);
  });

  it('sends an invalid item to the dead-letter store with its index and reason, and processes its siblings', async () => {
    const accepted: string[] = [];
    const g = await fixture(tempDir(), (m) => accepted.push(m.messageId));
    const items: unknown[] = [
      permitsMessage('tank-farm', 'hot_work', T0),
      env('tank-farm', T0 + 1000, { o2VolPct: 140 }, 'bad-o2'),
      env('tank-farm', T0 + 2000, { flammableLelPct: 30, flammableGasLelVolPct: 5 }, 'leak'),
      { ...env('tank-farm', T0 + 3000, { o2VolPct: 20.9 }), siteId: 'site-2', messageId: 'other-site' },
      'not a message',
      env('pipe-rack', T0 + 4000, { o2VolPct: 20.9 }, 'fine'),
    ];
    const r = await g.pipeline.handle(BATCH_TOPIC, envelope(items, 'b-mixed'));
    if (r.status !== 'accepted') throw new Error(`batch refused: ${r.reason}`);
    expect(r.refusedItems!.map((x) => [x.index, x.code])).to.deep.equal([
      [1, 'schema'],
      [3, 'mismatch'],
      [4, 'schema'],
    ]);
    expect(accepted).to.deep.equal([`p-tank-farm-${T0}`, 'leak', 'fine']);
    expect(r.alarms.map(describeAlarm)).to.include('tank-farm flammable_gas_above_permit_criterion 1');

    const letters = g.deadLetters.readAll();
    expect(letters.map((l) => [l.index, l.code, l.batchId, l.topic])).to.deep.equal([
      [1, 'schema', 'b-mixed', BATCH_TOPIC],
      [3, 'mismatch', 'b-mixed', BATCH_TOPIC],
      [4, 'schema', 'b-mixed', BATCH_TOPIC],
    ]);
    expect(letters[0]!.reason).to.contain('reading.o2VolPct');
    expect(letters[1]!.reason).to.contain('site-2');
    // The item as sent, replayable on its device's topic after a fix.
    expect(JSON.parse(Buffer.from(letters[0]!.payloadBase64, 'base64').toString())).to.deep.equal(items[1]);
    const invalid = await g.metrics.registry.getSingleMetricAsString('ingest_messages_total');
    expect(invalid).to.contain('ingest_messages_total{kind="invalid"} 3');
    expect(invalid).to.contain('ingest_messages_total{kind="env"} 2');
  });

  it('refuses a wrong envelope whole, with nothing processed', async () => {
    const f = await fixture();
    const item = env('tank-farm', T0, { flammableLelPct: 30 });
    const refusals: [string, Buffer, string][] = [
      [BATCH_TOPIC, Buffer.from('{oops'), 'json'],
      [BATCH_TOPIC, bytes({ ...batchEnvelope(layout, 'b', [item]), siteId: 'site-2' }), 'mismatch'],
      [batchTopicFor('ledger', { siteId: 'site-1', deviceId: 'gw-other' }), envelope([item]), 'mismatch'],
      [BATCH_TOPIC, envelope([]), 'schema'],
      [BATCH_TOPIC, envelope(Array.from({ length: MAX_BATCH_ITEMS + 1 }, () => item)), 'schema'],
      [BATCH_TOPIC, bytes({ ...batchEnvelope(layout, 'b', [item]), v: 2 }), 'schema'],
      [topicFor('ledger', { ...item, channel: 'env' }), envelope([item]), 'schema'],
    ];
    for (const [topic, payload, code] of refusals) {
      expect(decodePayload(topic, payload, { topicRoot: 'ledger' }), `${topic} ${code}`).to.deep.include({ ok: false, code });
      expect((await f.pipeline.handle(topic, payload)).status).to.equal('invalid');
    }
    expect(f.outbox.depth).to.equal(0);
    expect(f.deadLetters.readAll().map((l) => [l.code, l.index])).to.deep.equal(refusals.map(([, , code]) => [code, undefined]));
  });

  it('applies area state in message order: permits then a reading differ from a reading then permits', async () => {
    const f = await fixture();
    const low = { o2VolPct: 18 };
    const r = await f.pipeline.handle(
      BATCH_TOPIC,
      envelope([
        permitsMessage('reactor-3', 'confined_space', T0),
        env('reactor-3', T0 + 1000, low),
        env('tank-farm', T0 + 1000, low),
        permitsMessage('tank-farm', 'confined_space', T0 + 2000),
        // The same device again, with normal air: the earlier reading's alarm keeps its own snapshot.
        env('reactor-3', T0 + 3000, { o2VolPct: 20.9 }),
      ]),
    );
    if (r.status !== 'accepted') throw new Error(r.reason);
    const oxygen = r.alarms
      .filter((a) => a.fields.kind === 'oxygen_out_of_range')
      .map((a) => `${a.fields.areaId} ${a.fields.grade} ${a.fields.observedAt - T0}`);
    // Confined space known before the reading: grade I; learned only after it: grade II.
    expect(oxygen).to.deep.equal(['reactor-3 1 1000', 'tank-farm 2 1000']);
  });

  it('a batch retried after a failed write, or redelivered after a restart, raises each alarm once', async () => {
    const dir = tempDir();
    const f = await fixture(dir);
    const items = siteStream().slice(0, 400);
    const payload = envelope(items, 'b-retry');
    failOutboxWrites(f.outbox, 1);
    let error: unknown;
    await f.pipeline.handle(BATCH_TOPIC, payload).catch((e: unknown) => (error = e));
    expect(String(error)).to.contain('ENOSPC');
    expect(f.outbox.depth).to.equal(0);

    // The consumer's retry: every alarm is raised now, none was taken for a repeat.
    const retried = await f.pipeline.handle(BATCH_TOPIC, payload);
    if (retried.status !== 'accepted') throw new Error(retried.reason);
    expect(retried.alarms.length).to.be.greaterThan(0);
    const ids = f.outbox.pending().map((e) => e.alarm.fields.alarmId);
    expect(new Set(ids).size).to.equal(ids.length);

    // Crash before the PUBACK: the broker delivers the batch again to a new process, whose area
    // state and dedup memory start empty; the outbox recognises every alarm id.
    await f.close();
    forget(f);
    const restarted = await fixture(dir);
    expect(restarted.outbox.pending().map((e) => e.alarm.fields.alarmId)).to.deep.equal(ids);
    const again = await restarted.pipeline.handle(BATCH_TOPIC, payload);
    expect(again).to.deep.include({ status: 'accepted', alarms: [] });
    expect(restarted.outbox.pending().map((e) => e.alarm.fields.alarmId)).to.deep.equal(ids);
  });
});
