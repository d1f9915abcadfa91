/**
 * The ledger repository: every call to Fabric goes through here. It connects each user with their
 * own identity (one fabric-gateway Gateway per user over one gRPC channel per org), submits and
 * evaluates chaincode transactions with their single JSON argument, reads qscc, and turns Fabric's
 * failures into the gateway's typed errors (the chaincode's `CODE: reason` passes through).
 */
import {
  answerOf,
  ChaincodeRefusal,
  CommitWatcher,
  CreatorRefused,
  classifyFabricError,
  commitStatusOf,
  committedBlock,
  connectGateway,
  evaluateTransaction,
  type FabricFailure,
  LedgerUnavailable,
  NotCommitted,
  newGrpcClient,
  OutcomeUnknown,
  PeersDisagree,
  RESUBMIT_AFTER_MS,
  type RetryPolicy,
  submitTransaction,
  waitForPeer,
} from '@compliance-ledger/fabric-client';
import { type ConnectionProfile, ENTERPRISE_ONLY_TXS, TRANSIENT_KEY, type TxName } from '@compliance-ledger/schema';
import type * as grpc from '@grpc/grpc-js';
import type { Gateway, Network, Proposal } from '@hyperledger/fabric-gateway';
import type { Org } from './auth.js';
import { ApiError, ChaincodeError, ConflictError, UnavailableError } from './errors.js';
import { type AdmissionLimits, LedgerAdmission, LedgerBusy } from './ledger-admission.js';
import { blockNumberOf, decodeProcessedTransaction } from './transaction.js';
import type { WalletIdentity } from './wallet.js';

export interface LedgerOptions {
  profile: ConnectionProfile;
  evaluateTimeoutMs: number;
  endorseTimeoutMs: number;
  submitTimeoutMs: number;
  commitTimeoutMs: number;
  retryAfterSeconds: number;
  /** How a transient endorsement failure (a peer behind or unreachable) is tried again before the request is answered. */
  endorseRetry: RetryPolicy;
  /** Told of each such retry (metrics, logs). */
  onEndorseRetry?: (tx: TxName, failure: FabricFailure, retry: number) => void;
  /** Commit statuses from a stream of filtered blocks per org, asking the peer after this long without one; undefined: a call per write. */
  commitStreamFallbackMs?: number;
  /** Told when an org's block stream fails (it is opened again). */
  onCommitStreamError?: (org: Org, e: unknown) => void;
  /** How many calls each org's peer gets at once, and how many may wait (ledger-admission.ts); unset: no bound. */
  admission?: AdmissionLimits;
  /** Told of each call refused for want of a place at the peer. */
  onAdmissionRefused?: (org: Org, reason: LedgerBusy['reason']) => void;
}

export interface SubmitOptions {
  /** Private data for the chaincode (transient map), not written to the ledger. */
  transient?: unknown;
  /** Makes the transaction id durable where a lost outcome can be looked up again (the idempotency record). */
  beforeSubmit?: (transactionId: string) => Promise<void>;
}

export interface SubmitResult<T> {
  result: T;
  transactionId: string;
  blockNumber: number | undefined;
}

/** The answer of every write (routes/common.ts txResultSchema documents it in the OpenAPI). */
export interface TxResultBody {
  transactionId: string;
  blockNumber: number | undefined;
  record: Record<string, unknown>;
}

/** The body of a write's answer; also rebuilt from the ledger for a replay whose first request lost the commit status. */
export function txResultBody(r: SubmitResult<unknown>): TxResultBody {
  return { transactionId: r.transactionId, blockNumber: r.blockNumber, record: r.result as Record<string, unknown> };
}

function parseResult<T>(bytes: Uint8Array): T {
  const text = Buffer.from(bytes).toString('utf8');
  return (text ? JSON.parse(text) : null) as T;
}

/** Ordered and committed into a block, but marked invalid by the peers: nothing was written. */
function notCommitted(txId: string, validationCode: number): ConflictError {
  return new ConflictError(
    'CONFLICT',
    `the transaction ${txId} was not committed (validation code ${validationCode}); nothing was written, retry with a new idempotency key`,
    {
      transactionId: txId,
      validationCode,
    },
  );
}

