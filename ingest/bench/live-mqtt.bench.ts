/**
 * Readings per second through the live MQTT path: a real broker, the ingest service as it runs
 * (MqttConsumer → IngestPipeline → outbox), its process pinned to one core.
 *
 *   taskset -cp 1 $(cat $LEDGER_RUN_DIR/pids/mosquitto.pid)   # the broker beside the publisher
 *   cd ingest && taskset -c 1 npx tsx bench/live-mqtt.bench.ts [--url mqtt://127.0.0.1:18830] \
 *       [--batch 1,100] [--readings 300000] [--single-messages 60000] [--cpu-prof DIR] \
 *       [--backlog] [--publisher raw|mqttjs] [--signed [--key-tables 64]]
 *
 * Without --url the service runs its embedded aedes broker (in its own process, so on its core).
 * The service runs in a child process under `taskset -c 0`; this process publishes (QoS 1) from
 * the other core: by default packets encoded before the clock starts, written to a socket with up
 * to 10,000 unacknowledged (raw-publisher.ts), or with mqtt.js, up to 1,000 (`--publisher mqttjs`,
 * the earlier figures). For each batch size (1: one reading per MQTT
 * message on the device topic; n: envelopes of n readings on the gateway's batch topic) it
 * reports readings/s between the 10 % and the 100 % mark of the readings handled (after the
 * JIT warmed up), and the rate at which the broker took the publishes: when that is not above
 * the handled rate, the publisher and not ingest was the limit. Normal air in 50 areas, so no
 * alarms: this is the per-reading path (decode, area state, inference, grading, dedup, ack).
 * With --signed each reading is signed by its area's device (50 keys, signed before the clock
 * starts), ingest requires signatures and knows the devices' addresses, and --key-tables sets
 * INGEST_DEVICE_KEY_TABLES (0: every signer recovered). Not part of the tests.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { keccak256, toUtf8Bytes, Wallet } from 'ethers';
import { connectAsync } from 'mqtt';
import { loadConfig } from '../src/config.js';
import { startIngest } from '../src/ingest-service.js';
import { batchTopicFor, topicFor } from '../src/mqtt/topics.js';
import { generateServiceKey, writeKeyFile } from '../src/pipeline/device-keys.js';
import type { StandardMessage } from '../src/pipeline/message.js';
import { signStandardMessage } from '../src/pipeline/message-signature.js';
import { seededRandom } from '../tools/scenarios.js';
import { connectPublisher } from '../tools/simulator.js';
import { publishRaw } from './raw-publisher.js';

const T0 = Date.parse('2026-11-30T02:00:00Z');
const ROOT = 'bench';
const SITE = 'bench-site';
const GATEWAY = 'gw-bench';

type ChildReport =
  | { type: 'parked' }
  | { type: 'ready'; brokerUrl: string }
  | { type: 'done'; readings: number; steadyReadings: number; steadyMs: number; totalMs: number; inferenceBatches: number; cpuMs: number };

// ---- the ingest process (pinned to core 0) ----
/** The bench's devices, one per area, with keys both processes derive from their ids. */
const AREAS = 50;
const deviceOf = (i: number) => `gas-area-${i % AREAS}`;
const deviceWallet = (deviceId: string) => new Wallet(keccak256(toUtf8Bytes(`live-bench ${deviceId}`)));

