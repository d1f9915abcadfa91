import { join } from 'node:path';
import { EmbeddedContentStore } from '@compliance-ledger/content-store';
import { pino } from 'pino';
import { IngestMetrics } from '../../src/metrics.js';
import { InferenceBatcher } from '../../src/model/inference-batcher.js';
import { loadModelFile, type ModelManifest } from '../../src/model/model-manifest.js';
import { RiskModel } from '../../src/model/risk-model.js';
import { DeadLetterStore } from '../../src/outbox/dead-letter.js';
import { Outbox } from '../../src/outbox/outbox.js';
import { AlarmDeduper } from '../../src/pipeline/alarm-dedup.js';
import { AreaStateStore } from '../../src/pipeline/area-state.js';
import { DeviceKeyring, generateKeyFile, generateServiceKey, type ServiceKey, serviceKey } from '../../src/pipeline/device-keys.js';
import { IngestPipeline, type PipelineDeps } from '../../src/pipeline/ingest-pipeline.js';
import type { StandardMessage } from '../../src/pipeline/message.js';
import { defaultLayout, layoutDeviceIds } from '../../tools/site-layout.js';
import { MANIFEST_PATH } from './paths.js';
import { tempDir } from './temp.js';

export interface PipelineFixture {
  pipeline: IngestPipeline;
  batcher: InferenceBatcher;
  outbox: Outbox;
  deadLetters: DeadLetterStore;
  /** The test devices' own keys: the pipeline sees only their addresses. */
  keyring: DeviceKeyring;
  service: ServiceKey;
  metrics: IngestMetrics;
  manifest: ModelManifest;
  /** The embedded store the pipeline puts verified camera clips into. */
  clips: EmbeddedContentStore;
  close(): Promise<void>;
}

let shared: Promise<{ model: RiskModel; manifest: ModelManifest }> | undefined;
export function sharedModel(): Promise<{ model: RiskModel; manifest: ModelManifest }> {
  shared ??= (async () => {
    const file = loadModelFile(MANIFEST_PATH);
    return { model: await RiskModel.load(file), manifest: file.manifest };
  })();
  return shared;
}

/** The real pipeline on a temporary data folder, without MQTT. */
export async function pipelineFixture(
  dataDir: string,
  options: { requireSignature?: boolean; keyring?: DeviceKeyring; service?: ServiceKey; onAccepted?: PipelineDeps['onAccepted'] } = {},
): Promise<PipelineFixture> {
  const { model, manifest } = await sharedModel();
  const keyring = options.keyring ?? new DeviceKeyring(generateKeyFile(layoutDeviceIds(defaultLayout())));
  const service = options.service ?? serviceKey(generateServiceKey('ingest-test'));
  const outbox = await Outbox.open(dataDir);
  const deadLetters = await DeadLetterStore.open(dataDir);
  const metrics = new IngestMetrics();
  const batcher = new InferenceBatcher(model, 256, 0);
  const clips = new EmbeddedContentStore(join(dataDir, 'clips'));
  const pipeline = new IngestPipeline({
    decode: { topicRoot: 'ledger', deviceAddresses: keyring.addresses(), requireSignature: options.requireSignature ?? false },
    deadLetters,
    areas: new AreaStateStore({ readingTtlMs: 120_000, detectionTtlMs: 60_000, defaultGasLelVolPct: 5 }),
    batcher,
    manifest,
    rules: { gradeThresholds: manifest.gradeThresholds, o2LowVolPct: 19.5, o2NeverAboveVolPct: 23.5, o2ConfinedMaxVolPct: 21, h2sLimitPpm: 7, coLimitPpm: 26 },
    deduper: new AlarmDeduper(60_000),
    service,
    outbox,
    clips,
    siteUtcOffsetMinutes: 480,
    metrics,
    log: pino({ level: 'silent' }),
    ...(options.onAccepted ? { onAccepted: options.onAccepted } : {}),
  });
  return {
    pipeline,
    batcher,
    outbox,
    deadLetters,
    keyring,
    service,
    metrics,
    manifest,
    clips,
    close: async () => {
      await outbox.close();
      await deadLetters.close();
      await clips.close();
    },
  };
}

/** The outbox's next `times` writes fail as a full disk would, before anything is written. */
export function failOutboxWrites(outbox: Outbox, times: number): void {
  const enqueueAll = outbox.enqueueAll.bind(outbox);
  let failures = times;
  outbox.enqueueAll = async (alarms) => {
    if (failures-- > 0) throw new Error('ENOSPC: no space left on device');
    return enqueueAll(alarms);
  };
}

/**
 * For a describe block: `fixture()` makes a pipeline on a fresh temporary folder (or the one
 * given, to reopen it), and every fixture and folder of a test is closed and removed after it.
 */
export function fixturesPerTest(options: { keyring: DeviceKeyring; service: ServiceKey }) {
  let dirs: ReturnType<typeof tempDir>[] = [];
  let fixtures: PipelineFixture[] = [];
  beforeEach(() => {
    dirs = [];
    fixtures = [];
  });
  afterEach(async () => {
    for (const f of fixtures) await f.close();
    for (const d of dirs) d.remove();
  });
  return {
    async fixture(dir = tempDir(), onAccepted?: (m: StandardMessage) => void): Promise<PipelineFixture> {
      dirs.push(dir);
      const f = await pipelineFixture(dir.path, { ...options, ...(onAccepted ? { onAccepted } : {}) });
      fixtures.push(f);
      return f;
    },
    /** Stops tracking `f`: the test closed it itself. */
    forget(f: PipelineFixture): void {
      fixtures.splice(fixtures.indexOf(f), 1);
    },
  };
}
