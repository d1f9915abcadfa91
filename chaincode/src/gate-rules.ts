import type { GateCheckRecord } from '@compliance-ledger/schema';
import { MINUTE_MS, parseIso } from './clock';

/** One person, one code: a gate check passes only when every method passed. */
export function gateCheckPassed(methods: GateCheckRecord['methods']): boolean {
  return methods.qr.passed && methods.face.passed && methods.certificate.passed && methods.health.passed;
}

export function faceMatchPassed(scoreBp: number, minScoreBp: number): boolean {
  return scoreBp >= minScoreBp;
}

/**
 * Workers without a passing gate check in the last windowMinutes (inclusive) at activation.
 * Checks from the future (clock skew between gate and proposal) do not count.
 */
export function workersWithoutRecentPass(workers: string[], checks: GateCheckRecord[], nowMs: number, windowMinutes: number): string[] {
  return workers.filter(
    (w) =>
      !checks.some((c) => {
        const at = parseIso(c.at);
        return c.workerId === w && c.passed && at <= nowMs && nowMs - at <= windowMinutes * MINUTE_MS;
      }),
  );
}