async function child(
  expected: number,
  url: string | undefined,
  cpuProfDir: string | undefined,
  backlog: boolean,
  keyTables: number | undefined,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'live-mqtt-'));
  // Unsigned readings (the opt-out path): the registry is empty and ingest has only its own service
  // key. Signed (keyTables set): the registry lists the devices' addresses.
  const devices = Object.fromEntries(
    keyTables === undefined ? [] : Array.from({ length: AREAS }, (_, i) => [deviceOf(i), { address: deviceWallet(deviceOf(i)).address }]),
  );
  writeFileSync(join(dir, 'devices.json'), JSON.stringify({ version: 1, devices }));
  writeKeyFile(join(dir, 'ingest-key.json'), generateServiceKey('ingest-bench'));
  let handled = 0;
  let first = 0;
  let steadyFrom = 0;
  let cpuFrom = process.cpuUsage();
  const steadyMark = Math.ceil(expected / 10);
  // Only the steady part is profiled, not start-up and the JIT's warm-up.
  const profiler = cpuProfDir ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    profiler.post('Profiler.enable');
  }
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const config = loadConfig({
    INGEST_MQTT_URL: url ?? '',
    INGEST_EMBEDDED_MQTT_PORT: '0',
    INGEST_MQTT_CLIENT_ID: `live-bench-${process.pid}`,
    INGEST_TOPIC_ROOT: ROOT,
    INGEST_DATA_DIR: join(dir, 'data'),
    INGEST_DEVICE_REGISTRY_FILE: join(dir, 'devices.json'),
    INGEST_SERVICE_KEY_FILE: join(dir, 'ingest-key.json'),
    INGEST_REQUIRE_SIGNED_MESSAGES: String(keyTables !== undefined),
    INGEST_DEVICE_KEY_TABLES: String(keyTables ?? 0),
    INGEST_HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
  });
  if (backlog) {
    // Subscribe once (persistent session), go away, and come back when the broker holds everything.
    await (await startIngest(config)).stop();
    const go = new Promise((resolve) => process.once('message', resolve));
    process.send!({ type: 'parked' } satisfies ChildReport);
    await go;
  }
  const service = await startIngest(config, {
    onAccepted: () => {
      handled++;
      if (handled === 1) first = performance.now();
      if (handled === steadyMark) {
        steadyFrom = performance.now();
        cpuFrom = process.cpuUsage();
        if (profiler) profiler.post('Profiler.start');
      }
      if (handled === expected) finish();
    },
  });
  process.send!({ type: 'ready', brokerUrl: service.brokerUrl } satisfies ChildReport);
  await finished;
  const end = performance.now();
  const cpu = process.cpuUsage(cpuFrom);
  if (profiler) {
    const profile = await new Promise<unknown>((resolve, reject) => profiler.post('Profiler.stop', (err, r) => (err ? reject(err) : resolve(r.profile))));
    writeFileSync(join(cpuProfDir!, `live-${process.pid}.cpuprofile`), JSON.stringify(profile));
  }
  const batches = (await service.metrics.inferenceBatch.get()).values.find((v) => v.metricName === 'ingest_inference_batch_rows_count')?.value ?? 0;
  if (service.outbox.depth !== 0) throw new Error(`normal readings raised ${service.outbox.depth} alarms`);
  process.send!({
    type: 'done',
    readings: handled,
    steadyReadings: expected - steadyMark,
    steadyMs: end - steadyFrom,
    totalMs: end - first,
    inferenceBatches: batches,
    cpuMs: (cpu.user + cpu.system) / 1000,
  } satisfies ChildReport);
  await service.stop();
  rmSync(dir, { recursive: true, force: true });
}

// ---- the publisher (this process) ----
function readings(count: number): StandardMessage[] {
  const rnd = seededRandom(42);
  return Array.from({ length: count }, (_, i) => {
    const area = `area-${i % AREAS}`;
    return {
      v: 1,
      kind: 'env',
      messageId: `r-${i}`,
      siteId: SITE,
      areaId: area,
      deviceId: deviceOf(i),
      observedAt: T0 + i * 10,
      reading: {
        flammableLelPct: rnd() * 3,
        flammableGasLelVolPct: 5,
        o2VolPct: 20.8 + rnd() * 0.2,
        h2sPpm: rnd(),
        coPpm: rnd() * 4,
        temperatureC: 20,
        windMs: rnd() * 3,
      },
    };
  });
}

async function mqttMessages(batch: number, count: number, signed: boolean): Promise<{ topic: string; payload: string }[]> {
  let all = readings(count);
  if (signed) {
    const wallets = new Map(Array.from({ length: AREAS }, (_, i) => [deviceOf(i), deviceWallet(deviceOf(i))]));
    all = await Promise.all(all.map((m) => signStandardMessage(wallets.get(m.deviceId)!, m)));
  }
  if (batch === 1) return all.map((m) => ({ topic: topicFor(ROOT, { ...m, channel: 'env' }), payload: JSON.stringify(m) }));
  const out: { topic: string; payload: string }[] = [];
  for (let i = 0; i < all.length; i += batch) {
    const envelope = { v: 1, kind: 'batch', batchId: `b-${i}`, siteId: SITE, deviceId: GATEWAY, items: all.slice(i, i + batch) };
    out.push({ topic: batchTopicFor(ROOT, { siteId: SITE, deviceId: GATEWAY }), payload: JSON.stringify(envelope) });
  }
  return out;
}

type Publisher = 'raw' | 'mqttjs';

