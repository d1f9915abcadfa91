import type { SignedAlarm } from '../pipeline/alarm-signature.js';

/**
 * What the ledger did with an alarm. `duplicate` means the ledger already holds this alarm id (or
 * refused a replayed signature): for the outbox that is as good as committed. `rejected` is a
 * final refusal (bad signature, unknown device): retrying cannot help, so the alarm is set aside
 * with the reason rather than retried forever.
 *
 * Anything else — peer or orderer down, timeouts, unknown commit status — is thrown, and the
 * outbox retries later with the same alarm id.
 */
export type LedgerOutcome = { status: 'committed'; txId: string } | { status: 'duplicate'; code: string } | { status: 'rejected'; reason: string };

export interface AlarmLedger {
  submitAlarm(alarm: SignedAlarm): Promise<LedgerOutcome>;
  close?(): Promise<void>;
}
