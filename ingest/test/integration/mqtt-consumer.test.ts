import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { MqttConsumer } from '../../src/mqtt/mqtt-consumer.js';
import type { Delivery } from '../../src/pipeline/ingest-pipeline.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { tempDir } from '../support/temp.js';

/**
 * The consumer acknowledges messages itself (not mqtt.js), in batches: a message whose handling
 * never finished is not acknowledged and comes again to the next session; a handled one does not.
 */
describe('MQTT consumer acknowledgements (real Mosquitto)', function () {
  this.timeout(60_000);
  let broker: TestBroker;
  let dir: ReturnType<typeof tempDir>;
  const root = `consumer-${randomUUID().slice(0, 8)}`;
  const clientId = `ingest-${randomUUID()}`;

  before(async () => {
    dir = tempDir('ingest-consumer-');
    broker = await startTestBroker(dir.path);
  });
  after(async () => {
    await broker?.stop();
    dir?.remove();
  });

  const consumer = (handle: (d: readonly Delivery[]) => Promise<void>) =>
    new MqttConsumer({ url: broker.url, clientId, filter: `${root}/#`, handle, maxBatch: 2, log: pino({ level: 'silent' }) });

  async function publish(...names: string[]): Promise<void> {
    const client = await connectAsync(broker.url, { protocolVersion: 4 });
    for (const n of names) await client.publishAsync(`${root}/${n}`, n, { qos: 1 });
    await client.endAsync();
  }

  async function until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const names = (ds: readonly Delivery[]) => ds.map((d) => Buffer.from(d.payload).toString());

  it('acknowledges only what was handled: the rest comes again, in order, and nothing twice after it was handled', async () => {
    // Session 1: handling never finishes (a stuck disk), so nothing may be acknowledged.
    const seen1: string[] = [];
    const first = consumer(async (ds) => {
      seen1.push(...names(ds));
      await new Promise(() => {});
    });
    await first.ready();
    await publish('m1', 'm2', 'm3', 'm4', 'm5');
    await until(() => seen1.length >= 1, 'the first batch');
    await first.close();
    expect(seen1[0]).to.equal('m1');

    // Session 2: everything comes again (unacknowledged), in order, and is handled.
    const seen2: string[] = [];
    const second = consumer(async (ds) => {
      seen2.push(...names(ds));
    });
    await second.ready();
    await until(() => seen2.length >= 5, 'the redelivered messages');
    await second.close();
    expect(seen2).to.deep.equal(['m1', 'm2', 'm3', 'm4', 'm5']);

    // Session 3: the first message it gets is a new one, so all five were acknowledged.
    const seen3: string[] = [];
    const third = consumer(async (ds) => {
      seen3.push(...names(ds));
    });
    await third.ready();
    await publish('m6');
    await until(() => seen3.length >= 1, 'the new message');
    await third.close();
    expect(seen3).to.deep.equal(['m6']);
  });
});
