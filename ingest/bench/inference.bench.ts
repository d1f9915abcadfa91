/**
 * Readings per second through batched inference, on one core.
 *
 *   cd ingest && taskset -c 0 npx tsx bench/inference.bench.ts [--rows 200000]
 *
 * 1. model only: pre-built feature rows scored in batches of 1 … 1024 (onnxruntime, 1 thread);
 * 2. features + batcher: readings applied to the area state, turned into features, scored via
 *    the InferenceBatcher as concurrent requests (how a multi-source ingest batches);
 * 3. the whole pipeline (decode + zod + area state + batched score + grade + dedup), one message
 *    after another as the MQTT consumer does it, 256 at a time, and batch envelopes of 100
 *    readings one after another. No alarms are raised (normal air), so this measures the
 *    per-reading path, not signing or fsync. Over real MQTT: bench/live-mqtt.bench.ts.
 * Not part of the tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbeddedContentStore } from '@compliance-ledger/content-store';
import { pino } from 'pino';
import { IngestMetrics } from '../src/metrics.js';
import { FEATURE_COUNT, toFeatures } from '../src/model/features.js';
import { InferenceBatcher } from '../src/model/inference-batcher.js';
import { loadModelFile } from '../src/model/model-manifest.js';
import { RiskModel } from '../src/model/risk-model.js';
import { batchTopicFor, topicFor } from '../src/mqtt/topics.js';
import { DeadLetterStore } from '../src/outbox/dead-letter.js';
import { Outbox } from '../src/outbox/outbox.js';
import { AlarmDeduper } from '../src/pipeline/alarm-dedup.js';
import { AreaStateStore } from '../src/pipeline/area-state.js';
import { generateServiceKey, serviceKey } from '../src/pipeline/device-keys.js';
import { IngestPipeline } from '../src/pipeline/ingest-pipeline.js';
import type { StandardMessage } from '../src/pipeline/message.js';
import { seededRandom } from '../tools/scenarios.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '200000' } } });
const ROWS = Number(values.rows);
const T0 = Date.parse('2026-11-30T02:00:00Z');
const rnd = seededRandom(42);

const file = loadModelFile(new URL('../model/manifest.json', import.meta.url).pathname);
const model = await RiskModel.load(file, { threads: 1 });

function reading(i: number): StandardMessage {
  const area = `area-${i % 50}`;
  return {
    v: 1,
    kind: 'env',
    messageId: `m-${i}`,
    siteId: 'site-1',
    areaId: area,
    deviceId: `gas-${area}`,
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
}

function rate(n: number, ms: number): string {
  return `${Math.round((n / ms) * 1000).toLocaleString('en-US')}/s`;
}

const results: Record<string, string> = {};

// 1. Model only.
const rows = new Float32Array(ROWS * FEATURE_COUNT);
const areas = new AreaStateStore({ readingTtlMs: 120_000, detectionTtlMs: 60_000, defaultGasLelVolPct: 5 });
for (let i = 0; i < ROWS; i++) toFeatures(areas.apply(reading(i)), 480, rows.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT));
for (const batch of [1, 16, 64, 256, 1024]) {
  const n = batch === 1 ? Math.min(ROWS, 20_000) : ROWS;
  await model.scoreRows(rows.subarray(0, batch * FEATURE_COUNT), batch); // warm-up
  const t = performance.now();
  for (let i = 0; i + batch <= n; i += batch) await model.scoreRows(rows.subarray(i * FEATURE_COUNT, (i + batch) * FEATURE_COUNT), batch);
  results[`model only, batch ${batch}`] = rate(n - (n % batch), performance.now() - t);
}

// 2. Area state + features + batcher, 256 concurrent requests at a time.
{
  const batcher = new InferenceBatcher(model, 256, 0);
  const store = new AreaStateStore({ readingTtlMs: 120_000, detectionTtlMs: 60_000, defaultGasLelVolPct: 5 });
  const messages = Array.from({ length: ROWS }, (_, i) => reading(i));
  const t = performance.now();
  for (let i = 0; i < ROWS; i += 256) {
    const chunk = messages.slice(i, i + 256);
    await Promise.all(chunk.map((m) => batcher.score(toFeatures(store.apply(m), 480))));
  }
  results['state + features + batcher (256 concurrent)'] = rate(ROWS, performance.now() - t);
}

// 3. The whole pipeline: single messages one after another (the MQTT consumer), 256 at a time,
//    and batch envelopes of 100 readings one after another (an edge gateway's batches).
for (const concurrency of [1, 256, 100]) {
  const envelopes = concurrency === 100;
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const outbox = await Outbox.open(dir);
  const deadLetters = await DeadLetterStore.open(dir);
  const pipeline = new IngestPipeline({
    decode: { topicRoot: 'ledger' },
    deadLetters,
    areas: new AreaStateStore({ readingTtlMs: 120_000, detectionTtlMs: 60_000, defaultGasLelVolPct: 5 }),
    batcher: new InferenceBatcher(model, 256, 0),
    manifest: file.manifest,
    rules: {
      gradeThresholds: file.manifest.gradeThresholds,
      o2LowVolPct: 19.5,
      o2NeverAboveVolPct: 23.5,
      o2ConfinedMaxVolPct: 21,
      h2sLimitPpm: 7,
      coLimitPpm: 26,
    },
    deduper: new AlarmDeduper(60_000),
    service: serviceKey(generateServiceKey('ingest-bench')),
    outbox,
    clips: new EmbeddedContentStore(join(dir, 'clips')),
    siteUtcOffsetMinutes: 480,
    metrics: new IngestMetrics(),
    log: pino({ level: 'silent' }),
  });
  const n = concurrency === 1 ? Math.min(ROWS, 50_000) : ROWS;
  const encoded = envelopes
    ? Array.from({ length: Math.ceil(n / 100) }, (_, b) => {
        const items = Array.from({ length: Math.min(100, n - b * 100) }, (_, k) => reading(b * 100 + k));
        const envelope = { v: 1, kind: 'batch', batchId: `b-${b}`, siteId: 'site-1', deviceId: 'gw', items };
        return { topic: batchTopicFor('ledger', { siteId: 'site-1', deviceId: 'gw' }), payload: Buffer.from(JSON.stringify(envelope)) };
      })
    : Array.from({ length: n }, (_, i) => {
        const m = reading(i);
        return { topic: topicFor('ledger', { ...m, channel: m.kind }), payload: Buffer.from(JSON.stringify(m)) };
      });
  const inFlight = envelopes ? 1 : concurrency;
  const t = performance.now();
  for (let i = 0; i < encoded.length; i += inFlight) {
    await Promise.all(encoded.slice(i, i + inFlight).map((e) => pipeline.handle(e.topic, e.payload)));
  }
  const label = envelopes ? 'batch envelopes of 100, one at a time' : concurrency === 1 ? 'one at a time (MQTT consumer)' : '256 concurrent';
  results[`full pipeline, ${label}`] = rate(n, performance.now() - t);
  if (outbox.depth !== 0) throw new Error(`normal readings raised ${outbox.depth} alarms`);
  await outbox.close();
  await deadLetters.close();
  rmSync(dir, { recursive: true, force: true });
}

console.log(JSON.stringify({ node: process.version, rows: ROWS, features: FEATURE_COUNT, readingsPerSecond: results }, null, 2));
await model.release();
