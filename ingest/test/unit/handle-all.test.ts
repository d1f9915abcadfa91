import { expect } from 'chai';
import { topicFor } from '../../src/mqtt/topics.js';
import type { SignedAlarm } from '../../src/pipeline/alarm-signature.js';
import { DeviceKeyring, generateKeyFile, generateServiceKey, serviceKey } from '../../src/pipeline/device-keys.js';
import { type Delivery, PartlyHandled } from '../../src/pipeline/ingest-pipeline.js';
import type { StandardMessage } from '../../src/pipeline/message.js';
import { type Scenario, scenarioMessages } from '../../tools/scenarios.js';
import { defaultLayout, layoutDeviceIds } from '../../tools/site-layout.js';
import { failOutboxWrites, fixturesPerTest, type PipelineFixture } from '../support/pipeline.js';

const T0 = Date.parse('2026-11-30T02:00:00Z');
const layout = defaultLayout();

/** Three incidents in three areas as single MQTT messages, with one unreadable message among them. */
function deliveries(): Delivery[] {
  const runs: [Scenario, number, number][] = [
    ['gas-leak', T0, 3],
    ['guardian-absent', T0 + 3_600_000, 5],
    ['oxygen-deficiency', T0 + 7_200_000, 4],
  ];
  const messages: StandardMessage[] = runs.flatMap(([scenario, startMs, seed]) => [
    ...scenarioMessages(layout, { scenario, startMs, ticks: 45, tickMs: 1000, seed }),
  ]);
  const out = messages.map((m) => ({ topic: topicFor('ledger', { ...m, channel: m.kind }), payload: Buffer.from(JSON.stringify(m)) }));
  out.splice(40, 0, { topic: out[0]!.topic, payload: Buffer.from('{"v":1,') });
  return out;
}

/** Handed over in batches of these sizes in turn, as the MQTT consumer would. */
async function inBatches(f: PipelineFixture, all: readonly Delivery[], sizes: readonly number[]): Promise<void> {
  for (let at = 0, i = 0; at < all.length; i++) {
    const batch = all.slice(at, at + sizes[i % sizes.length]!);
    at += batch.length;
    await f.pipeline.handleAll(batch);
  }
}

const alarms = (f: PipelineFixture): SignedAlarm[] => f.outbox.pending().map((e) => e.alarm);

describe('single messages handled together (handleAll)', () => {
  const keyring = new DeviceKeyring(generateKeyFile(layoutDeviceIds(layout)));
  const service = serviceKey(generateServiceKey('ingest-test'));
  const { fixture } = fixturesPerTest({ keyring, service });

  it('raise the same alarms, ids and signatures included, and the same dead letters as the messages one by one', async () => {
    const all = deliveries();
    const single = await fixture();
    for (const d of all) await single.pipeline.handle(d.topic, d.payload);
    const together = await fixture();
    await inBatches(together, all, [1, 7, 100, 256]);

    expect(alarms(single).map((a) => `${a.fields.areaId} ${a.fields.kind} ${a.fields.grade}`)).to.include.members([
      'tank-farm flammable_gas_above_permit_criterion 1',
      'reactor-3 behaviour.guardian_absent 1',
      'reactor-3 oxygen_out_of_range 1',
    ]);
    expect(alarms(together)).to.deep.equal(alarms(single));
    expect(together.deadLetters.readAll().map((l) => l.code)).to.deep.equal(['json']);
    expect(together.deadLetters.readAll().map((l) => l.code)).to.deep.equal(single.deadLetters.readAll().map((l) => l.code));
  });

  it('score normal readings of many messages in one inference call', async () => {
    const f = await fixture();
    const normal = Array.from({ length: 200 }, (_, i) => {
      const m = {
        v: 1,
        kind: 'env',
        messageId: `n-${i}`,
        siteId: 'site-1',
        areaId: `area-${i % 20}`,
        deviceId: `gas-area-${i % 20}`,
        observedAt: T0 + i * 100,
      };
      return {
        topic: topicFor('ledger', { ...m, channel: 'env' }),
        payload: Buffer.from(JSON.stringify({ ...m, reading: { o2VolPct: 20.9, flammableLelPct: 1 } })),
      };
    });
    const before = f.batcher.batches;
    await f.pipeline.handleAll(normal);
    expect(f.batcher.batches - before).to.equal(1);
    expect(f.outbox.depth).to.equal(0);
    expect(f.deadLetters.readAll()).to.deep.equal([]);
  });

  it('a failed write reports how many messages were handled; retrying the rest raises each alarm once, as one by one', async () => {
    const all = deliveries();
    const single = await fixture();
    for (const d of all) await single.pipeline.handle(d.topic, d.payload);

    const f = await fixture();
    failOutboxWrites(f.outbox, 1);
    let error: unknown;
    await f.pipeline.handleAll(all).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(PartlyHandled);
    const { handled } = error as PartlyHandled;
    expect(String((error as PartlyHandled).cause)).to.contain('ENOSPC');
    // The first alarm-raising message failed: those before it are handled, it and the rest are not.
    expect(handled).to.be.greaterThan(0).and.lessThan(all.length);
    expect(f.outbox.depth).to.equal(0);

    await f.pipeline.handleAll(all.slice(handled));
    expect(alarms(f)).to.deep.equal(alarms(single));
  });
});