async function measure(
  batch: number,
  count: number,
  url: string | undefined,
  cpuProfDir: string | undefined,
  backlog: boolean,
  publisher: Publisher,
  keyTables: number | undefined,
) {
  const messages = await mqttMessages(batch, count, keyTables !== undefined);
  const self = fileURLToPath(import.meta.url);
  const childArgs = [
    '--child',
    '--expected',
    String(count),
    ...(url ? ['--url', url] : []),
    ...(cpuProfDir ? ['--cpu-prof', cpuProfDir] : []),
    ...(backlog ? ['--backlog'] : []),
    ...(keyTables === undefined ? [] : ['--signed', '--key-tables', String(keyTables)]),
  ];
  const proc = spawn('taskset', ['-c', '0', process.execPath, '--import', 'tsx', self, ...childArgs], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const reports: ChildReport[] = [];
  let notify: () => void = () => {};
  proc.on('message', (m: ChildReport) => {
    reports.push(m);
    notify();
  });
  const next = async (type: ChildReport['type']) => {
    for (;;) {
      const r = reports.find((x) => x.type === type);
      if (r) return r;
      if (proc.exitCode !== null) throw new Error(`ingest process exited with ${proc.exitCode}`);
      await new Promise<void>((resolve) => (notify = resolve));
    }
  };
  if (backlog) await next('parked');
  const brokerUrl = backlog ? url! : ((await next('ready')) as Extract<ChildReport, { type: 'ready' }>).brokerUrl;
  const load = loadavg()[0]!;
  let publishMs: number;
  let end = async () => {};
  if (publisher === 'raw') {
    publishMs = await publishRaw(brokerUrl, `live-bench-pub-${process.pid}`, messages);
  } else {
    const client = await connectPublisher(brokerUrl, `live-bench-pub-${process.pid}`);
    const t = performance.now();
    const window = 1000;
    for (let i = 0; i < messages.length; i += window) {
      await Promise.all(messages.slice(i, i + window).map((m) => client.publishAsync(m.topic, m.payload, { qos: 1 })));
    }
    publishMs = performance.now() - t;
    end = () => client.endAsync();
  }
  if (backlog) proc.send('go');
  const done = (await next('done')) as Extract<ChildReport, { type: 'done' }>;
  await end();
  await new Promise((r) => proc.once('exit', r));
  // Ingest's session is durable (clean: false) and Mosquitto keeps it after the run, queueing every
  // later bench publish for it (up to max_queued_messages each) and writing them at each autosave:
  // runs would slow the next ones down. A clean connection with its client id discards it.
  if (url) {
    const sessionEnd = await connectAsync(url, { protocolVersion: 4, clean: true, clientId: `live-bench-${proc.pid}`, reconnectPeriod: 0 });
    await sessionEnd.endAsync();
  }
  const perSecond = (n: number, ms: number) => Math.round((n / ms) * 1000);
  return {
    readingsPerMessage: batch,
    mqttMessages: messages.length,
    readings: done.readings,
    readingsPerSecond: perSecond(done.steadyReadings, done.steadyMs),
    readingsPerSecondFromFirst: perSecond(done.readings, done.totalMs),
    // Backlog: published before ingest came back, so the broker's rate limits nothing.
    brokerTookReadingsPerSecond: perSecond(count, publishMs),
    ingestCpuPerReadingUs: Math.round(((done.cpuMs * 1000) / done.steadyReadings) * 10) / 10,
    rowsPerInferenceBatch: Math.round((done.readings / Math.max(1, done.inferenceBatches)) * 10) / 10,
    loadAverage1m: Math.round(load * 100) / 100,
  };
}

const { values } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    expected: { type: 'string' },
    url: { type: 'string' },
    batch: { type: 'string', default: '1,100' },
    readings: { type: 'string', default: '300000' },
    'single-messages': { type: 'string', default: '60000' },
    'cpu-prof': { type: 'string' },
    backlog: { type: 'boolean', default: false },
    publisher: { type: 'string', default: 'raw' },
    signed: { type: 'boolean', default: false },
    'key-tables': { type: 'string', default: '64' },
  },
});
const keyTables = values.signed ? Number(values['key-tables']) : undefined;
if (values.publisher !== 'raw' && values.publisher !== 'mqttjs') throw new Error('--publisher is raw or mqttjs');
const publisher = values.publisher as Publisher;

if (values.backlog && !values.url) throw new Error('--backlog needs --url: the embedded broker keeps sessions only while ingest runs');
if (values.child) {
  await child(Number(values.expected), values.url, values['cpu-prof'], values.backlog, keyTables);
} else {
  const results = [];
  for (const batch of values.batch.split(',').map(Number)) {
    // Mosquitto queues at most max_queued_messages (100,000 in scripts/services.sh) per session.
    const count = batch === 1 ? Number(values['single-messages']) : Number(values.readings);
    results.push(await measure(batch, count, values.url, values['cpu-prof'], values.backlog, publisher, keyTables));
  }
  const mode = values.backlog ? 'backlog: published while ingest was away, then drained' : 'live: published while ingest consumes';
  const signatures = keyTables === undefined ? 'unsigned (opt-out)' : `signed by ${AREAS} devices, INGEST_DEVICE_KEY_TABLES=${keyTables}`;
  console.log(
    JSON.stringify({ node: process.version, broker: values.url ?? 'embedded aedes (in the ingest process)', mode, publisher, signatures, results }, null, 2),
  );
}
