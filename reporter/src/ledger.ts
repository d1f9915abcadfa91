import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type ErrorCode, parseErrorCode } from '@compliance-ledger/schema';
import * as grpc from '@grpc/grpc-js';
import { connect, type Gateway, GatewayError, hash, type Network, signers } from '@hyperledger/fabric-gateway';
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

function texts(err: unknown): string[] {
  const out: string[] = [];
  if (err instanceof Error) out.push(err.message);
  if (err instanceof GatewayError) out.push(...err.details.map((d) => d.message));
  return out;
}

/**
 * A chaincode refusal by the own org's peer (`chaincode response 500, CODE: …`) is an answer, not
 * a failure; everything else (peers down, deadlines) is thrown, and the next period tries again.
 */
export function refusalOf(err: unknown, ownMspId: string): { code: ErrorCode | undefined; reason: string } | undefined {
  if (!(err instanceof GatewayError) || err.code !== grpc.status.ABORTED) return undefined;
  const own = err.details.filter((d) => d.mspId === ownMspId && /chaincode response \d+/.test(d.message));
  if (own.length === 0) return undefined;
  return { code: parseErrorCode(own[0]!.message), reason: texts(err).join(' | ') };
}

export class FabricSweeperLedger implements SweeperLedger {
  private constructor(
    private readonly client: grpc.Client,
    private readonly gateway: Gateway,
    private readonly config: FabricIdentityConfig,
  ) {}

  static connect(config: FabricIdentityConfig): FabricSweeperLedger {
    const client = new grpc.Client(
      config.peerEndpoint,
      grpc.credentials.createSsl(readFileSync(config.tlsCaCertPath)),
      config.peerHostAlias ? { 'grpc.ssl_target_name_override': config.peerHostAlias } : {},
    );
    const deadline = (ms: number) => () => ({ deadline: Date.now() + ms });
    const gateway = connect({
      client,
      identity: { mspId: config.mspId, credentials: readFileSync(config.certPath) },
      signer: signers.newPrivateKeySigner(createPrivateKey(readFileSync(config.keyPath))),
      hash: hash.sha256,
      evaluateOptions: deadline(config.timeoutMs),
      endorseOptions: deadline(config.timeoutMs),
      submitOptions: deadline(config.timeoutMs),
      commitStatusOptions: deadline(4 * config.timeoutMs),
    });
    return new FabricSweeperLedger(client, gateway, config);
  }

  private contract(tx: string) {
    const [contract, fn] = tx.split(':') as [string, string];
    return { c: this.gateway.getNetwork(this.config.channel).getContract(this.config.chaincode, contract), fn };
  }

  /** The channel, for the push reporter's event stream (same identity and connection). */
  network(): Network {
    return this.gateway.getNetwork(this.config.channel);
  }

  async evaluate<T>(tx: string, input: unknown): Promise<T> {
    const { c, fn } = this.contract(tx);
    return JSON.parse(decoder.decode(await c.evaluateTransaction(fn, JSON.stringify(input)))) as T;
  }

  async submit(tx: string, input: unknown): Promise<SubmitOutcome> {
    const { c, fn } = this.contract(tx);
    try {
      const submitted = await c.submitAsync(fn, { arguments: [JSON.stringify(input)] });
      const status = await submitted.getStatus();
      if (!status.successful) return { status: 'conflict', code: status.code, txId: status.transactionId };
      return { status: 'committed', blockNumber: status.blockNumber, txId: status.transactionId };
    } catch (err) {
      const refusal = refusalOf(err, this.config.mspId);
      if (refusal !== undefined) return { status: 'refused', ...refusal };
      throw err;
    }
  }

  close(): void {
    this.gateway.close();
    this.client.close();
  }
}
