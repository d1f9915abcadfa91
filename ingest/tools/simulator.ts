import { existsSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, type MqttClient } from 'mqtt';
import { gasmonAdapter } from '../src/adapters/gasmon.js';
import { visionboxAdapter } from '../src/adapters/visionbox.js';
import { localHour } from '../src/model/features.js';
import { batchTopicFor, parseTopic, topicFor } from '../src/mqtt/topics.js';
import { DeviceKeyring, generateKeyFile, generateServiceKey, publicRegistry, writeKeyFile } from '../src/pipeline/device-keys.js';
import { type BatchEnvelope, MAX_BATCH_ITEMS, messageSchema, type StandardMessage } from '../src/pipeline/message.js';
import { signStandardMessage } from '../src/pipeline/message-signature.js';
import { SCENARIOS, type Scenario, scenarioMessages } from './scenarios.js';
import { defaultLayout, layoutDeviceIds, type SiteLayout } from './site-layout.js';
import { toGasmon, toVisionbox } from './vendor-payloads.js';

/**
 * Edge simulator. Publishes a site's streams over MQTT (QoS 1) as its devices would, each message
 * signed with the device's key from the devices' own key file (which ingest never sees).
 *
 *   tsx tools/simulator.ts keys --out device-keys.json [--registry devices.json] [--site site-1]
 *   tsx tools/simulator.ts registry --keys device-keys.json --out devices.json   (public addresses, for ingest)
 *   tsx tools/simulator.ts service-key --out ingest-key.json [--service-id ingest-1]   (ingest's own key)
 *   tsx tools/simulator.ts run --url mqtt://127.0.0.1:1883 --keys keys.json --scenario gas-leak \
 *       [--site site-1] [--ticks 90] [--tick-ms 1000] [--fast] [--start ISO] [--seed 1] [--unsigned]
 *       [--vendor]   (readings as gasmon frames, detections as visionbox events, on raw/ topics)
 *       [--batch N]  (readings and detections in batch envelopes of up to N items from the gateway)
 *
 * `--fast` publishes as quickly as the broker acknowledges, with simulated timestamps; without it
 * one tick is published per tick interval in real time.
 */
export interface SimulationOptions {
  url: string;
  keyring: DeviceKeyring;
  layout: SiteLayout;
  scenario: Scenario;
  startMs: number;
  ticks: number;
  tickMs: number;
  seed: number;
  fast: boolean;
  sign: boolean;
  /** Publish readings as gasmon frames and detections as visionbox events on raw/ topics. */
  vendorPayloads?: boolean;
  /**
   * Publish readings and detections as the site's edge gateway does: batch envelopes of up to
   * this many items on its batch topic. Permit sets still go out alone and retained, in order.
   */
  batchSize?: number;
  topicRoot?: string;
  clientId?: string;
}

