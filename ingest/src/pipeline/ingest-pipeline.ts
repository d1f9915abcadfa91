import { createHash } from 'node:crypto';
import type { ContentStore } from '@compliance-ledger/content-store';
import type { Logger } from '../logger.js';
import type { IngestMetrics } from '../metrics.js';
import { toFeatures } from '../model/features.js';
import type { InferenceBatcher } from '../model/inference-batcher.js';
import type { ModelManifest } from '../model/model-manifest.js';
import type { DeadLetterStore, Refused } from '../outbox/dead-letter.js';
import type { Outbox } from '../outbox/outbox.js';
import { buildAlarmFields } from './alarm.js';
import type { Admission, AlarmDeduper } from './alarm-dedup.js';
import { type SignedAlarm, signGrading } from './alarm-signature.js';
import type { AreaSnapshot, AreaStateStore } from './area-state.js';
import { type ClipOutcome, resolveClip } from './camera-clip.js';
import { type DecodedPayload, type DecodeOptions, decodePayload } from './decode.js';
import type { ServiceKey } from './device-keys.js';
import { type AlarmCandidate, type GradingRules, gradeMessage } from './grading.js';
import type { AiMessage, StandardMessage } from './message.js';
import { deviceSignedReading } from './message-signature.js';

export interface PipelineDeps {
  decode: DecodeOptions;
  deadLetters: DeadLetterStore;
  areas: AreaStateStore;
  batcher: InferenceBatcher;
  manifest: ModelManifest;
  rules: GradingRules;
  deduper: AlarmDeduper;
  /** Ingest's own key: it signs gradings. Ingest holds no device key. */
  service: ServiceKey;
  outbox: Outbox;
  /** Where the verified clips of cameras' signed detections go. */
  clips: ContentStore;
  siteUtcOffsetMinutes: number;
  metrics: IngestMetrics;
  log: Logger;
  /**
   * Called for each accepted message (each valid item of a batch, in order), after its alarms
   * are durable (tests, tracing).
   */
  onAccepted?: (message: StandardMessage, alarms: SignedAlarm[]) => void;
}

/** One MQTT message as received. */
export interface Delivery {
  topic: string;
  payload: Uint8Array;
}

/**
 * handleAll() failed (something local, as in handle()) after its first `handled` deliveries were
 * durably handled: those may be acknowledged, the rest is to be retried.
 */
