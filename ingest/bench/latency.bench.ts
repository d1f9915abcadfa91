/**
 * Latency from MQTT publish to the signed alarm being durable in the outbox (the part of
 * "publish → committed" that ingest owns; the whole path on the real network is bench/ledger-latency.bench.ts).
 *
 *   cd ingest && npx tsx bench/latency.bench.ts [--url mqtt://127.0.0.1:1883] [--alarms 500] [--interval-ms 20]
 *
 * Without --url it uses the embedded aedes broker. Each message is a reading above the permit
 * criterion in an area of its own, so each raises alarms (hard rule + score), which are signed
 * and fsync'd before the message is acknowledged. Paced: one message every interval; burst: all
 * at once (queueing included). Not part of the tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { startIngest } from '../src/ingest-service.js';
import { topicFor } from '../src/mqtt/topics.js';
import { generateKeyFile, writeKeyFile } from '../src/pipeline/device-keys.js';
import type { StandardMessage } from '../src/pipeline/message.js';
import { connectPublisher } from '../tools/simulator.js';

const { values } = parseArgs({
  options: { url: { type: 'string' }, alarms: { type: 'string', default: '500' }, 'interval-ms': { type: 'string', default: '20' } },
});
const N = Number(values.alarms);
const dir = mkdtempSync(join(tmpdir(), 'latency-'));
writeKeyFile(join(dir, 'keys.json'), generateKeyFile(['gw']));

const published = new Map<string, number>();
const latencies: Record<string, number[]> = { paced: [], burst: [] };
let phase: 'paced' | 'burst' = 'paced';
const service = await startIngest(
  loadConfig({
    INGEST_MQTT_URL: values.url ?? '',
    INGEST_EMBEDDED_MQTT_PORT: '0',
    INGEST_MQTT_CLIENT_ID: `latency-${process.pid}`,
    INGEST_DATA_DIR: join(dir, 'data'),
    INGEST_KEY_FILE: join(dir, 'keys.json'),
    INGEST_GATEWAY_DEVICE_ID: 'gw',
    INGEST_HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
  }),
  {
    onAccepted: (m, alarms) => {
      const t0 = published.get(m.messageId);
      if (t0 !== undefined && alarms.length > 0) latencies[phase]!.push(performance.now() - t0);
    },
  },
);
const publisher = await connectPublisher(service.brokerUrl, `latency-pub-${process.pid}`);

function message(i: number): StandardMessage {
  return {
    v: 1,
    kind: 'env',
    messageId: `${phase}-${i}`,
    siteId: 'bench',
    areaId: `${phase}-area-${i}`,
    deviceId: 'gas-x',
    observedAt: Date.now(),
    reading: { flammableLelPct: 30, flammableGasLelVolPct: 5, o2VolPct: 20.9 },
  };
}
async function publish(i: number, wait: boolean): Promise<void> {
  const m = message(i);
  const topic = topicFor('ledger', { siteId: m.siteId, areaId: m.areaId, deviceId: m.deviceId, channel: 'env' });
  published.set(m.messageId, performance.now());
  const p = publisher.publishAsync(topic, JSON.stringify(m), { qos: 1 });
  if (wait) await p;
}
async function until(count: () => number, n: number): Promise<void> {
  while (count() < n) await new Promise((r) => setTimeout(r, 10));
}

for (let i = 0; i < N; i++) {
  await publish(i, true);
  await new Promise((r) => setTimeout(r, Number(values['interval-ms'])));
}
await until(() => latencies.paced!.length, N);
phase = 'burst';
for (let i = 0; i < N; i++) void publish(i, false);
await until(() => latencies.burst!.length, N);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
}
const summary = Object.fromEntries(
  Object.entries(latencies).map(([k, xs]) => [k, { messages: xs.length, p50Ms: pct(xs, 50), p90Ms: pct(xs, 90), p99Ms: pct(xs, 99), maxMs: pct(xs, 100) }]),
);
console.log(JSON.stringify({ broker: values.url ?? 'embedded aedes', alarmsInOutbox: service.outbox.depth, latency: summary }, null, 2));
await publisher.endAsync();
await service.stop();
rmSync(dir, { recursive: true, force: true });
