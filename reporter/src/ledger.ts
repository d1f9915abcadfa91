import {
  ChaincodeRefusal,
  classifyFabricError,
  type FabricConnection,
  NotCommitted,
  openConnection,
  signingIdentityFromFiles,
  submitTransaction,
} from '@compliance-ledger/fabric-client';
import type { ErrorCode } from '@compliance-ledger/schema';
import type { Network } from '@hyperledger/fabric-gateway';
import type { FabricIdentityConfig } from './config.js';

const decoder = new TextDecoder();

export type SubmitOutcome =
  | { status: 'committed'; blockNumber: bigint; txId: string }
  /** The ledger refused: another copy of the sweeper, or a person, got there first (or the clock moved on). */
  | { status: 'refused'; code: ErrorCode | undefined; reason: string }
  /** Ordered but invalidated at commit (MVCC conflict with a concurrent step on the same permit). */
  | { status: 'conflict'; code: number; txId: string };

/** What the sweeper needs of the ledger; the tests exercise the real one. */
export interface SweeperLedger {
  evaluate<T>(tx: string, input: unknown): Promise<T>;
  submit(tx: string, input: unknown): Promise<SubmitOutcome>;
  close(): void;
}

/**
 * A chaincode refusal by the own org's peer (fabric-client's ChaincodeRefusal) is an answer, not a
 * failure; everything else (peers down or behind, deadlines) is thrown, and the next period tries again.
 */
export function refusalOf(err: unknown, ownMspId: string): { code: ErrorCode | undefined; reason: string } | undefined {
  const f = classifyFabricError(err, { ownMspId });
  if (!(f instanceof ChaincodeRefusal)) return undefined;
  return { code: f.code, reason: [f.message, ...f.peers.map((p) => p.message)].join(' | ') };
}

export class FabricSweeperLedger implements SweeperLedger {
  private constructor(
    private readonly connection: FabricConnection,
    private readonly config: FabricIdentityConfig,
  ) {}

  static connect(config: FabricIdentityConfig): FabricSweeperLedger {
    const connection = openConnection(
      { endpoint: config.peerEndpoint, hostAlias: config.peerHostAlias, tlsCaFile: config.tlsCaCertPath },
      signingIdentityFromFiles(config.mspId, { certFile: config.certPath, keyFile: config.keyPath }),
      { deadlines: { evaluateMs: config.timeoutMs, endorseMs: config.timeoutMs, submitMs: config.timeoutMs, commitStatusMs: 4 * config.timeoutMs } },
    );
    return new FabricSweeperLedger(connection, config);
  }

  private contract(tx: string) {
    const [contract, fn] = tx.split(':') as [string, string];
    return { c: this.connection.gateway.getNetwork(this.config.channel).getContract(this.config.chaincode, contract), fn };
  }

  /** The channel, for the push reporter's event stream (same identity and connection). */
  network(): Network {
    return this.connection.gateway.getNetwork(this.config.channel);
  }

  async evaluate<T>(tx: string, input: unknown): Promise<T> {
    const { c, fn } = this.contract(tx);
    return JSON.parse(decoder.decode(await c.evaluateTransaction(fn, JSON.stringify(input)))) as T;
  }

  async submit(tx: string, input: unknown): Promise<SubmitOutcome> {
    const { c, fn } = this.contract(tx);
    try {
      const committed = await submitTransaction(c, { name: fn, options: { arguments: [JSON.stringify(input)] } }, { ownMspId: this.config.mspId });
      return { status: 'committed', blockNumber: committed.blockNumber, txId: committed.transactionId };
    } catch (err) {
      if (err instanceof NotCommitted) return { status: 'conflict', code: err.validationCode, txId: err.transactionId ?? '' };
      const refusal = refusalOf(err, this.config.mspId);
      if (refusal !== undefined) return { status: 'refused', ...refusal };
      throw err;
    }
  }

  close(): void {
    this.connection.close();
  }
}
