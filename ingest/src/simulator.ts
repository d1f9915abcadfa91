import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { connect, type MqttClient } from 'mqtt';
import { DeviceKeyring, generateKeyFile, writeKeyFile } from './device-keys.js';
import { localHour } from './features.js';
import type { StandardMessage } from './message.js';
import { signStandardMessage } from './message-signature.js';
import { SCENARIOS, scenarioMessages, type Scenario } from './scenarios.js';
import { defaultLayout, layoutDeviceIds, type SiteLayout } from './site-layout.js';
import { topicFor } from './topics.js';
import { toGasmon, toVisionbox } from './vendor-payloads.js';

/**
 * Edge simulator. Publishes a site's streams over MQTT (QoS 1) as its devices would, each message
 * signed with the device's key from a local key file.
 *
 *   tsx src/simulator.ts keys --out keys.json [--site site-1]
 *   tsx src/simulator.ts run --url mqtt://127.0.0.1:1883 --keys keys.json --scenario gas-leak \
 *       [--site site-1] [--ticks 90] [--tick-ms 1000] [--fast] [--start ISO] [--seed 1] [--unsigned]
 *       [--vendor]   (readings as gasmon frames, detections as visionbox events, on raw/ topics)
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

/** Publishes the scenario; returns the messages sent, in order. */
export async function runSimulation(o: SimulationOptions): Promise<StandardMessage[]> {
  const client = await connectPublisher(o.url, o.clientId ?? `sim-${o.layout.siteId}`);
  const sent: StandardMessage[] = [];
  const root = o.topicRoot ?? 'ledger';
  let tickAt = -1;
  let vendorSeq = 0;
  const started = Date.now();
  try {
    for (const raw of scenarioMessages(o.layout, { scenario: o.scenario, startMs: o.startMs, ticks: o.ticks, tickMs: o.tickMs, seed: o.seed })) {
      if (!o.fast && raw.observedAt !== tickAt) {
        tickAt = raw.observedAt;
        const due = started + (raw.observedAt - o.startMs);
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const address = { siteId: raw.siteId, areaId: raw.areaId, deviceId: raw.deviceId };
      if (o.vendorPayloads && raw.kind !== 'permits') {
        // Vendor devices cannot sign our envelope; their payloads go out as they are.
        const vendor = raw.kind === 'env' ? toGasmon(raw, ++vendorSeq) : toVisionbox(raw);
        const topic = topicFor(root, { ...address, channel: 'raw', vendor: raw.kind === 'env' ? 'gasmon' : 'visionbox' });
        await client.publishAsync(topic, JSON.stringify(vendor.payload), { qos: 1 });
        sent.push({ ...raw, messageId: vendor.messageId });
        continue;
      }
      const message = await prepareMessage(o.keyring, raw, o.sign);
      const topic = topicFor(root, { ...address, channel: message.kind });
      await client.publishAsync(topic, JSON.stringify(message), { qos: 1, retain: message.kind === 'permits' });
      sent.push(message);
    }
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
      force: { type: 'boolean', default: false },
    },
  });
  const layout = defaultLayout(values.site);
  if (command === 'keys') {
    const out = values.out ?? values.keys;
    if (existsSync(out) && !values.force) throw new Error(`${out} exists; pass --force to replace its keys`);
    const file = generateKeyFile(layoutDeviceIds(layout));
    writeKeyFile(out, file);
    // The addresses are public: they go into the ledger's device registry.
    for (const [id, d] of Object.entries(file.devices)) process.stdout.write(`${id} ${d.address}\n`);
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
    });
    process.stdout.write(`${JSON.stringify({ scenario, site: layout.siteId, published: sent.length })}\n`);
    return;
  }
  throw new Error('usage: simulator keys --out FILE | simulator run --url URL --keys FILE --scenario NAME');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  });
}