export class PartlyHandled extends Error {
  override readonly name = 'PartlyHandled';
  constructor(
    readonly handled: number,
    override readonly cause: unknown,
  ) {
    super(`handled ${handled} messages, then: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** A batch item sent to the dead-letter store, as the handler reports it. */
export interface ItemRefusal {
  index: number;
  code: string;
  reason: string;
}

export type HandleResult =
  | { status: 'invalid'; reason: string }
  /** `refusedItems` is present for a batch envelope: its items that went to the dead-letter store. */
  | { status: 'accepted'; alarms: SignedAlarm[]; refusedItems?: ItemRefusal[] };

/** Where a message came from, for the dead-letter store; an item's bytes are made only when needed. */
interface Origin {
  topic: string;
  payload(): Uint8Array;
  item?: { index: number; batchId: string };
}

interface Accepted {
  message: StandardMessage;
  origin: Origin;
  /** The detection's signed clip as checked and stored; undefined when it names none. */
  clip?: ClipOutcome | undefined;
}

/** An accepted message once its area state is applied and its rows are built. */
interface Applied {
  message: StandardMessage;
  origin: Origin;
  clip?: ClipOutcome | undefined;
  snapshot: AreaSnapshot;
  /** Undefined for a permit set, which is not scored. */
  features: Float32Array | undefined;
  /** Its row among the rows scored together; a detection's second row (the area without the behaviour) follows it. */
  row: number;
}

interface Planned {
  applied: Applied;
  candidate: AlarmCandidate;
  admission: Admission;
  score: number;
}

/**
 * One MQTT message in (a single message or a gateway's batch envelope), zero or more signed
 * alarms durably queued out: decode → area state → features → batched score → grade → dedup →
 * sign → outbox. A batch envelope's messages go through each step together: their area-state
 * updates in message order, their rows in one inference batch, their alarms in one fsync.
 */
export class IngestPipeline {
  constructor(private readonly deps: PipelineDeps) {}

  async handle(topic: string, payload: Uint8Array): Promise<HandleResult> {
    return this.handleDecoded(topic, payload, decodePayload(topic, payload, this.deps.decode));
  }

  /**
   * Several MQTT messages in their order, with the same outcome as handle() on each in turn. Runs
   * of single normal messages are scored together (one inference call instead of one each, the
   * largest cost of a single-reading message); a run in which any message grades to an alarm
   * candidate is undone and handled message by message, so alarms, their ids, deduplication and
   * redelivery checks are exactly those of the one-by-one path. Envelopes, invalid messages and
   * detections with a signed clip are handled on their own, in order.
   */
  async handleAll(deliveries: readonly Delivery[]): Promise<void> {
    const d = this.deps;
    const progress = { handled: 0 };
    try {
      let run: Accepted[] = [];
      for (const { topic, payload } of deliveries) {
        const decoded = decodePayload(topic, payload, d.decode);
        if (decoded.ok && decoded.batch === undefined && !(decoded.message.kind === 'ai' && decoded.message.detection.clipSha256 !== undefined)) {
          run.push({ message: decoded.message, origin: { topic, payload: () => payload } });
          continue;
        }
        await this.handleRun(run, progress);
        run = [];
        await this.handleDecoded(topic, payload, decoded);
        progress.handled += 1;
      }
      await this.handleRun(run, progress);
    } catch (e) {
      throw new PartlyHandled(progress.handled, e);
    }
  }

  private async handleRun(run: readonly Accepted[], progress: { handled: number }): Promise<void> {
    if (run.length === 0) return;
    const d = this.deps;
    if (run.length > 1) {
      const undo: (() => void)[] = [];
      const rows: Float32Array[] = [];
      const applied = run.map((a) => this.apply(a, undo, rows));
      let quiet = false;
      try {
        const scores = await d.batcher.scoreAll(rows);
        quiet = applied.every((a) => !a.features || this.candidates(a, scores).length === 0);
      } finally {
        // A failed score, or a run with a candidate alarm: nothing of the run may remain, so the
        // one-by-one path below (or the consumer's retry) starts from the same state.
        if (!quiet) for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
      }
      if (quiet) {
        const perKind = new Map<string, number>();
        for (const a of run) perKind.set(a.message.kind, (perKind.get(a.message.kind) ?? 0) + 1);
        for (const [kind, n] of perKind) d.metrics.messagesIn.inc({ kind }, n);
        if (d.onAccepted) for (const a of applied) d.onAccepted(a.message, []);
        progress.handled += run.length;
        return;
      }
    }
    for (const a of run) {
      d.metrics.messagesIn.inc({ kind: a.message.kind });
      await this.process([a], [], () => deliveryHash(a.origin.topic, a.origin.payload()));
      progress.handled += 1;
    }
  }

  private candidates(a: Applied, scores: Float32Array): AlarmCandidate[] {
    const score = scores[a.row]!;
    const scoreWithout = a.message.kind === 'ai' ? scores[a.row + 1] : undefined;
    return gradeMessage(a.message, a.snapshot, score, this.deps.rules, scoreWithout);
  }

  private async handleDecoded(topic: string, payload: Uint8Array, decoded: DecodedPayload): Promise<HandleResult> {
    const d = this.deps;
    if (!decoded.ok) {
      d.metrics.messagesIn.inc({ kind: 'invalid' });
      d.metrics.invalid.inc({ code: decoded.code });
      await d.deadLetters.put(topic, payload, decoded.code, decoded.reason);
      d.log.warn({ topic, code: decoded.code, reason: decoded.reason }, 'message sent to dead letters');
      return { status: 'invalid', reason: decoded.reason };
    }
    // Hashed only when the delivery raises alarms (see raise): normal readings skip the cost.
    const delivery = () => deliveryHash(topic, payload);
    if (decoded.batch === undefined) {
      d.metrics.messagesIn.inc({ kind: decoded.message.kind });
      const { message } = decoded;
      const alarms = await this.process([{ message, origin: { topic, payload: () => payload }, clip: await this.clipOf(message) }], [], delivery);
      return { status: 'accepted', alarms };
    }

    const { batchId } = decoded.batch;
    const accepted: Accepted[] = [];
    const refused: Refused[] = [];
    const perKind = new Map<string, number>();
    for (const r of decoded.items) {
      const item = { index: r.index, batchId };
      if (r.ok) {
        accepted.push({ message: r.message, origin: { topic, payload: () => Buffer.from(JSON.stringify(r.item)), item }, clip: await this.clipOf(r.message) });
        perKind.set(r.message.kind, (perKind.get(r.message.kind) ?? 0) + 1);
      } else {
        refused.push({ topic, payload: Buffer.from(JSON.stringify(r.item) ?? 'null'), code: r.code, reason: r.reason, item });
        perKind.set('invalid', (perKind.get('invalid') ?? 0) + 1);
        d.metrics.invalid.inc({ code: r.code });
        d.log.warn({ topic, batchId, index: r.index, code: r.code, reason: r.reason }, 'batch item sent to dead letters');
      }
    }
    for (const [kind, n] of perKind) d.metrics.messagesIn.inc({ kind }, n);
    const alarms = await this.process(accepted, refused, delivery);
    return { status: 'accepted', alarms, refusedItems: refused.flatMap((r) => (r.item ? [{ index: r.item.index, code: r.code, reason: r.reason }] : [])) };
  }

  /** Checks and stores a detection's signed clip before anything is scored; a store failure is local and retried. */
  private async clipOf(message: StandardMessage): Promise<ClipOutcome | undefined> {
    if (message.kind !== 'ai') return undefined;
    const clip = await resolveClip(this.deps.clips, message);
    if (clip !== undefined && clip.status !== 'verified') {
      this.deps.log.warn(
        { deviceId: message.deviceId, messageId: message.messageId, clipSha256: clip.sha256, status: clip.status },
        'detection clip not verified',
      );
    }
    return clip;
  }

  /**
   * Scores, grades and queues the accepted messages in their order; `refused` goes to the
   * dead-letter store after the alarms are durable.
   * Throws when something local fails (disk); nothing is then acknowledged and the caller retries.
   */
  private async process(accepted: readonly Accepted[], refused: Refused[], delivery: () => string): Promise<SignedAlarm[]> {
    // Every row reaches the batcher before any score is awaited, so one envelope is one batch;
    // the area state is updated in message order, and each snapshot is taken at its message.
    const undo: (() => void)[] = [];
    const rows: Float32Array[] = [];
    const applied = accepted.map((a) => this.apply(a, undo, rows));
    try {
      return await this.raise(applied, rows, refused, delivery);
    } catch (e) {
      // Nothing was acknowledged, so nothing of it may remain: the retry must see the same state.
      // (The MQTT consumer hands over one message at a time, so no other message's update lies
      // on top of these.)
      for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
      throw e;
    }
  }

  private async raise(applied: readonly Applied[], rows: readonly Float32Array[], refused: Refused[], delivery: () => string): Promise<SignedAlarm[]> {
    const d = this.deps;
    const scores = await d.batcher.scoreAll(rows);

    // Admissions are taken synchronously and in message order, so the same messages always
    // admit the same alarms, and no concurrent handler can take the same slot.
    const planned: Planned[] = [];
    for (const a of applied) {
      if (!a.features) continue;
      const score = scores[a.row]!;
      for (const candidate of this.candidates(a, scores)) {
        const admission = d.deduper.admit(a.snapshot.siteId, a.snapshot.areaId, candidate.kind, candidate.grade, a.message.observedAt);
        if (admission) planned.push({ applied: a, candidate, admission, score });
      }
    }
    // The same delivery again after a crash before its PUBACK: its alarms are already queued, and
    // the area state it was graded on is gone, so grading it again could raise other alarm ids.
    // Its new grading is dropped, admissions included (newest first), so the next message is judged
    // on its own; refused items are stored again, since the crash may have come before they were.
    let source: string | undefined;
    if (planned.length > 0) {
      source = delivery();
      if (d.outbox.raisedBy(source)) {
        d.log.info({ alarms: planned.length }, 'redelivered message: its alarms were queued before a restart');
        for (let i = planned.length - 1; i >= 0; i--) planned[i]!.admission.release();
        planned.length = 0;
      }
    }
    if (planned.length === 0 && refused.length === 0) {
      // The common case, normal readings: nothing to write, nothing to wait for.
      if (d.onAccepted) for (const a of applied) d.onAccepted(a.message, []);
      return [];
    }

    const signable = planned.map((p) => ({ p, alarm: this.sign(p) }));

    let signed: SignedAlarm[];
    let added: Set<SignedAlarm>;
    try {
      signed = await Promise.all(signable.map((s) => s.alarm));
      added = new Set(await d.outbox.enqueueAll(signed, Date.now(), source));
    } catch (e) {
      // Not queued, so not raised: the consumer retries the message and must not find it
      // deduplicated. Newest first: an escalation in a window undoes onto the grade before it.
      for (let i = planned.length - 1; i >= 0; i--) planned[i]!.admission.release();
      throw e;
    }
    if (refused.length > 0) {
      // The queued alarms stay admitted if this fails: a retry finds them repeats.
      await d.deadLetters.putAll(refused);
    }

    const byMessage = new Map<Applied, SignedAlarm[]>();
    const all: SignedAlarm[] = [];
    for (const [i, a] of signed.entries()) {
      if (!added.has(a)) continue;
      const { p } = signable[i]!;
      all.push(a);
      const list = byMessage.get(p.applied);
      if (list) list.push(a);
      else byMessage.set(p.applied, [a]);
      d.metrics.alarms.inc({ grade: String(p.candidate.grade) });
      const f = a.fields;
      d.log.info({ alarmId: f.alarmId, kind: f.kind, grade: f.grade, basis: p.candidate.basis, areaId: f.areaId, scoreBp: f.scoreBp }, 'alarm queued');
    }
    if (all.length > 0) d.metrics.outboxDepth.set(d.outbox.depth);
    if (d.onAccepted) for (const a of applied) d.onAccepted(a.message, byMessage.get(a) ?? []);
    return all;
  }

  // Object literals rather than spreads here and in the area state: this runs per reading, and
  // spreads were a measurable share of the one-message path's time (bench/live-mqtt.bench.ts).
  private apply(a: Accepted, undo: (() => void)[], rows: Float32Array[]): Applied {
    const d = this.deps;
    const { message, origin, clip } = a;
    // With a signed clip, the area knows only the verified CID, never one the camera merely named.
    const snapshot = d.areas.apply(clip && message.kind === 'ai' ? withVerifiedClip(message, clip) : message, undo);
    const row = rows.length;
    if (message.kind === 'permits') {
      // The permit set only changes the context. Alarms are raised by the area's sensors and
      // cameras, whose keys the ledger has registered for this area; the next reading or
      // detection (seconds away) scores the area with the new permits.
      return { message, origin, clip, snapshot, features: undefined, row };
    }
    const features = toFeatures(snapshot, d.siteUtcOffsetMinutes);
    rows.push(features);
    if (message.kind === 'ai') {
      // The same area without this behaviour, to tell whether the behaviour is what raised the
      // grade (both rows go into the same batch).
      const others = { ...snapshot, detections: { ...snapshot.detections, [message.detection.behaviour]: 0 } };
      rows.push(toFeatures(others, d.siteUtcOffsetMinutes));
    }
    return { message, origin, clip, snapshot, features, row };
  }

  /**
   * The alarm names the device whose message triggered it and carries that message as the device
   * signed it; ingest's service key signs only the grading of it.
   */
  private sign(p: Planned): Promise<SignedAlarm> {
    const d = this.deps;
    const { message, snapshot, features, clip } = p.applied;
    const fields = buildAlarmFields({
      deviceId: message.deviceId,
      snapshot,
      features: features!,
      kind: p.candidate.kind,
      grade: p.candidate.grade,
      score: p.score,
      windowStart: p.admission.windowStart,
      observedAt: message.observedAt,
      modelVersion: `${d.manifest.name}@${d.manifest.version}`,
      modelSha256: d.manifest.sha256,
    });
    if (clip === undefined) return signGrading(d.service, fields, deviceSignedReading(message));
    // The alarm of a detection with a signed clip carries that clip (or says why it has none),
    // not an earlier detection's.
    const { cid, ...found } = clip;
    return signGrading(d.service, { ...fields, clipCid: cid }, deviceSignedReading(message)).then((a) => ({ ...a, clip: found }));
  }
}

/** Identifies one MQTT delivery (topic and bytes) for the outbox's redelivery check. */
function deliveryHash(topic: string, payload: Uint8Array): string {
  return createHash('sha256').update(topic).update('\0').update(payload).digest('hex');
}

function withVerifiedClip(message: AiMessage, clip: ClipOutcome): AiMessage {
  const { clipCid: _named, ...detection } = message.detection;
  return { ...message, detection: clip.cid === '' ? detection : { ...detection, clipCid: clip.cid } };
}
