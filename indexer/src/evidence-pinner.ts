/**
 * The regulator's own copy of the evidence. Following the indexer's mirror of the ledger, every
 * CID the ledger records (evidence files, alarm clips, gate check photos) is pinned on the regulator's IPFS node,
 * which fetches it from the enterprise's node over IPFS (bitswap); from then on the enterprise
 * deleting its copy does not make the evidence unavailable, and the hash on the ledger still
 * verifies the regulator's copy. Each pin has a retention period (README, Evidence pins and
 * retention); the sweeper unpins what has passed it, and kubo's garbage collection frees the space.
 */
import type { Knex } from 'knex';
import type { Logger } from './logger.js';

/** `personal`: a gate check's photo of the person at the gate, kept as briefly as plain video. */
export type Retention = 'record' | 'video' | 'personal';

export interface RetentionPolicy {
  /** Plain video (GB 30871: at least one month). */
  videoRetainMs: number;
  /** Alarm clips, incident video and the permit's documents and photos: the six-year record. */
  recordRetainMs: number;
}

export interface RecordedContent {
  mediaType: string;
  step: string | null;
  /** An alarm's clip, evidence of a step that records a stop, or of a permit an alarm suspended. */
  tiedToAlarmOrIncident: boolean;
  /** The photo of the person at a gate check (personal data). */
  gatePhoto?: boolean;
}

/**
 * Which period applies: only video that no alarm or incident concerns, and gate photos, have the
 * short one. A gate photo is the six-year record only when its check is part of an incident: the
 * permit was suspended by an alarm, or the gate and the ledger disagreed on the check.
 */
export function retentionOf(c: RecordedContent): Retention {
  if (c.tiedToAlarmOrIncident) return 'record';
  if (c.gatePhoto) return 'personal';
  if (c.step === 'suspension') return 'record';
  return c.mediaType.startsWith('video/') ? 'video' : 'record';
}

export function retainUntil(retention: Retention, recordedAt: Date, policy: RetentionPolicy): Date {
  return new Date(recordedAt.getTime() + (retention === 'record' ? policy.recordRetainMs : policy.videoRetainMs));
}

