import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { connect, GatewayError, hash, signers, type Contract, type Gateway } from '@hyperledger/fabric-gateway';
import type { AlarmLedger, LedgerOutcome } from './alarm-ledger.js';
import type { SignedAlarm } from './alarm-signature.js';

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

function texts(err: unknown): string[] {
  const out: string[] = [];
  if (err instanceof Error) out.push(err.message);
  if (err instanceof GatewayError) out.push(...err.details.map((d) => d.message));
  return out;
}

/**
 * Maps a submit failure onto an outcome, or undefined when it may be transient (the caller then
 * throws and the outbox retries). A chaincode error comes back as ABORTED with the chaincode's
 * message in the details; unavailable peers, timeouts and unknown commit status do not.
 */
export function classifySubmitError(err: unknown): LedgerOutcome | undefined {
  const all = texts(err);
  const duplicate = DUPLICATE_CODES.find((code) => all.some((t) => t.includes(code)));
  if (duplicate) return { status: 'duplicate', code: duplicate };
  if (err instanceof GatewayError && err.code === grpc.status.ABORTED && err.details.some((d) => /chaincode response/.test(d.message))) {
    return { status: 'rejected', reason: all.join(' | ') };
  }
  return undefined;
}

export class FabricAlarmLedger implements AlarmLedger {
  private constructor(
    private readonly client: grpc.Client,
    private readonly gateway: Gateway,
    private readonly contract: Contract,
  ) {}

  static connect(config: FabricLedgerConfig): FabricAlarmLedger {
    const tls = grpc.credentials.createSsl(readFileSync(config.tlsCaCertPath));
    const client = new grpc.Client(
      config.peerEndpoint,
      tls,
      config.peerHostAlias ? { 'grpc.ssl_target_name_override': config.peerHostAlias } : {},
    );
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
    return new FabricAlarmLedger(client, gateway, contract);
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
      const outcome = classifySubmitError(err);
      if (outcome) return outcome;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.gateway.close();
    this.client.close();
  }
}
