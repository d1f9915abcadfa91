import { buildAlarmFields } from './alarm.js';
import { AlarmDeduper } from './alarm-dedup.js';
import { signAlarm, type SignedAlarm } from './alarm-signature.js';
import type { AreaSnapshot, AreaStateStore } from './area-state.js';
import type { DeadLetterStore } from './dead-letter.js';
import { decodeMessage, type DecodeOptions } from './decode.js';
import type { DeviceKeyring } from './device-keys.js';
import { toFeatures } from './features.js';
import { gradeMessage, type AlarmCandidate, type GradingRules } from './grading.js';
import type { InferenceBatcher } from './inference-batcher.js';
import type { Logger } from './logger.js';
import type { StandardMessage } from './message.js';
import type { IngestMetrics } from './metrics.js';
import type { ModelManifest } from './model-manifest.js';
import type { Outbox } from './outbox.js';

export interface PipelineDeps {
  decode: DecodeOptions;
  deadLetters: DeadLetterStore;
  areas: AreaStateStore;
  batcher: InferenceBatcher;
  manifest: ModelManifest;
  rules: GradingRules;
  deduper: AlarmDeduper;
  keyring: DeviceKeyring;
  gatewayDeviceId?: string | undefined;
  outbox: Outbox;
  siteUtcOffsetMinutes: number;
  metrics: IngestMetrics;
  log: Logger;
  /** Called for each accepted message, after its alarms are durable (tests, tracing). */
  onAccepted?: (message: StandardMessage, alarms: SignedAlarm[]) => void;
}

export type HandleResult = { status: 'invalid'; reason: string } | { status: 'accepted'; alarms: SignedAlarm[] };

/**
 * One MQTT message in, zero or more signed alarms durably queued out:
 * decode → area state → features → batched score → grade → dedup → sign → outbox.
 */
export class IngestPipeline {
  constructor(private readonly deps: PipelineDeps) {}

  private async raise(
    topic: string,
    payload: Uint8Array,
    message: StandardMessage,
    c: AlarmCandidate,
    snapshot: AreaSnapshot,
    features: Float32Array,
    score: number,
    windowStart: number,
  ): Promise<SignedAlarm | undefined> {
    const d = this.deps;
    const signerId = d.keyring.wallet(message.deviceId) ? message.deviceId : d.gatewayDeviceId;
    const wallet = signerId ? d.keyring.wallet(signerId) : undefined;
    if (!signerId || !wallet) {
      const reason = `no key to sign a grade ${c.grade} ${c.kind} alarm for device ${message.deviceId}`;
      d.metrics.invalid.inc({ code: 'unsigned_alarm' });
      await d.deadLetters.put(topic, payload, 'unsigned_alarm', reason);
      d.log.error({ topic, kind: c.kind, grade: c.grade }, reason);
      return undefined;
    }
    const fields = buildAlarmFields({
      deviceId: signerId,
      snapshot,
      features,
      kind: c.kind,
      grade: c.grade,
      score,
      windowStart,
      observedAt: message.observedAt,
      modelVersion: `${d.manifest.name}@${d.manifest.version}`,
      modelSha256: d.manifest.sha256,
    });
    const alarm = await signAlarm(wallet, fields);
    if (!(await d.outbox.enqueue(alarm))) return undefined;
    d.metrics.alarms.inc({ grade: String(c.grade) });
    d.log.info(
      { alarmId: fields.alarmId, kind: c.kind, grade: c.grade, basis: c.basis, areaId: fields.areaId, scoreBp: fields.scoreBp },
      'alarm queued',
    );
    return alarm;
  }

  async handle(topic: string, payload: Uint8Array): Promise<HandleResult> {
    const d = this.deps;
    const decoded = decodeMessage(topic, payload, d.decode);
    if (!decoded.ok) {
      d.metrics.messagesIn.inc({ kind: 'invalid' });
      d.metrics.invalid.inc({ code: decoded.code });
      await d.deadLetters.put(topic, payload, decoded.code, decoded.reason);
      d.log.warn({ topic, code: decoded.code, reason: decoded.reason }, 'message sent to dead letters');
      return { status: 'invalid', reason: decoded.reason };
    }
    const message = decoded.message;
    d.metrics.messagesIn.inc({ kind: message.kind });

    const snapshot = d.areas.apply(message);
    if (message.kind === 'permits') {
      // The permit set only changes the context. Alarms are raised by the area's sensors and
      // cameras, whose keys the ledger has registered for this area; the next reading or
      // detection (seconds away) scores the area with the new permits.
      d.onAccepted?.(message, []);
      return { status: 'accepted', alarms: [] };
    }
    const features = toFeatures(snapshot, d.siteUtcOffsetMinutes);
    let scoreWithout: Promise<number> | undefined;
    if (message.kind === 'ai') {
      // The same area without this behaviour, to tell whether the behaviour is what raised the
      // grade (both rows go into the same batch).
      const others = { ...snapshot, detections: { ...snapshot.detections, [message.detection.behaviour]: 0 } };
      scoreWithout = d.batcher.score(toFeatures(others, d.siteUtcOffsetMinutes));
    }
    const score = await d.batcher.score(features);
    const candidates = gradeMessage(message, snapshot, score, d.rules, await scoreWithout);

    // Admissions are taken synchronously (so no concurrent message can take the same slot); the
    // alarms are then signed and queued together, sharing one fsync.
    const admitted = candidates.flatMap((c) => {
      const admission = d.deduper.admit(snapshot.siteId, snapshot.areaId, c.kind, c.grade, message.observedAt);
      return admission ? [{ c, admission }] : [];
    });
    const results = await Promise.allSettled(
      admitted.map(({ c, admission }) => this.raise(topic, payload, message, c, snapshot, features, score, admission.windowStart)),
    );
    const alarms: SignedAlarm[] = [];
    let failure: unknown;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        if (r.value) alarms.push(r.value);
      } else {
        // Not queued, so not raised: the consumer retries the message and must not find it deduplicated.
        admitted[i]!.admission.release();
        failure ??= r.reason;
      }
    });
    if (failure !== undefined) throw failure;
    d.metrics.outboxDepth.set(d.outbox.depth);
    d.onAccepted?.(message, alarms);
    return { status: 'accepted', alarms };
  }
}
