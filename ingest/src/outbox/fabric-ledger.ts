import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type ErrorCode, parseErrorCode } from '@compliance-ledger/schema';
import * as grpc from '@grpc/grpc-js';
import { type Contract, connect, type Gateway, GatewayError, hash, signers } from '@hyperledger/fabric-gateway';
import type { SignedAlarm } from '../pipeline/alarm-signature.js';
import type { AlarmLedger, LedgerOutcome } from './alarm-ledger.js';

/**
 * The one place that knows how alarms reach the chaincode. The chaincode's contract and
 * transaction names, its argument shape and its duplicate-refusal codes live here and nowhere
 * else, so a rename on the chaincode side is a one-line change.
 */
export const ALARM_CONTRACT = 'alarm';
export const RAISE_ALARM_TRANSACTION = 'Record';
/** Refusals that mean "this alarm is already on the ledger": the outbox counts them as done. */
export const DUPLICATE_CODES = ['ALREADY_EXISTS', 'REPLAY'] as const;

/** The chaincode's `recordAlarmInput`: the signed fields under `alarm`, and the signature. */
export function raiseAlarmArgument(alarm: SignedAlarm): string {
  return JSON.stringify({ alarm: alarm.fields, signature: alarm.signature });
}

export interface FabricLedgerConfig {
  peerEndpoint: string;
  /** TLS server name when the endpoint's host differs from the peer certificate's name. */
  peerHostAlias?: string | undefined;
  tlsCaCertPath: string;
  mspId: string;
  certPath: string;
  keyPath: string;
  channel: string;
  chaincode: string;
  timeoutMs: number;
}

/**
 * Chaincode refusals that retrying cannot change: the input, the device, the signature or the
 * rules are wrong. `INTERNAL` (and anything without a code) may be transient and is retried.
 */
export const FINAL_CODES = ['VALIDATION_FAILED', 'NOT_FOUND', 'INVALID_STATE', 'RULE_VIOLATION', 'FORBIDDEN', 'EXPIRED', 'SIGNATURE_INVALID'] as const;

/**
 * Refusals with a final code that are about this service, not the alarm, and would refuse every
 * alarm alike: retried until fixed, so that no alarm is set aside for them.
 * - FORBIDDEN about the caller (no device_gateway role, wrong MSP); FORBIDDEN about the device
 *   (`FORBIDDEN: device … is disabled`) stays final.
 * - RULE_VIOLATION for a proposal timestamp more than 2 min from the peers' clocks (this host's
 *   clock is off; a retry sends a new proposal with a new timestamp).
 */
export const SERVICE_FAULTS: readonly RegExp[] = [/FORBIDDEN: (?!device )/, /RULE_VIOLATION: the proposal's timestamp/];

function texts(err: unknown): string[] {
  const out: string[] = [];
  if (err instanceof Error) out.push(err.message);
  if (err instanceof GatewayError) out.push(...err.details.map((d) => d.message));
  return out;
}

/** The chaincode's `CODE` in a peer's "chaincode response 500, CODE: what to fix", if it is one. */
function chaincodeCode(message: string): ErrorCode | undefined {
  return /chaincode response \d+/.test(message) ? parseErrorCode(message) : undefined;
}

/**
 * Maps a submit failure onto an outcome, or undefined when it may be transient (the caller then
 * throws and the outbox retries). What the real network returns (checked by
 * test/integration/network-ledger.test.ts):
 *
 * - a chaincode refusal: `EndorseError` ABORTED, one detail per refusing peer,
 *   `chaincode response 500, CODE: …` — duplicates (`REPLAY`) are done, final codes are rejected;
 * - a peer of the other org down: ABORTED "failed to collect enough transaction endorsements"
 *   with a detail `rpc error: code = Unavailable …` — retried;
 * - the gateway peer down, deadlines, an unknown commit status: other gRPC codes — retried.
 *
 * A refusal counts as final only when every failing peer refused with a final code (not one of
 * the SERVICE_FAULTS: the caller's identity, this host's clock) and the submitting org's own peer
 * (`ownMspId`, the gateway's first endorser) is among them: a refusal by the other org's peer
 * alone means the two peers disagree, which happens while a restarted peer catches up on blocks,
 * and is retried. A peer of the other org left out by discovery comes back as FAILED_PRECONDITION
 * "no combination of peers can be derived which satisfy the endorsement policy": retried.
 */
export function classifySubmitError(err: unknown, ownMspId?: string): LedgerOutcome | undefined {
  const all = texts(err);
  const duplicate = DUPLICATE_CODES.find((code) => all.some((t) => t.includes(`${code}:`)));
  if (duplicate) return { status: 'duplicate', code: duplicate };
  if (!(err instanceof GatewayError) || err.code !== grpc.status.ABORTED || err.details.length === 0) return undefined;
  const final = err.details.every((d) => {
    const code = chaincodeCode(d.message);
    if (code === undefined || !(FINAL_CODES as readonly string[]).includes(code)) return false;
    return !SERVICE_FAULTS.some((re) => re.test(d.message));
  });
  const fromOwnPeer = ownMspId === undefined || err.details.some((d) => d.mspId === ownMspId);
  if (final && fromOwnPeer) return { status: 'rejected', reason: all.join(' | ') };
  return undefined;
}

export class FabricAlarmLedger implements AlarmLedger {
  private constructor(
    private readonly client: grpc.Client,
    private readonly gateway: Gateway,
    private readonly contract: Contract,
    private readonly mspId: string,
  ) {}

  static connect(config: FabricLedgerConfig): FabricAlarmLedger {
    const tls = grpc.credentials.createSsl(readFileSync(config.tlsCaCertPath));
    const client = new grpc.Client(config.peerEndpoint, tls, config.peerHostAlias ? { 'grpc.ssl_target_name_override': config.peerHostAlias } : {});
    const deadline = () => ({ deadline: Date.now() + config.timeoutMs });
    const gateway = connect({
      client,
      identity: { mspId: config.mspId, credentials: readFileSync(config.certPath) },
      signer: signers.newPrivateKeySigner(createPrivateKey(readFileSync(config.keyPath))),
      hash: hash.sha256,
      evaluateOptions: deadline,
      endorseOptions: deadline,
      submitOptions: deadline,
      commitStatusOptions: deadline,
    });
    const contract = gateway.getNetwork(config.channel).getContract(config.chaincode, ALARM_CONTRACT);
    return new FabricAlarmLedger(client, gateway, contract, config.mspId);
  }

  async submitAlarm(alarm: SignedAlarm): Promise<LedgerOutcome> {
    try {
      const submitted = await this.contract.submitAsync(RAISE_ALARM_TRANSACTION, { arguments: [raiseAlarmArgument(alarm)] });
      const status = await submitted.getStatus();
      if (!status.successful) {
        // Invalidated at commit (e.g. an MVCC conflict): nothing was written, so retry; if a
        // concurrent submit won, the retry meets the duplicate refusal.
        throw new Error(`transaction ${status.transactionId} invalid at commit, code ${status.code}`);
      }
      return { status: 'committed', txId: status.transactionId };
    } catch (err) {
      const outcome = classifySubmitError(err, this.mspId);
      if (outcome) return outcome;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.gateway.close();
    this.client.close();
  }
}
