import type { AlarmLedger, LedgerOutcome } from '../../src/outbox/alarm-ledger.js';
import { recoverAlarmSigner, type SignedAlarm } from '../../src/pipeline/alarm-signature.js';

/**
 * A stand-in for the ledger, for outbox tests only: it keeps committed ids, refuses repeats the
 * way the chaincode does (REPLAY), and can be switched off or told to fail N times. It tests the
 * outbox's behaviour, not the ledger. Given a device registry, it also refuses unknown devices and
 * signatures by any other key, as the chaincode does; test/alarm-ledger-contract.test.ts holds it
 * and the real FabricAlarmLedger to the same outcomes.
 */
export class LedgerDouble implements AlarmLedger {
  readonly commits = new Map<string, number>();
  submissions = 0;
  duplicates = 0;
  down = false;
  failNext = 0;
  /** Commit, then throw as if the commit status never came back. */
  loseNextCommitStatus = 0;
  rejectIds = new Set<string>();

  /** deviceId → the address its alarms must be signed by; none: every device is trusted. */
  constructor(private readonly devices?: ReadonlyMap<string, string>) {}

  async submitAlarm(alarm: SignedAlarm): Promise<LedgerOutcome> {
    this.submissions++;
    await new Promise((r) => setImmediate(r));
    if (this.down) throw new Error('UNAVAILABLE: peer down');
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('DEADLINE_EXCEEDED');
    }
    const id = alarm.fields.alarmId;
    if (this.rejectIds.has(id)) return { status: 'rejected', reason: 'SIGNATURE_INVALID: test' };
    if (this.devices) {
      const registered = this.devices.get(alarm.fields.deviceId);
      if (registered === undefined) return { status: 'rejected', reason: `NOT_FOUND: device ${alarm.fields.deviceId}` };
      if (recoverAlarmSigner(alarm).toLowerCase() !== registered.toLowerCase()) {
        return { status: 'rejected', reason: `SIGNATURE_INVALID: alarm ${id} is not signed by device ${alarm.fields.deviceId}` };
      }
    }
    if (this.commits.has(id)) {
      this.duplicates++;
      return { status: 'duplicate', code: 'REPLAY' };
    }
    this.commits.set(id, (this.commits.get(id) ?? 0) + 1);
    if (this.loseNextCommitStatus > 0) {
      this.loseNextCommitStatus--;
      throw new Error('commit status unknown');
    }
    return { status: 'committed', txId: `tx-${id.slice(0, 8)}` };
  }
}
