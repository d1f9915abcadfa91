/**
 * Real sensor traffic for suites that kill ingest (the gateway's fault suite): a site whose gas
 * detectors and ingest service are registered on the ledger, ingest as a process of its own
 * (src/main.ts, so it can be SIGKILLed and started again on the same outbox), and a publisher of
 * signed readings at a steady rate, some above the permit's gas criterion. The publisher keeps its
 * own record of what it sent and which alarm each reading must raise: ids are deterministic
 * (device, place, kind, grade, dedup window), so the expected alarm set is computable.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ConnectionProfile } from '@compliance-ledger/schema';
import type { MqttClient } from 'mqtt';
import { topicFor } from '../../src/mqtt/topics.js';
import type { LedgerOutcome } from '../../src/outbox/alarm-ledger.js';
import { readAppendLog } from '../../src/outbox/append-log.js';
import { alarmId } from '../../src/pipeline/alarm.js';
import { DeviceKeyring, generateKeyFile, generateServiceKey, publicRegistry, writeKeyFile } from '../../src/pipeline/device-keys.js';
import { KIND_FLAMMABLE_GAS } from '../../src/pipeline/grading.js';
import type { EnvMessage } from '../../src/pipeline/message.js';
import { signStandardMessage } from '../../src/pipeline/message-signature.js';
import { connectPublisher } from '../../tools/simulator.js';
import { layoutDeviceIds, type SiteLayout } from '../../tools/site-layout.js';
import { connectionProfilePath, enrollUser, type Identity, LedgerClient, registerDevices, runLayout, uniqueId } from './network.js';
import { INGEST_DIR } from './paths.js';

/**
 * Short enough that each area's alarm readings (one every few seconds, rotating over the areas)
 * fall into windows of their own, so every one of them must raise its own gas alarm.
 */
export const SENSOR_DEDUP_WINDOW_MS = 2_000;

export interface SensorSite {
  layout: SiteLayout;
  keyring: DeviceKeyring;
  /** Ingest's folder: the devices' public addresses, its own service key, its data (outbox). */
  dir: string;
  dataDir: string;
  serviceId: string;
  /** The device_gateway identity ingest submits alarms as. */
  gateway: Identity;
  /** The enterprise admin that registered the devices; reads alarms back. */
  admin: Identity;
  /** The block of the last registration: the site's alarms all come after it. */
  registeredAt: bigint;
  topicRoot: string;
}

/** A fresh site (ids of this run), its gas detectors and ingest service registered on the ledger. */
export async function prepareSensorSite(profile: ConnectionProfile, dir: string): Promise<SensorSite> {
  const tag = uniqueId('s');
  const layout = runLayout(tag);
  const keyFile = generateKeyFile(layoutDeviceIds(layout));
  const keyring = new DeviceKeyring(keyFile);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'devices.json'), JSON.stringify(publicRegistry(keyFile)));
  const service = generateServiceKey(`${tag}-ingest`);
  writeKeyFile(join(dir, 'ingest-key.json'), service);
  // Users of their own: ingest's network tests enrol theirs again (a new msp folder) whenever they run.
  const admin = enrollUser(profile, 'sensor-load-admin', 'admin');
  const gateway = enrollUser(profile, 'sensor-load-gateway', 'device_gateway');
  const client = LedgerClient.connect(profile, admin);
  try {
    const registeredAt = await registerDevices(client, [
      ...layout.areas.map((a) => ({
        deviceId: a.gasDeviceId,
        siteId: layout.siteId,
        areaId: a.areaId,
        address: keyring.wallet(a.gasDeviceId)!.address,
        kind: 'sensor' as const,
      })),
      { deviceId: service.serviceId, siteId: layout.siteId, areaId: 'ingest', address: service.address, kind: 'ingest_service' },
    ]);
    return {
      layout,
      keyring,
      dir,
      dataDir: join(dir, 'data'),
      serviceId: service.serviceId,
      gateway,
      admin,
      registeredAt,
      topicRoot: `faults-${tag}`,
    };
  } finally {
    client.close();
  }
}

