/**
 * End-to-end latency on the real network: MQTT publish of a gas reading above the permit
 * criterion → ingest (decode, score, grade, EIP-712 sign, outbox fsync) → Fabric (endorsed by
 * both orgs, ordered, committed) → the `AlarmRecorded` block event that names the area's active
 * hot-work permit among `suspendedPermits` (the alarm and the suspension are one transaction),
 * as a client listening on the enterprise peer sees it.
 *
 *   cd ingest && LEDGER_CONNECTION_PROFILE=$LEDGER_RUN_DIR/connection-profile.json \
 *     npx tsx bench/ledger-latency.bench.ts [--url mqtt://127.0.0.1:18830] [--samples 60] [--incidents 1] [--concurrency 8] [--pause-ms 200]
 *
 * Each sample publishes `--incidents` readings at once, one per site, each site with its own
 * detector and active permit (1: one incident at a time; more: simultaneous incidents, queueing
 * in ingest's outbox included). After each sample the safety officer acknowledges and closes the
 * open alarms and the person in charge resumes the permits (not timed), so every sample meets
 * active permits. The dedup window is 1 s so each sample raises new alarms. Without --url (or
 * TEST_MQTT_URL) the embedded aedes broker is used. Not part of the tests.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AlarmRecord, PermitRecord } from '@compliance-ledger/schema';
import { loadConfig } from '../src/config.js';
import { startIngest } from '../src/ingest-service.js';
import { topicFor } from '../src/mqtt/topics.js';
import { DeviceKeyring, generateKeyFile, writeKeyFile } from '../src/pipeline/device-keys.js';
import type { StandardMessage } from '../src/pipeline/message.js';
import {
  activeHotWorkPermit,
  connectionProfilePath,
  enrollCast,
  LedgerClient,
  registerDevices,
  requireLedgerNetwork,
  uniqueId,
} from '../test/support/network.js';
import { connectPublisher } from '../tools/simulator.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    samples: { type: 'string', default: '60' },
    'pause-ms': { type: 'string', default: '200' },
    incidents: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '8' },
  },
});
const SAMPLES = Number(values.samples);
const INCIDENTS = Number(values.incidents);
const url = values.url ?? process.env.TEST_MQTT_URL ?? '';

const ctx = {
  test: { title: '' },
  skip: () => {
    throw new Error(`no network: ${process.env.LEDGER_NETWORK_UNAVAILABLE}`);
  },
} as unknown as Mocha.Context;
const profile = requireLedgerNetwork(ctx);
const cast = enrollCast(profile);
const tag = uniqueId('bench');
const areaId = 'tank-farm';
const sites = Array.from({ length: INCIDENTS }, (_, k) => ({ siteId: `site-${tag}-${k}`, deviceId: `${tag}-gas-${k}` }));
const dir = mkdtempSync(join(tmpdir(), 'ledger-latency-'));
const keysPath = join(dir, 'keys.json');
writeKeyFile(keysPath, generateKeyFile(sites.map((x) => x.deviceId)));
const keyring = DeviceKeyring.load(keysPath);

const admin = LedgerClient.connect(profile, cast.admin);
const safety = LedgerClient.connect(profile, cast.safety);
const pic = LedgerClient.connect(profile, cast.pic);
const analyst = LedgerClient.connect(profile, cast.analyst);

/**
 * The gateway returns once its own (enterprise) peer has committed; the regulator's peer may be a
 * block behind and refuse the next step of the reset (e.g. closing an alarm whose
 * acknowledgement it has not committed yet). Retry briefly.
 */
