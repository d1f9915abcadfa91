import type { AlarmGrade, SignedAlarmFields } from '@compliance-ledger/schema';
import { canonicalJson } from '@compliance-ledger/schema';
import { FEATURE_NAMES } from '../model/features.js';
import type { AreaSnapshot } from './area-state.js';
import { sha256Hex32 } from './sha256.js';

/**
 * Deterministic id: the same device, place, kind, grade and dedup window always give the same id,
 * so a retry after any crash submits the same alarm and the ledger's duplicate refusal makes it
 * idempotent. The grade is part of it because an escalation in the same window is a new alarm.
 */
export function alarmId(p: { deviceId: string; siteId: string; areaId: string; kind: string; grade: AlarmGrade; windowStart: number }): string {
  return sha256Hex32(['alarm', 'v1', p.siteId, p.areaId, p.deviceId, p.kind, String(p.grade), String(p.windowStart)].join('|')).slice(2);
}

/** Hash of exactly what the model saw, so an auditor can recompute the score from archived inputs. */
export function inputSha256(snapshot: AreaSnapshot, features: Float32Array): string {
  return sha256Hex32(
    canonicalJson({
      siteId: snapshot.siteId,
      areaId: snapshot.areaId,
      observedAt: snapshot.observedAt,
      featureNames: FEATURE_NAMES,
      // Float32 values printed through Number keep every bit, so the hash is reproducible.
      features: Array.from(features),
    }),
  );
}

export function toScoreBp(score: number): number {
  return Math.min(10_000, Math.max(0, Math.round(score * 10_000)));
}

export function buildAlarmFields(p: {
  deviceId: string;
  snapshot: AreaSnapshot;
  features: Float32Array;
  kind: string;
  grade: AlarmGrade;
  score: number;
  windowStart: number;
  observedAt: number;
  modelVersion: string;
  modelSha256: string;
}): SignedAlarmFields {
  const { snapshot } = p;
  return {
    alarmId: alarmId({ ...p, siteId: snapshot.siteId, areaId: snapshot.areaId }),
    deviceId: p.deviceId,
    siteId: snapshot.siteId,
    areaId: snapshot.areaId,
    grade: p.grade,
    kind: p.kind,
    scoreBp: toScoreBp(p.score),
    modelVersion: p.modelVersion,
    modelSha256: p.modelSha256.startsWith('0x') ? p.modelSha256 : `0x${p.modelSha256}`,
    inputSha256: inputSha256(snapshot, p.features),
    clipCid: snapshot.clipCid,
    observedAt: p.observedAt,
  };
}