/** Pins through kubo's RPC API (the same calls as `ipfs pin add` / `ipfs pin rm`). */
export class KuboPins {
  constructor(private readonly apiUrl: string) {}
  private async call(command: string, cid: string, timeoutMs: number): Promise<void> {
    const res = await fetch(`${this.apiUrl}/api/v0/${command}?arg=${encodeURIComponent(cid)}`, { method: 'POST', signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    if (!res.ok) throw new Error(`kubo ${command} ${cid}: ${res.status} ${text.slice(0, 300)}`);
  }
  add(cid: string, timeoutMs: number): Promise<void> {
    return this.call('pin/add', cid, timeoutMs);
  }
  async rm(cid: string, timeoutMs: number): Promise<void> {
    try {
      await this.call('pin/rm', cid, timeoutMs);
    } catch (e) {
      // Unpinned by hand already: the sweeper's goal is reached.
      if (!/not pinned/.test((e as Error).message)) throw e;
    }
  }
}

export interface PinnerOptions {
  policy: RetentionPolicy;
  pollMs: number;
  pinTimeoutMs: number;
  /** Pins fetched at the same time. */
  concurrency: number;
}

interface Candidate {
  cid: string;
  media_type: string;
  step: string | null;
  recorded_at: Date | string;
  tied: boolean;
  gate_photo?: boolean;
}

export class EvidencePinner {
  private stopped = false;
  private wake: (() => void) | undefined;
  constructor(
    private readonly db: Knex,
    private readonly pins: KuboPins,
    private readonly o: PinnerOptions,
    private readonly log: Logger,
  ) {}

  /** CIDs the mirror holds with their retention; new ones are added, plain video tied to an alarm since is upgraded. */
  async discover(): Promise<number> {
    const tiedPermit = `(p.suspension_alarm_id IS NOT NULL OR EXISTS (SELECT 1 FROM alarms a WHERE a.suspended_permit_nos @> jsonb_build_array(e.permit_no)))`;
    const evidence = (
      await this.db.raw<{ rows: Candidate[] }>(
        `SELECT e.cid, e.media_type, e.step, e.recorded_at, ${tiedPermit} AS tied
           FROM evidence e LEFT JOIN permits p ON p.permit_no = e.permit_no
           LEFT JOIN evidence_pins ep ON ep.cid = e.cid
          WHERE ep.cid IS NULL OR (ep.retention = 'video' AND ep.unpinned_at IS NULL AND ${tiedPermit})`,
      )
    ).rows;
    const clips = (
      await this.db.raw<{ rows: Candidate[] }>(
        `SELECT a.record->>'clipCid' AS cid, 'video/mp4' AS media_type, NULL AS step, a.recorded_at, TRUE AS tied
           FROM alarms a LEFT JOIN evidence_pins ep ON ep.cid = a.record->>'clipCid'
          WHERE COALESCE(a.record->>'clipCid', '') <> '' AND (ep.cid IS NULL OR ep.retention = 'video')`,
      )
    ).rows;
    // Gate photos from the gate check events themselves (the record's device.photo); a disagreement
    // between gate and ledger, or the permit suspended by an alarm, makes the check an incident's.
    const gateTied = `(COALESCE((g.record->'device'->>'disagreement')::boolean, FALSE) OR p.suspension_alarm_id IS NOT NULL
      OR EXISTS (SELECT 1 FROM alarms a WHERE a.suspended_permit_nos @> jsonb_build_array(g.record->>'permitNo')))`;
    const photos = (
      await this.db.raw<{ rows: Candidate[] }>(
        `SELECT g.record->'device'->'photo'->>'cid' AS cid, g.record->'device'->'photo'->>'mediaType' AS media_type, NULL AS step,
                (g.record->>'at')::timestamptz AS recorded_at, ${gateTied} AS tied, TRUE AS gate_photo
           FROM (SELECT convert_from(e.payload, 'UTF8')::jsonb AS record FROM events e WHERE e.name = 'GateCheckRecorded' AND e.valid) g
           LEFT JOIN permits p ON p.permit_no = g.record->>'permitNo'
           LEFT JOIN evidence_pins ep ON ep.cid = g.record->'device'->'photo'->>'cid'
          WHERE g.record->'device'->'photo'->>'cid' IS NOT NULL
            AND (ep.cid IS NULL OR (ep.retention = 'personal' AND ep.unpinned_at IS NULL AND ${gateTied}))`,
      )
    ).rows;
    let changed = 0;
    for (const c of [...evidence, ...clips, ...photos]) {
      const retention = retentionOf({ mediaType: c.media_type, step: c.step, tiedToAlarmOrIncident: c.tied, gatePhoto: c.gate_photo === true });
      const recordedAt = new Date(c.recorded_at);
      const row = { cid: c.cid, retention, recorded_at: recordedAt, retain_until: retainUntil(retention, recordedAt, this.o.policy) };
      // The same CID recorded twice keeps the longer period.
      const r = await this.db('evidence_pins')
        .insert(row)
        .onConflict('cid')
        .merge(['retention', 'retain_until'])
        .where('evidence_pins.retain_until', '<', row.retain_until)
        .returning('cid');
      changed += r.length;
    }
    return changed;
  }

  /**
   * Pins what is recorded and not yet pinned, `concurrency` at a time. Fresh records go first
   * (while the enterprise's node certainly still has them) and a CID that failed goes behind the
   * ones never tried, so content no node offers any more cannot hold up the rest; its failure is
   * kept on the row and it is tried again in later rounds.
   */
  async pinPending(now = new Date()): Promise<number> {
    const pending = await this.db('evidence_pins')
      .whereNull('pinned_at')
      .whereNull('unpinned_at')
      .where('retain_until', '>', now)
      .orderBy([{ column: 'attempts' }, { column: 'recorded_at', order: 'desc' }])
      .limit(this.o.concurrency)
      .select<{ cid: string }[]>('cid');
    const outcomes = await Promise.all(pending.map(({ cid }) => this.pinOne(cid)));
    return outcomes.filter(Boolean).length;
  }

  private async pinOne(cid: string): Promise<boolean> {
    try {
      await this.pins.add(cid, this.o.pinTimeoutMs);
      await this.db('evidence_pins').where({ cid }).update({ pinned_at: new Date(), last_error: null });
      this.log.info({ cid }, "evidence pinned on this org's node");
      return true;
    } catch (e) {
      await this.db('evidence_pins')
        .where({ cid })
        .update({ attempts: this.db.raw('attempts + 1'), last_error: (e as Error).message.slice(0, 500) });
      this.log.warn({ cid, err: (e as Error).message }, 'evidence not pinned yet; tried again in a later round');
      return false;
    }
  }

  /** The retention sweeper: unpins what has passed its period (kubo's gc then frees the blocks). */
  async sweep(now = new Date()): Promise<string[]> {
    const expired = await this.db('evidence_pins').whereNull('unpinned_at').where('retain_until', '<=', now).select<{ cid: string }[]>('cid');
    const done: string[] = [];
    for (const { cid } of expired) {
      try {
        await this.pins.rm(cid, this.o.pinTimeoutMs);
        await this.db('evidence_pins').where({ cid }).update({ unpinned_at: new Date() });
        done.push(cid);
        this.log.info({ cid }, 'retention passed: evidence unpinned');
      } catch (e) {
        this.log.warn({ cid, err: (e as Error).message }, 'could not unpin expired evidence; retried next round');
      }
    }
    return done;
  }

  async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.discover();
        await this.pinPending();
        await this.sweep();
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'evidence pinning round failed; retried');
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.o.pollMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }
}
