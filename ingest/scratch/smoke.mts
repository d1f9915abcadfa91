import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadModelFile } from '../src/model-manifest.ts';
import { RiskModel } from '../src/risk-model.ts';
import { InferenceBatcher } from '../src/inference-batcher.ts';
import { Outbox } from '../src/outbox.ts';
import { DeadLetterStore } from '../src/dead-letter.ts';
import { AreaStateStore } from '../src/area-state.ts';
import { AlarmDeduper } from '../src/alarm-dedup.ts';
import { DeviceKeyring, generateKeyFile } from '../src/device-keys.ts';
import { IngestPipeline } from '../src/ingest-pipeline.ts';
import { IngestMetrics } from '../src/metrics.ts';
import { SCENARIOS, scenarioMessages } from '../src/scenarios.ts';
import { defaultLayout, layoutDeviceIds } from '../src/site-layout.ts';
import { topicFor } from '../src/topics.ts';
import { lastSiteEvening } from '../src/simulator.ts';

const file = loadModelFile('/work/main/ingest/model/manifest.json');
const model = await RiskModel.load(file);
const layout = defaultLayout();
const keyring = new DeviceKeyring(generateKeyFile(layoutDeviceIds(layout)));
for (const scenario of SCENARIOS) {
  const dir = mkdtempSync(join(tmpdir(), 'smoke-'));
  const outbox = await Outbox.open(dir);
  const pipeline = new IngestPipeline({
    decode: { topicRoot: 'ledger' }, deadLetters: await DeadLetterStore.open(dir), areas: new AreaStateStore({ readingTtlMs: 120000, detectionTtlMs: 60000, defaultGasLelVolPct: 5 }),
    batcher: new InferenceBatcher(model, 256, 0), manifest: file.manifest,
    rules: { gradeThresholds: file.manifest.gradeThresholds, o2LowVolPct: 19.5, o2NeverAboveVolPct: 23.5, h2sLimitPpm: 7, coLimitPpm: 26 },
    deduper: new AlarmDeduper(60000), keyring, outbox, siteUtcOffsetMinutes: 480, metrics: new IngestMetrics(), log: pino({ level: 'silent' }),
  });
  const start = scenario === 'night-hot-work' ? lastSiteEvening(Date.parse('2026-11-30T12:00:00Z'), 480) : Date.parse('2026-11-30T02:00:00Z');
  let n = 0;
  for (const m of scenarioMessages(layout, { scenario, startMs: start, ticks: 90, tickMs: 1000, seed: 1 })) {
    const r = await pipeline.handle(topicFor('ledger', { ...m, channel: m.kind }), Buffer.from(JSON.stringify(m)));
    if (r.status !== 'accepted') console.log('invalid', r);
    n++;
  }
  console.log(scenario, n, outbox.pending().map((e) => `${e.alarm.fields.areaId}:${e.alarm.fields.kind}:g${e.alarm.fields.grade}:${e.alarm.fields.scoreBp}:${e.alarm.fields.deviceId}`));
}