export class LedgerClient {
  private readonly clients = new Map<Org, grpc.Client>();
  private readonly gateways = new Map<string, Gateway>();
  private readonly watchers = new Map<Org, CommitWatcher>();
  /** The identity each org's block stream reads as: the org's latest submitter, so a stream opened again never needs one that is gone. */
  private readonly readers = new Map<Org, WalletIdentity>();
  private readonly admissions = new Map<Org, LedgerAdmission>();

  constructor(private readonly o: LedgerOptions) {}

  /** Calls at the org's peer now, and calls waiting for a place (metrics). */
  admissionOf(org: Org): { inFlight: number; queued: number } {
    const a = this.admissions.get(org);
    return { inFlight: a?.inFlight ?? 0, queued: a?.queued ?? 0 };
  }

  /** Runs a call to the org's peer once it has a place there (see ledger-admission.ts). */
  private admitted<T>(org: Org, call: () => Promise<T>): Promise<T> {
    const limits = this.o.admission;
    if (!limits) return call();
    let a = this.admissions.get(org);
    if (!a) {
      a = new LedgerAdmission(org, limits);
      this.admissions.set(org, a);
    }
    return a.run(call).catch((e: unknown) => {
      if (e instanceof LedgerBusy) this.o.onAdmissionRefused?.(org, e.reason);
      throw e;
    });
  }

  get channel(): string {
    return this.o.profile.channel;
  }

  get chaincode(): string {
    return this.o.profile.chaincode;
  }

  get profile(): ConnectionProfile {
    return this.o.profile;
  }

  mspId(org: Org): string {
    return this.o.profile.organizations[org].mspId;
  }

  /** The gRPC channel to the org's own peer (its Fabric gateway service). */
  client(org: Org): grpc.Client {
    let c = this.clients.get(org);
    if (!c) {
      c = newGrpcClient(this.o.profile.organizations[org].peer);
      this.clients.set(org, c);
    }
    return c;
  }

  private network(id: WalletIdentity): Network {
    return this.gateway(id).getNetwork(this.o.profile.channel);
  }

  private gateway(id: WalletIdentity): Gateway {
    const key = `${id.org}/${id.sub}`;
    let g = this.gateways.get(key);
    if (!g) {
      g = connectGateway(this.client(id.org), id, this.deadlines());
      this.gateways.set(key, g);
    }
    return g;
  }

  private deadlines() {
    return {
      evaluateMs: this.o.evaluateTimeoutMs,
      endorseMs: this.o.endorseTimeoutMs,
      submitMs: this.o.submitTimeoutMs,
      commitStatusMs: this.o.commitTimeoutMs,
    };
  }

  /**
   * Endorses, orders and waits for the commit; throws unless the transaction is valid. `beforeSubmit`
   * runs from the moment the transaction id is known, beside the endorsement, and the transaction
   * goes to the orderer only once it ended: if it throws, nothing is submitted and its error is what
   * submit() throws.
   */
  async submit<T = unknown>(id: WalletIdentity, tx: TxName, input: unknown, opts: SubmitOptions = {}): Promise<SubmitResult<T>> {
    const { transient, beforeSubmit } = opts;
    const contract = this.network(id).getContract(this.o.profile.chaincode);
    try {
      const committed = await this.admitted(id.org, () =>
        submitTransaction(
          contract,
          {
            name: tx,
            options: {
              arguments: [JSON.stringify(input)],
              ...(transient !== undefined ? { transientData: { [TRANSIENT_KEY]: JSON.stringify(transient) } } : {}),
              ...this.endorsers(tx),
            },
            ...(beforeSubmit ? { beforeSubmit } : {}),
          },
          {
            ownMspId: id.mspId,
            retry: this.o.endorseRetry,
            onRetry: (failure, retry) => this.o.onEndorseRetry?.(tx, failure, retry),
            ...this.commitsFor(id),
          },
        ),
      );
      return { result: parseResult<T>(committed.result), transactionId: committed.transactionId, blockNumber: Number(committed.blockNumber) };
    } catch (e) {
      throw this.translate(e);
    }
  }