export async function connectPublisher(url: string, clientId: string): Promise<MqttClient> {
  const client = connect(url, { protocolVersion: 4, clean: false, clientId, reconnectPeriod: 300 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

export async function prepareMessage(keyring: DeviceKeyring, message: StandardMessage, sign: boolean): Promise<StandardMessage> {
  if (!sign) return message;
  const wallet = keyring.wallet(message.deviceId);
  if (!wallet) throw new Error(`no key for device ${message.deviceId} in the key file`);
  return signStandardMessage(wallet, message);
}

/**
 * A vendor test device signs the standard message its payload maps to (what ingest will check and
 * the ledger will see) and adds the signature to its payload as `sig`.
 */
export async function signVendorPayload(keyring: DeviceKeyring, topic: string, root: string, payload: unknown): Promise<unknown> {
  const address = parseTopic(root, topic);
  if ('error' in address || address.channel !== 'raw') throw new Error(`not a vendor topic: ${topic}`);
  const adapter = [gasmonAdapter, visionboxAdapter].find((a) => a.vendor === address.vendor);
  const adapted = adapter?.adapt(payload, address);
  if (!adapted?.ok) throw new Error(`the ${address.vendor} adapter refuses the test device's own payload`);
  const signed = await prepareMessage(keyring, messageSchema.parse(adapted.message), true);
  return { ...(payload as Record<string, unknown>), sig: signed.sig };
}

/** The envelope an edge gateway publishes on its batch topic. */
export function batchEnvelope(layout: SiteLayout, batchId: string, items: readonly StandardMessage[]): BatchEnvelope {
  return { v: 1, kind: 'batch', batchId, siteId: layout.siteId, deviceId: layout.gatewayDeviceId, items: [...items] };
}

/** Publishes the scenario; returns the messages sent, in order (a batch's items one by one). */
export async function runSimulation(o: SimulationOptions): Promise<StandardMessage[]> {
  if (o.batchSize !== undefined && (!Number.isInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > MAX_BATCH_ITEMS)) {
    throw new Error(`batch size must be 1..${MAX_BATCH_ITEMS}`);
  }
  if (o.batchSize !== undefined && o.vendorPayloads) throw new Error('vendor payloads are not batched: choose one');
  const client = await connectPublisher(o.url, o.clientId ?? `sim-${o.layout.siteId}`);
  const sent: StandardMessage[] = [];
  const root = o.topicRoot ?? 'ledger';
  let tickAt = -1;
  let vendorSeq = 0;
  let batch: StandardMessage[] = [];
  let batchSeq = 0;
  const flushBatch = async () => {
    if (batch.length === 0) return;
    const envelope = batchEnvelope(o.layout, `${o.layout.gatewayDeviceId}-${o.startMs}-${batchSeq++}`, batch);
    batch = [];
    await client.publishAsync(batchTopicFor(root, envelope), JSON.stringify(envelope), { qos: 1 });
  };
  const started = Date.now();
  try {
    for (const raw of scenarioMessages(o.layout, { scenario: o.scenario, startMs: o.startMs, ticks: o.ticks, tickMs: o.tickMs, seed: o.seed })) {
      if (!o.fast && raw.observedAt !== tickAt) {
        // A gateway sends what it collected before it waits for the next tick.
        await flushBatch();
        tickAt = raw.observedAt;
        const due = started + (raw.observedAt - o.startMs);
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const address = { siteId: raw.siteId, areaId: raw.areaId, deviceId: raw.deviceId };
      if (o.vendorPayloads && raw.kind !== 'permits') {
        const vendor = raw.kind === 'env' ? toGasmon(raw, ++vendorSeq) : toVisionbox(raw);
        const topic = topicFor(root, { ...address, channel: 'raw', vendor: raw.kind === 'env' ? 'gasmon' : 'visionbox' });
        const payload = o.sign ? await signVendorPayload(o.keyring, topic, root, vendor.payload) : vendor.payload;
        await client.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
        sent.push({ ...raw, messageId: vendor.messageId });
        continue;
      }
      const message = await prepareMessage(o.keyring, raw, o.sign);
      sent.push(message);
      if (o.batchSize !== undefined && message.kind !== 'permits') {
        batch.push(message);
        if (batch.length >= o.batchSize) await flushBatch();
        continue;
      }
      // What was collected before the permit set was observed before it, so it goes out first.
      await flushBatch();
      const topic = topicFor(root, { ...address, channel: message.kind });
      await client.publishAsync(topic, JSON.stringify(message), { qos: 1, retain: message.kind === 'permits' });
    }
    await flushBatch();
  } finally {
    await client.endAsync();
  }
  return sent;
}

/** The most recent 22:00 at the site before `now`, for the night scenario. */
export function lastSiteEvening(now: number, utcOffsetMinutes: number): number {
  const hour = localHour(now, utcOffsetMinutes);
  const hoursBack = (hour - 22 + 24) % 24;
  return Math.floor(now - hoursBack * 3_600_000);
}

async function cli(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      out: { type: 'string' },
      site: { type: 'string', default: 'site-1' },
      url: { type: 'string', default: process.env.INGEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883' },
      keys: { type: 'string', default: 'keys.json' },
      scenario: { type: 'string', default: 'normal' },
      ticks: { type: 'string', default: '90' },
      'tick-ms': { type: 'string', default: '1000' },
      start: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'utc-offset-minutes': { type: 'string', default: '480' },
      fast: { type: 'boolean', default: false },
      unsigned: { type: 'boolean', default: false },
      vendor: { type: 'boolean', default: false },
      batch: { type: 'string' },
      force: { type: 'boolean', default: false },
      registry: { type: 'string' },
      'service-id': { type: 'string', default: 'ingest-1' },
    },
  });
  const layout = defaultLayout(values.site);
  if (command === 'keys') {
    const out = values.out ?? values.keys;
    if (existsSync(out) && !values.force) throw new Error(`${out} exists; pass --force to replace its keys`);
    const file = generateKeyFile(layoutDeviceIds(layout));
    writeKeyFile(out, file);
    // The addresses are public: they go into the ledger's device registry and ingest's registry file.
    if (values.registry) writeFileSync(values.registry, `${JSON.stringify(publicRegistry(file), null, 2)}\n`);
    for (const [id, d] of Object.entries(file.devices)) process.stdout.write(`${id} ${d.address}\n`);
    return;
  }
  if (command === 'registry') {
    if (!values.out) throw new Error('registry needs --out FILE');
    writeFileSync(values.out, `${JSON.stringify(publicRegistry(DeviceKeyring.load(values.keys).keyFile), null, 2)}\n`);
    return;
  }
  if (command === 'service-key') {
    const out = values.out ?? 'ingest-key.json';
    if (existsSync(out) && !values.force) throw new Error(`${out} exists; pass --force to replace the key`);
    const file = generateServiceKey(values['service-id']);
    writeKeyFile(out, file);
    // Register this address on the ledger: device:Register {deviceId: serviceId, kind: ingest_service}.
    process.stdout.write(`${file.serviceId} ${file.address}\n`);
    return;
  }
  if (command === 'run') {
    const scenario = values.scenario as Scenario;
    if (!SCENARIOS.includes(scenario)) throw new Error(`unknown scenario ${scenario}; one of ${SCENARIOS.join(', ')}`);
    const offset = Number(values['utc-offset-minutes']);
    const startMs = values.start ? Date.parse(values.start) : scenario === 'night-hot-work' ? lastSiteEvening(Date.now(), offset) : Date.now();
    if (Number.isNaN(startMs)) throw new Error('--start is not a date');
    const sent = await runSimulation({
      url: values.url,
      keyring: DeviceKeyring.load(values.keys),
      layout,
      scenario,
      startMs,
      ticks: Number(values.ticks),
      tickMs: Number(values['tick-ms']),
      seed: Number(values.seed),
      fast: values.fast,
      sign: !values.unsigned,
      vendorPayloads: values.vendor,
      ...(values.batch !== undefined ? { batchSize: Number(values.batch) } : {}),
    });
    process.stdout.write(`${JSON.stringify({ scenario, site: layout.siteId, published: sent.length })}\n`);
    return;
  }
  throw new Error(
    'usage: simulator keys --out FILE [--registry FILE] | simulator registry --keys FILE --out ' +
      'FILE | simulator service-key --out FILE [--service-id ID] | simulator run --url URL ' +
      '--keys FILE --scenario NAME',
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  });
}