async function settle(step: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await step();
      return;
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
const listener = LedgerClient.connect(profile, cast.gateway);
await registerDevices(
  admin,
  sites.map((x) => ({ deviceId: x.deviceId, siteId: x.siteId, areaId, address: keyring.wallet(x.deviceId)!.address, kind: 'sensor' as const })),
);
const permits = new Map<string, string>(); // permitNo → siteId
for (const x of sites) permits.set((await activeHotWorkPermit(profile, cast, x.siteId, areaId)).permitNo, x.siteId);
process.stderr.write(`${permits.size} active permit(s) in ${INCIDENTS} site(s)\n`);

const service = await startIngest(
  loadConfig({
    INGEST_MQTT_URL: url,
    INGEST_EMBEDDED_MQTT_PORT: '0',
    INGEST_MQTT_CLIENT_ID: `ledger-latency-${randomUUID()}`,
    INGEST_TOPIC_ROOT: `bench-${tag.replace(/[^A-Za-z0-9_-]/g, '')}`,
    INGEST_DATA_DIR: join(dir, 'data'),
    INGEST_KEY_FILE: keysPath,
    INGEST_DEDUP_WINDOW_MS: '1000',
    INGEST_LEDGER_CONCURRENCY: values.concurrency,
    INGEST_HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    INGEST_RETRY_MIN_MS: '50',
    INGEST_FABRIC_CONNECTION_PROFILE: connectionProfilePath(),
    INGEST_FABRIC_IDENTITY_DIR: dirname(dirname(dirname(cast.gateway.certPath))),
  }),
);
const topicRoot = `bench-${tag.replace(/[^A-Za-z0-9_-]/g, '')}`;
const publisher = await connectPublisher(service.brokerUrl, `ledger-latency-pub-${randomUUID()}`);

// Block events: resolve a site's waiting sample when its alarm commits with its permit suspended.
const events = await listener.chaincodeEvents();
const waiting = new Map<string, (at: number) => void>(); // siteId → resolve
const decoder = new TextDecoder();
void (async () => {
  try {
    for await (const e of events) {
      if (e.eventName !== 'AlarmRecorded') continue;
      const body = JSON.parse(decoder.decode(e.payload)) as { payload: { alarm: AlarmRecord; suspendedPermits: PermitRecord[] } };
      for (const p of body.payload.suspendedPermits) {
        const siteId = permits.get(p.permitNo);
        if (siteId !== undefined) waiting.get(siteId)?.(performance.now());
      }
    }
  } catch {
    // closed at the end
  }
})();

const e2e: number[] = [];
for (let i = 0; i < SAMPLES; i++) {
  const committed = sites.map(
    (x) =>
      new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`sample ${i}: no suspension in ${x.siteId} within 60 s`)), 60_000);
        waiting.set(x.siteId, (at) => {
          clearTimeout(t);
          waiting.delete(x.siteId);
          resolve(at);
        });
      }),
  );
  const t0 = performance.now();
  await Promise.all(
    sites.map((x) => {
      const m: StandardMessage = {
        v: 1,
        kind: 'env',
        messageId: `${tag}-${i}-${x.siteId}`,
        siteId: x.siteId,
        areaId,
        deviceId: x.deviceId,
        observedAt: Date.now(),
        reading: { flammableLelPct: 30, flammableGasLelVolPct: 5, o2VolPct: 20.9, windMs: 2 },
      };
      return publisher.publishAsync(topicFor(topicRoot, { siteId: x.siteId, areaId, deviceId: x.deviceId, channel: 'env' }), JSON.stringify(m), { qos: 1 });
    }),
  );
  for (const at of await Promise.all(committed)) e2e.push(at - t0);

  // Reset, not timed: every alarm of the sample on the ledger, closed; the permits resumed.
  while (service.outbox.depth > 0) await new Promise((r) => setTimeout(r, 20));
  // A gas alarm needs a passing re-test after the suspension before the work resumes.
  for (const [permitNo, siteId] of permits) {
    for (const a of await safety.evaluate<AlarmRecord[]>('alarm:ListOpen', { siteId, areaId })) {
      await settle(() => safety.submit('alarm:Acknowledge', { alarmId: a.alarmId }));
      await settle(() => safety.submit('alarm:Close', { alarmId: a.alarmId, note: 'bench: source isolated' }));
    }
    await settle(() =>
      analyst.submit('permit:RecordGasTest', {
        permitNo,
        testId: `${permitNo}-bench-${i}`,
        sampleTakenAt: new Date().toISOString(),
        lelClass: 'lel_ge_4',
        flammableVolPct: 0.1,
      }),
    );
    await settle(() => pic.submit('permit:Resume', { permitNo }));
  }
  // Next sample in another dedup window.
  await new Promise((r) => setTimeout(r, Math.max(Number(values['pause-ms']), 1000 - (Date.now() % 1000) + 5)));
  if ((i + 1) % 10 === 0) process.stderr.write(`${i + 1}/${SAMPLES}\n`);
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!);
}
const metrics = await (await fetch(`http://127.0.0.1:${service.httpPort}/metrics`)).text();
console.log(
  JSON.stringify(
    {
      what: 'MQTT publish → alarm committed with the active permit suspended (block event on the enterprise peer)',
      broker: url || 'embedded aedes',
      simultaneousIncidents: INCIDENTS,
      ledgerConcurrency: Number(values.concurrency),
      samples: e2e.length,
      p50Ms: pct(e2e, 50),
      p90Ms: pct(e2e, 90),
      p99Ms: pct(e2e, 99),
      maxMs: pct(e2e, 100),
      minMs: Math.round(Math.min(...e2e)),
      ledgerOutcomes: metrics.split('\n').filter((l) => l.startsWith('ingest_ledger_outcomes_total')),
    },
    null,
    2,
  ),
);
events.close();
await publisher.endAsync();
await service.stop();
for (const c of [admin, safety, pic, analyst, listener]) c.close();
rmSync(dir, { recursive: true, force: true });
