import type { PermitAction, PermitStatus } from '@compliance-ledger/schema';
import { TERMINAL_PERMIT_STATUSES } from '@compliance-ledger/schema';
import { InvalidStateError } from './errors';

/**
 * The permit lifecycle as data: for each action, the statuses it may start from. The target
 * status of actions with more than one outcome (gas test, sign-off) is decided by the caller,
 * from the rules; everything else has one target.
 */
export const TRANSITIONS: Record<PermitAction, { from: readonly PermitStatus[]; to: PermitStatus | null }> = {
  apply: { from: [], to: 'applied' },
  assess_risk: { from: ['applied'], to: 'risk_assessed' },
  // A gas test may be recorded (and repeated) from risk assessment until work ends; only the
  // first passing test of a permit that requires one moves it to gas_tested.
  gas_test: { from: ['risk_assessed', 'gas_tested', 'signing_off', 'signed_off', 'issued', 'briefed', 'active', 'suspended'], to: null },
  sign_off: { from: ['risk_assessed', 'gas_tested', 'signing_off'], to: null },
  issue: { from: ['signed_off'], to: 'issued' },
  brief: { from: ['issued'], to: 'briefed' },
  activate: { from: ['briefed'], to: 'active' },
  suspend: { from: ['active'], to: 'suspended' },
  resume: { from: ['suspended'], to: 'active' },
  complete: { from: ['active'], to: 'completed' },
  close: { from: ['completed'], to: 'closed' },
  reject: { from: ['applied', 'risk_assessed', 'gas_tested', 'signing_off', 'signed_off'], to: 'rejected' },
  cancel: { from: ['applied', 'risk_assessed', 'gas_tested', 'signing_off', 'signed_off', 'issued', 'briefed'], to: 'cancelled' },
  revoke: { from: ['issued', 'briefed', 'active', 'suspended'], to: 'revoked' },
  expire: {
    from: ['applied', 'risk_assessed', 'gas_tested', 'signing_off', 'signed_off', 'issued', 'briefed', 'active', 'suspended'],
    to: 'expired',
  },
};

/** Statuses whose clock still runs: after the validity ends, these read as expired. */
export const EXPIRABLE_STATUSES: readonly PermitStatus[] = TRANSITIONS.expire.from;

export function assertCanStart(action: PermitAction, status: PermitStatus): void {
  const t = TRANSITIONS[action];
  if (t.from.includes(status)) return;
  if (TERMINAL_PERMIT_STATUSES.includes(status)) {
    throw new InvalidStateError(`the permit is ${status} and can never change again; the work needs a new permit`);
  }
  throw new InvalidStateError(`cannot ${action.replace('_', ' ')} a permit that is ${status}; this step needs the permit to be ${t.from.join(' or ')}`);
}

/** Sign-off may start before the gas test only when the template does not require one. */
export function assertSignOffPrecondition(status: PermitStatus, gasTestRequired: boolean): void {
  assertCanStart('sign_off', status);
  if (gasTestRequired && status === 'risk_assessed') {
    throw new InvalidStateError('this permit requires a passing gas test before sign-off; record one with RecordGasTest');
  }
}