  /**
   * The outcome of a transaction whose commit status was lost, as the user's own peer has it: what
   * submit() would have returned, the same CONFLICT for an invalid transaction, or undefined while
   * the peer does not have it (still in flight, or never ordered).
   */
  async committed<T = unknown>(id: WalletIdentity, txId: string): Promise<SubmitResult<T> | undefined> {
    let txBytes: Uint8Array;
    try {
      txBytes = await this.qscc(id, 'GetTransactionByID', txId);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'NOT_FOUND') return undefined;
      throw e;
    }
    const tx = decodeProcessedTransaction(txBytes);
    if (!tx.valid) throw notCommitted(txId, tx.validationCode);
    const blockNumber = blockNumberOf(await this.qscc(id, 'GetBlockByTxID', txId));
    const answer = tx.result ? answerOf(tx.result, () => tx.envelope, this.o.profile.chaincode, txId) : new Uint8Array();
    return { result: parseResult<T>(answer), transactionId: txId, blockNumber };
  }

  /**
   * A connection that acts for a certificate whose private key this process does not have: it
   * builds unsigned proposals and transactions, and sends the ones the key's holder signed.
   */
  offlineGateway(org: Org, mspId: string, certificate: Buffer): Gateway {
    return connectGateway(this.client(org), { mspId, certificate }, { endorseMs: this.o.endorseTimeoutMs, submitMs: this.o.submitTimeoutMs });
  }

  /** The unsigned proposal of `tx` for the offline gateway's identity, with the same arguments and endorsers submit() uses. */
  newUnsignedProposal(g: Gateway, tx: TxName, input: unknown): Proposal {
    return g
      .getNetwork(this.o.profile.channel)
      .getContract(this.o.profile.chaincode)
      .newProposal(tx, { arguments: [JSON.stringify(input)], ...this.endorsers(tx) });
  }

  /**
   * Waits for the commit status of a transaction someone else signed. The status request is signed
   * too, and the client signs only the proposal and the transaction; the peer asks of that request
   * only that its signer may read the channel, so the gateway signs it with an identity of its own
   * org (`observer`). `result` is what the endorsed transaction returned.
   */
  async awaitCommit<T = unknown>(observer: WalletIdentity, txId: string, result: Uint8Array, resubmit?: () => Promise<unknown>): Promise<SubmitResult<T>> {
    try {
      const commit = commitStatusOf(this.gateway(observer), this.o.profile.channel, txId, observer);
      const blockNumber = await committedBlock(
        txId,
        () => commit.getStatus({ deadline: Date.now() + this.o.commitTimeoutMs }),
        resubmit ? { everyMs: RESUBMIT_AFTER_MS, send: resubmit } : undefined,
      );
      return { result: parseResult<T>(result), transactionId: txId, blockNumber: Number(blockNumber) };
    } catch (e) {
      throw this.translate(e);
    }
  }

  /** Personal data goes to the enterprise's peers only, never to another org's (see ENTERPRISE_ONLY_TXS). */
  private endorsers(tx: TxName): { endorsingOrganizations?: string[] } {
    return (ENTERPRISE_ONLY_TXS as readonly TxName[]).includes(tx) ? { endorsingOrganizations: [this.o.profile.organizations.enterprise.mspId] } : {};
  }

  private outcomeUnknown(f: OutcomeUnknown): UnavailableError {
    const err = new UnavailableError('LEDGER_UNAVAILABLE', `${f.message}; retry with the same Idempotency-Key to get its outcome`, this.o.retryAfterSeconds, {
      transactionId: f.transactionId,
    });
    err.mayHaveCommitted = true;
    return err;
  }

  async evaluate<T = unknown>(id: WalletIdentity, tx: TxName, input: unknown): Promise<T> {
    const contract = this.network(id).getContract(this.o.profile.chaincode);
    try {
      const answer = await this.admitted(id.org, () =>
        evaluateTransaction(contract, tx, { arguments: [JSON.stringify(input)], ...this.endorsers(tx) }, id.mspId),
      );
      return parseResult<T>(answer);
    } catch (e) {
      throw this.translate(e);
    }
  }

  /** qscc (query system chaincode) of the user's own peer: raw protobuf bytes. */
  async qscc(id: WalletIdentity, fn: 'GetTransactionByID' | 'GetBlockByTxID' | 'GetChainInfo' | 'GetBlockByNumber', ...args: string[]): Promise<Uint8Array> {
    const contract = this.network(id).getContract('qscc');
    try {
      return await this.admitted(id.org, () => contract.evaluateTransaction(fn, this.o.profile.channel, ...args));
    } catch (e) {
      const err = this.translate(e);
      if (err.code === 'INTERNAL' && /not found|no such transaction/i.test(err.message)) {
        throw new ApiError('NOT_FOUND', `transaction ${args[0]} is not on the channel`);
      }
      throw err;
    }
  }

  /** The gateway's answer to a Fabric failure, as the one classification (fabric-client) has it. */
  translate(e: unknown, transactionId?: string, ownMspId?: string): ApiError {
    if (e instanceof ApiError) return e;
    // Refused before anything was endorsed: nothing can have been written.
    if (e instanceof LedgerBusy) return new UnavailableError('LEDGER_UNAVAILABLE', `${e.message}; nothing was written, retry later`, this.o.retryAfterSeconds);
    const f = classifyFabricError(e, { transactionId, ownMspId });
    const txId = f.transactionId;
    const details = txId ? { transactionId: txId } : undefined;
    if (f instanceof ChaincodeRefusal) return new ChaincodeError(f.code, f.reason, txId);
    if (f instanceof CreatorRefused) {
      return new ApiError(
        'CERTIFICATE_REFUSED',
        "the peer refused the transaction's creator: its certificate is revoked or no longer valid " +
          "for its org on the channel, or the signature was not made with the certificate's key",
        details,
      );
    }
    if (f instanceof OutcomeUnknown) return this.outcomeUnknown(f);
    if (f instanceof NotCommitted) return notCommitted(txId ?? '', f.validationCode);
    if (f instanceof PeersDisagree) {
      // Not the chaincode's answer to this request: the other org's peer has not caught up yet.
      return new UnavailableError(
        'LEDGER_UNAVAILABLE',
        `the endorsing peers disagree: ${f.message}; nothing was written, retry with the same Idempotency-Key`,
        this.o.retryAfterSeconds,
        // No transaction id: nothing was submitted, unlike the 503 of a lost commit status.
        { refusingOrgs: f.refusingMspIds, code: f.code },
      );
    }
    if (f instanceof LedgerUnavailable) return new UnavailableError('LEDGER_UNAVAILABLE', f.message, this.o.retryAfterSeconds, details);
    return new ApiError('INTERNAL', f.message.startsWith('ledger error') ? f.message : `ledger error: ${f.message}`, details);
  }

  /** The org's block stream (opened on its first write; that write still asks its peer), when commit statuses come from one. */
  private commitsFor(id: WalletIdentity): { commits?: CommitWatcher } {
    const fallbackAfterMs = this.o.commitStreamFallbackMs;
    if (fallbackAfterMs === undefined) return {};
    this.readers.set(id.org, id);
    let w = this.watchers.get(id.org);
    if (!w) {
      w = new CommitWatcher(() => this.network(this.readers.get(id.org)!), {
        fallbackAfterMs,
        onStreamError: (e) => this.o.onCommitStreamError?.(id.org, e),
      });
      this.watchers.set(id.org, w);
    }
    return { commits: w };
  }

  /** Where writes' commit statuses came from so far, summed over the orgs (metrics). */
  commitStatusCounts(): { stream: number; peer: number } {
    let stream = 0;
    let peer = 0;
    for (const w of this.watchers.values()) {
      stream += w.counts.fromStream;
      peer += w.counts.asked;
    }
    return { stream, peer };
  }

  /** Whether the org's peer accepts a connection within the deadline. */
  ping(org: Org, timeoutMs: number): Promise<boolean> {
    return waitForPeer(this.client(org), timeoutMs);
  }

  close(): void {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    for (const g of this.gateways.values()) g.close();
    for (const c of this.clients.values()) c.close();
    this.gateways.clear();
    this.clients.clear();
  }
}
