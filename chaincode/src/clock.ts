import type { Context } from 'fabric-contract-api';

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
