import {
  ChaincodeRefusal,
  CommitWatcher,
  classifyFabricError,
  type FabricConnection,
  openConnection,
  PeersDisagree,
  signingIdentityFromFiles,
  submitTransaction,
} from '@compliance-ledger/fabric-client';
import type { Contract } from '@hyperledger/fabric-gateway';
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

/**
 * The chaincode's `recordAlarmInput`: the fields under `alarm`, the service's grading signature,
 * the service id and the device-signed reading (version 1 entries: the device's signature only).
 */
export function raiseAlarmArgument(alarm: SignedAlarm): string {
  return JSON.stringify({
    alarm: alarm.fields,
    signature: alarm.signature,
    ...(alarm.serviceId !== undefined ? { serviceId: alarm.serviceId } : {}),
    ...(alarm.reading !== undefined ? { reading: alarm.reading } : {}),
    ...(alarm.clip !== undefined ? { clip: alarm.clip } : {}),
  });
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
  /** How long an alarm's transaction is waited for on the block stream before its peer is asked (capped at timeoutMs). */
  commitStreamFallbackMs: number;
}

/**
 * Refusals with a final code that are about this service, not the alarm, and would refuse every
 * alarm alike: retried until fixed, so that no alarm is set aside for them.
 * - FORBIDDEN about the caller (no device_gateway role, wrong MSP); FORBIDDEN about the device
 *   (`FORBIDDEN: device … is disabled`) stays final.
 * - RULE_VIOLATION for a proposal timestamp more than 2 min from the peers' clocks (this host's
 *   clock is off; a retry sends a new proposal with a new timestamp).
 */
export const SERVICE_FAULTS: readonly RegExp[] = [/FORBIDDEN: (?!device )/, /RULE_VIOLATION: the proposal's timestamp/];

/**
 * What the outbox does with a submit failure, on top of fabric-client's one classification: a
 * duplicate refusal is done, a final chaincode refusal about the alarm sets it aside (`rejected`),
 * and everything else (undefined) is thrown and retried: transient failures — the other org's peer
 * refusing alone while it catches up on blocks (PeersDisagree), peers down, deadlines — and the
 * SERVICE_FAULTS, which would refuse every alarm alike. What the real network returns is checked
 * by test/integration/network-ledger.test.ts and fabric-client's unit tests.
 */
export function classifySubmitError(err: unknown, ownMspId?: string): LedgerOutcome | undefined {
  const f = classifyFabricError(err, { ownMspId });
  const refused = f instanceof ChaincodeRefusal || f instanceof PeersDisagree ? f.code : undefined;
  const duplicate = DUPLICATE_CODES.find((code) => code === refused);
  if (duplicate) return { status: 'duplicate', code: duplicate };
  if (!(f instanceof ChaincodeRefusal) || SERVICE_FAULTS.some((re) => re.test(f.message))) return undefined;
  return { status: 'rejected', reason: [f.message, ...f.peers.map((p) => p.message)].join(' | ') };
}

export class FabricAlarmLedger implements AlarmLedger {
  private constructor(
    private readonly connection: FabricConnection,
    private readonly contract: Contract,
    /** Commit statuses from the channel's block stream rather than a CommitStatus call per alarm (fabric-client). */
    private readonly commits: CommitWatcher,
  ) {}

  static connect(config: FabricLedgerConfig): FabricAlarmLedger {
    const connection = openConnection(
      { endpoint: config.peerEndpoint, hostAlias: config.peerHostAlias, tlsCaFile: config.tlsCaCertPath },
      signingIdentityFromFiles(config.mspId, { certFile: config.certPath, keyFile: config.keyPath }),
      { deadlines: { evaluateMs: config.timeoutMs, endorseMs: config.timeoutMs, submitMs: config.timeoutMs, commitStatusMs: config.timeoutMs } },
    );
    const network = connection.gateway.getNetwork(config.channel);
    const contract = network.getContract(config.chaincode, ALARM_CONTRACT);
    // Never waits on the stream longer than the commit deadline, which then counts again from the call.
    const commits = new CommitWatcher(() => network, { fallbackAfterMs: Math.min(config.commitStreamFallbackMs, config.timeoutMs) });
    return new FabricAlarmLedger(connection, contract, commits);
  }

  /** Alarms whose commit status came from the block stream, and those asked of the peer after waiting on it. */
  commitStatusCounts(): { stream: number; peer: number } {
    return { stream: this.commits.counts.fromStream, peer: this.commits.counts.asked };
  }

  async submitAlarm(alarm: SignedAlarm): Promise<LedgerOutcome> {
    try {
      // No retry here: the outbox retries what is thrown, with its own backoff and persistence.
      // An MVCC conflict at commit is thrown too: if a concurrent submit won, the retry meets the duplicate refusal.
      const committed = await submitTransaction(
        this.contract,
        { name: RAISE_ALARM_TRANSACTION, options: { arguments: [raiseAlarmArgument(alarm)] } },
        { ownMspId: this.connection.mspId, commits: this.commits },
      );
      return { status: 'committed', txId: committed.transactionId };
    } catch (err) {
      const outcome = classifySubmitError(err, this.connection.mspId);
      if (outcome) return outcome;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.commits.close();
    this.connection.close();
  }
}
