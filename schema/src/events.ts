import type { HeartbeatRecord } from './heartbeat';

/**
 * Every transaction emits exactly one chaincode event. The event name equals `type`, and the
 * payload is JSON of this envelope; the indexer and the gateway decode it with these types.
 */
export const EVENT_SCHEMA_VERSION = 1;

export interface LedgerEventEnvelope<T extends string, P> {
  schemaVersion: typeof EVENT_SCHEMA_VERSION;
  type: T;
  txId: string;
  /** ISO-8601 transaction timestamp (from the proposal, identical on every endorser). */
  at: string;
  payload: P;
}

export type HeartbeatRecordedEvent = LedgerEventEnvelope<'HeartbeatRecorded', HeartbeatRecord>;

export type LedgerEvent = HeartbeatRecordedEvent;
