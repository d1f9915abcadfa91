import type { Context } from 'fabric-contract-api';
import { RuleViolationError } from './errors';

/**
 * The only time source of the chaincode: the proposal's timestamp, identical on every endorser.
 * Date.now() would differ between peers and break endorsement.
 */
export function txTimeMs(ctx: Context): number {
  const ts = ctx.stub.getTxTimestamp();
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

export function txTimeIso(ctx: Context): string {
  return toIso(txTimeMs(ctx));
}

export function parseIso(iso: string): number {
  return Date.parse(iso);
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/**
 * The executing peer's own clock, used for one thing only: refusing a proposal whose timestamp is
 * far from it. Fabric checks nothing about the timestamp a client writes into its proposal, and
 * every rule here takes that timestamp as "now"; without this check a client could backdate a
 * step into a permit's validity or a gas test's freshness, and both orgs' peers would endorse it.
 * It never decides a rule's outcome, so endorsers cannot disagree on what they write. Tests
 * replace it.
 */
export const peerClock = { nowMs: (): number => Date.now() };

/**
 * How far a proposal's timestamp may be from the peer's clock: NTP-synchronised clocks and a
 * proposal endorsed within seconds of being built stay well inside it, and it bounds how far a
 * client can shift time (a permit's end, a gas test's age) to two minutes.
 */
export const MAX_TX_TIME_SKEW_MS = 2 * MINUTE_MS;

export function assertTxTimePlausible(ctx: Context): void {
  const skew = txTimeMs(ctx) - peerClock.nowMs();
  if (Math.abs(skew) > MAX_TX_TIME_SKEW_MS) {
    throw new RuleViolationError(
      `the proposal's timestamp ${txTimeIso(ctx)} is ${Math.round(Math.abs(skew) / 1000)} s ` +
        `${skew < 0 ? 'behind' : 'ahead of'} the peers' clocks (at most ${MAX_TX_TIME_SKEW_MS / MINUTE_MS} min); ` +
        "sync the client's clock and send a new proposal",
    );
  }
}