export interface IngestProcess {
  pid: number;
  httpPort: number;
  /** Alarms the outbox held unsettled when this process opened it (left by a killed one). */
  pendingAtStart: number;
  /** /healthz of the running process. */
  health(): Promise<{ ok: boolean; outboxDepth: number; ledgerDelivery?: string; mqtt: string }>;
  /** SIGTERM and wait (a process already killed is only reaped). */
  stop(): Promise<void>;
}

/**
 * Ingest as an operator runs it (compiled main when built, else through tsx), on the site's folder
 * and a fixed MQTT client id: a restart resumes the broker's persistent session and the outbox.
 */
export async function startIngestProcess(site: SensorSite, mqttUrl: string): Promise<IngestProcess> {
  const compiled = join(INGEST_DIR, 'dist', 'main.js');
  const entry = existsSync(compiled) ? [compiled] : ['--import', 'tsx', join(INGEST_DIR, 'src', 'main.ts')];
  const child: ChildProcess = spawn(process.execPath, entry, {
    cwd: INGEST_DIR,
    env: {
      ...process.env,
      INGEST_MQTT_URL: mqttUrl,
      INGEST_MQTT_CLIENT_ID: `ingest-${site.topicRoot}`,
      INGEST_TOPIC_ROOT: site.topicRoot,
      INGEST_DATA_DIR: site.dataDir,
      INGEST_DEVICE_REGISTRY_FILE: join(site.dir, 'devices.json'),
      INGEST_SERVICE_KEY_FILE: join(site.dir, 'ingest-key.json'),
      INGEST_HTTP_PORT: '0',
      INGEST_DEDUP_WINDOW_MS: String(SENSOR_DEDUP_WINDOW_MS),
      // A restarted peer or orderer is retried within seconds, not after the default 15 s backoff.
      INGEST_RETRY_MIN_MS: '200',
      INGEST_RETRY_MAX_MS: '2000',
      INGEST_FABRIC_CONNECTION_PROFILE: connectionProfilePath(),
      INGEST_FABRIC_IDENTITY_DIR: dirname(dirname(dirname(site.gateway.certPath))),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  let httpPort: number | undefined;
  for (const until = Date.now() + 90_000; httpPort === undefined; ) {
    if (exited()) throw new Error(`ingest exited with ${child.exitCode ?? child.signalCode}: ${out}`);
    if (Date.now() > until) throw new Error(`ingest did not get ready: ${out}`);
    const ready = /"httpPort":(\d+)[^\n]*"msg":"ingest ready"/.exec(out)?.[1];
    if (ready) httpPort = Number(ready);
    else await new Promise((r) => setTimeout(r, 100));
  }
  const port = httpPort;
  return {
    pid: child.pid!,
    httpPort: port,
    pendingAtStart: Number(/"pending":(\d+)[^\n]*"msg":"ingest starting"/.exec(out)?.[1] ?? Number.NaN),
    async health() {
      return (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as Awaited<ReturnType<IngestProcess['health']>>;
    },
    async stop() {
      if (exited()) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** One reading the publisher sent, as it recorded it. */
export interface SentReading {
  messageId: string;
  areaId: string;
  deviceId: string;
  observedAt: number;
  /** When it was handed to the MQTT client. */
  publishedAt: number;
  /** The broker's PUBACK came (the client resends until it does, across broker restarts). */
  acked: boolean;
  /** The gas alarm this reading must raise: set for a reading above the permit's gas criterion. */
  alarmId?: string;
}

/**
 * Signed readings at a steady rate: every tick one reading per area, and every `alarmEvery`-th
 * tick one area (in turn) reports flammable gas above the permit criterion instead. QoS 1 on a
 * persistent session (clean: false): mqtt.js keeps what the broker has not acknowledged and sends
 * it again after a reconnect, so a broker killed mid-publish loses nothing the publisher sent.
 */
export class SensorPublisher {
  readonly sent: SentReading[] = [];
  private readonly pending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  private failures: string[] = [];

  private constructor(
    private readonly site: SensorSite,
    private readonly client: MqttClient,
    private readonly tickMs: number,
    private readonly alarmEvery: number,
  ) {}

  static async start(site: SensorSite, mqttUrl: string, o: { tickMs?: number; alarmEvery?: number } = {}): Promise<SensorPublisher> {
    const client = await connectPublisher(mqttUrl, `pub-${site.topicRoot}-${randomBytes(3).toString('hex')}`);
    const p = new SensorPublisher(site, client, o.tickMs ?? 1_000, o.alarmEvery ?? 3);
    p.timer = setInterval(() => p.publishTick(), p.tickMs);
    return p;
  }

  /** Readings above the criterion that were sent. */
  get alarmReadings(): SentReading[] {
    return this.sent.filter((s) => s.alarmId !== undefined);
  }

  private publishTick(): void {
    const n = this.tick++;
    const { layout } = this.site;
    const leaking = n % this.alarmEvery === 0 ? layout.areas[(n / this.alarmEvery) % layout.areas.length] : undefined;
    for (const area of layout.areas) {
      const observedAt = Date.now();
      const high = area === leaking;
      const message: EnvMessage = {
        v: 1,
        kind: 'env',
        messageId: `${area.gasDeviceId}-${n}`,
        siteId: layout.siteId,
        areaId: area.areaId,
        deviceId: area.gasDeviceId,
        observedAt,
        reading: { flammableLelPct: high ? 30 : 1, flammableGasLelVolPct: area.gasLelVolPct, o2VolPct: 20.9, windMs: 2 },
      };
      const record: SentReading = {
        messageId: message.messageId,
        areaId: area.areaId,
        deviceId: area.gasDeviceId,
        observedAt,
        publishedAt: observedAt,
        acked: false,
      };
      if (high) {
        const windowStart = Math.floor(observedAt / SENSOR_DEDUP_WINDOW_MS) * SENSOR_DEDUP_WINDOW_MS;
        record.alarmId = alarmId({ deviceId: area.gasDeviceId, siteId: layout.siteId, areaId: area.areaId, kind: KIND_FLAMMABLE_GAS, grade: 1, windowStart });
      }
      this.sent.push(record);
      const done: Promise<void> = signStandardMessage(this.site.keyring.wallet(area.gasDeviceId)!, message)
        .then((signed) => this.client.publishAsync(topicFor(this.site.topicRoot, { ...signed, channel: 'env' }), JSON.stringify(signed), { qos: 1 }))
        .then(
          () => {
            record.acked = true;
          },
          (err: unknown) => {
            this.failures.push(`${message.messageId}: ${String(err)}`);
          },
        )
        .finally(() => this.pending.delete(done));
      this.pending.add(done);
    }
  }

  /** Stops publishing and waits for the broker to acknowledge what was sent. */
  async stop(timeoutMs = 60_000): Promise<{ unacked: number; failures: string[] }> {
    clearInterval(this.timer);
    const until = Date.now() + timeoutMs;
    while (this.pending.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    await this.client.endAsync(this.pending.size > 0);
    return { unacked: this.sent.filter((s) => !s.acked).length, failures: this.failures };
  }
}

/** What ingest's outbox log says of each alarm it ever queued: the last outcome, if settled. */
export function outboxRecord(dataDir: string): { queued: Set<string>; outcomes: Map<string, LedgerOutcome> } {
  type Entry = { op: 'put'; alarm: { fields: { alarmId: string } } } | { op: 'settle'; alarmId: string; outcome: LedgerOutcome };
  const queued = new Set<string>();
  const outcomes = new Map<string, LedgerOutcome>();
  for (const r of readAppendLog<Entry>(join(dataDir, 'outbox.jsonl'))) {
    if (r.op === 'put') queued.add(r.alarm.fields.alarmId);
    else {
      queued.add(r.alarmId);
      outcomes.set(r.alarmId, r.outcome);
    }
  }
  return { queued, outcomes };
}
