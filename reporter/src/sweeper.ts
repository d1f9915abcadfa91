import type { Logger } from 'pino';
import type { SubmitOutcome, SweeperLedger } from './ledger.js';

/** The chaincode's permit:ListDue answer. */
export interface DuePermits {
  asOf: string;
  expired: { permitNo: string; status: string; endedAt: string }[];
  monitoringOverdue: { permitNo: string; dueAt: string }[];
}

export type SweepAction = 'expire' | 'suspend_monitoring_overdue';
export type SweepResult = SubmitOutcome['status'] | 'failed';

export interface SweepReport {
  asOf: string;
  actions: { permitNo: string; action: SweepAction; result: SweepResult; detail: string }[];
}

/**
 * One sweep: asks the ledger what the clock made due and records each item with the sweeper's own
 * identity. It keeps no state of its own: a restarted sweeper, or a second copy, reads the same
 * due list, and the chaincode refuses what is already recorded (INVALID_STATE, EXPIRED) or makes
 * one of two concurrent writes invalid at commit; both are reported, neither is an error.
 */
export async function sweepOnce(ledger: SweeperLedger, batch: number, log: Logger): Promise<SweepReport> {
  const due = await ledger.evaluate<DuePermits>('permit:ListDue', { limit: batch });
  const actions: SweepReport['actions'] = [];
  const act = async (permitNo: string, action: SweepAction, tx: string, input: unknown) => {
    try {
      const r = await ledger.submit(tx, input);
      const detail = r.status === 'committed' ? `block ${r.blockNumber} tx ${r.txId}` : r.status === 'refused' ? r.reason : `invalid at commit, code ${r.code}`;
      actions.push({ permitNo, action, result: r.status, detail });
      log.info({ permitNo, action, result: r.status, detail }, 'sweep action');
    } catch (err) {
      actions.push({ permitNo, action, result: 'failed', detail: String(err) });
      log.warn({ permitNo, action, err: String(err) }, 'sweep action failed; the next period retries');
    }
  };
  for (const e of due.expired) await act(e.permitNo, 'expire', 'permit:Expire', { permitNo: e.permitNo });
  for (const m of due.monitoringOverdue) {
    await act(m.permitNo, 'suspend_monitoring_overdue', 'permit:Suspend', {
      permitNo: m.permitNo,
      reason: 'monitoring_overdue',
      note: `continuous gas reading due at ${m.dueAt} was not recorded; suspended by the sweeper`,
    });
  }
  return { asOf: due.asOf, actions };
}

/** Runs sweepOnce every periodMs (the next begins a full period after the last ended) until stopped. */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  lastSweepAt: string | null = null;
  lastError: string | null = null;

  constructor(
    private readonly ledger: SweeperLedger,
    private readonly options: { periodMs: number; batch: number },
    private readonly log: Logger,
    private readonly onReport: (r: SweepReport) => void = () => undefined,
  ) {}

  start(): void {
    const tick = () => {
      this.running = sweepOnce(this.ledger, this.options.batch, this.log)
        .then((r) => {
          this.lastSweepAt = r.asOf;
          this.lastError = null;
          this.onReport(r);
        })
        .catch((err: unknown) => {
          this.lastError = String(err);
          this.log.warn({ err: String(err) }, 'sweep failed; the next period retries');
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.periodMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
