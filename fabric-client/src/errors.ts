/**
 * The one classification of Fabric failures. Every service asks the same question of a failed call
 * — is this the ledger's answer, or may a retry change it? — and gets the same answer here:
 *
 * | class                | kind            | what happened                                                                 |
 * |----------------------|-----------------|-------------------------------------------------------------------------------|
 * | ChaincodeRefusal     | final           | the chaincode refused (`CODE: reason`) on the submitting org's own peer      |
 * | PeersDisagree        | transient       | only another org's peer refused while the own peer endorsed: it is behind     |
 * | ChaincodeFailure     | transient       | the chaincode failed without a code, or with INTERNAL                         |
 * | CreatorRefused       | final           | the peer refused the creator (revoked or foreign certificate, bad signature) |
 * | LedgerUnavailable    | transient       | a peer or the orderer unreachable, a deadline, no endorsing peers in reach    |
 * | NotCommitted         | retry / final   | ordered but invalidated at commit: MVCC or phantom conflict = retry as a new transaction |
 * | OutcomeUnknown       | unknown-outcome | handed to the orderer, but no answer: it may be on the ledger                 |
 * | UnexpectedLedgerError| unexpected      | anything else                                                                 |
 *
 * `transient` may be retried as it is (the same proposal endorsed again); `retry` needs a new transaction;
 * `unknown-outcome` must be looked up by its transaction id before anything is sent again.
 */
import { type ErrorCode, parseChaincodeError } from '@compliance-ledger/schema';
import * as grpc from '@grpc/grpc-js';
import { type ErrorDetail, GatewayError } from '@hyperledger/fabric-gateway';

export type FailureKind = 'final' | 'transient' | 'retry' | 'unknown-outcome' | 'unexpected';

/** One peer's answer in an endorsement failure. */
export interface PeerAnswer {
  mspId: string;
  address: string;
  message: string;
}

export abstract class FabricFailure extends Error {
  abstract readonly kind: FailureKind;
  readonly transactionId: string | undefined;
  /** The gRPC status of the failed call, when it came from one. */
  readonly grpcCode: grpc.status | undefined;
  /** Each failing peer's own message, for logs and for callers that need the peer's words. */
  readonly peers: readonly PeerAnswer[];
  constructor(
    message: string,
    o: { transactionId?: string | undefined; grpcCode?: grpc.status | undefined; peers?: readonly PeerAnswer[]; cause?: unknown } = {},
  ) {
    super(message, o.cause === undefined ? undefined : { cause: o.cause });
    this.name = new.target.name;
    this.transactionId = o.transactionId;
    this.grpcCode = o.grpcCode;
    this.peers = o.peers ?? [];
  }
  /** Whether sending the same request again (the same proposal) may succeed. */
  get transient(): boolean {
    return this.kind === 'transient';
  }
}

type FailureOptions = ConstructorParameters<typeof FabricFailure>[1];

/** The chaincode's coded refusal of the request, on the submitting org's own peer. */
export class ChaincodeRefusal extends FabricFailure {
  readonly kind = 'final';
  constructor(
    readonly code: ErrorCode,
    /** The chaincode's reason, without the code. */
    readonly reason: string,
    o: FailureOptions = {},
  ) {
    super(`${code}: ${reason}`, o);
  }
}

/**
 * Only other orgs' peers refused, while the submitting org's peer endorsed: the peers' ledgers
 * differ, which happens while a restarted or partitioned peer catches up on blocks.
 */
export class PeersDisagree extends FabricFailure {
  readonly kind = 'transient';
  constructor(
    readonly code: ErrorCode,
    readonly reason: string,
    readonly refusingMspIds: readonly string[],
    o: FailureOptions = {},
  ) {
    super(`${refusingMspIds.join(', ')} refused (${code}: ${reason}) while the submitting org's peer endorsed; the refusing peer is probably behind`, o);
  }
}

/** The chaincode failed without a refusal of the request (INTERNAL, or an uncoded error). */
export class ChaincodeFailure extends FabricFailure {
  readonly kind = 'transient';
}

/** The peer refused the transaction's creator: its certificate is revoked or not of the org, or the signature is not its key's. */
export class CreatorRefused extends FabricFailure {
  readonly kind = 'final';
}

/** A peer or the orderer did not answer, or no set of reachable peers satisfies the endorsement policy. */
export class LedgerUnavailable extends FabricFailure {
  readonly kind = 'transient';
}

/** Ordered into a block but marked invalid: nothing was written. */
export class NotCommitted extends FabricFailure {
  readonly kind: 'retry' | 'final';
  constructor(
    readonly validationCode: number,
    readonly validationName: string,
    o: FailureOptions = {},
  ) {
    super(`transaction ${o.transactionId ?? ''} was not committed: ${validationName} (${validationCode}); nothing was written`, o);
    this.kind = RETRYABLE_VALIDATION.has(validationName) ? 'retry' : 'final';
  }
}

/** The transaction reached the orderer, or may have, and its outcome did not arrive. */
export class OutcomeUnknown extends FabricFailure {
  readonly kind = 'unknown-outcome';
}

export class UnexpectedLedgerError extends FabricFailure {
  readonly kind = 'unexpected';
}

/** Validation codes that a new transaction, endorsed on the new state, gets past. */
const RETRYABLE_VALIDATION = new Set(['MVCC_READ_CONFLICT', 'PHANTOM_READ_CONFLICT']);

/** gRPC codes of a call that got no answer in time, or no connection. */
const UNREACHABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED, grpc.status.RESOURCE_EXHAUSTED]);

export interface ClassifyContext {
  /**
   * The MSP of the peer the call went to (the submitting org's): its refusal is the ledger's
   * answer; another org's alone means the peers disagree. Unset: every refusal counts as final.
   */
  ownMspId?: string | undefined;
  transactionId?: string | undefined;
}

/** A peer's message that carries the chaincode's own answer (not the peer's or the gateway's). */
function chaincodeAnswer(message: string): { code: ErrorCode; reason: string } | undefined {
  return /chaincode response \d+/.test(message) ? parseChaincodeError(message) : undefined;
}

function peersOf(err: GatewayError): PeerAnswer[] {
  return err.details.map((d: ErrorDetail) => ({ mspId: d.mspId, address: d.address, message: d.message }));
}

/**
 * A peer at its concurrency limit (`peer.limits.concurrency` in core.yaml) refuses a call before
 * any handler runs, as gRPC UNKNOWN with this text: nothing was endorsed, evaluated or passed on.
 * Under an overload (measured: 1,200 evaluations at once against a limit of 500) it was an
 * unexpected error, answered 500.
 */
export function atConcurrencyLimit(message: string): boolean {
  return /exceeding concurrency limit/.test(message);
}

/** Turns any failure of a Fabric call into one of the classes above (a FabricFailure passes through). */
export function classifyFabricError(err: unknown, ctx: ClassifyContext = {}): FabricFailure {
  if (err instanceof FabricFailure) return err;
  const transactionId = ctx.transactionId ?? (err instanceof GatewayError ? transactionIdOf(err) : undefined);
  if (!(err instanceof GatewayError)) {
    const message = err instanceof Error ? err.message : String(err);
    const answer = chaincodeAnswer(message);
    if (answer && answer.code !== 'INTERNAL') return new ChaincodeRefusal(answer.code, answer.reason, { transactionId, cause: err });
    return new UnexpectedLedgerError(message, { transactionId, cause: err });
  }
  const peers = peersOf(err);
  const o = { transactionId, grpcCode: err.code, peers, cause: err };
  const messages = [err.message, ...peers.map((p) => p.message)];
  const all = messages.join(' | ');
  if (messages.some(atConcurrencyLimit)) {
    return new LedgerUnavailable(`a peer is at its concurrency limit (peer.limits.concurrency) and refused the call without acting on it: ${all}`, o);
  }
  if (messages.some((m) => /error validating proposal: access denied/.test(m))) {
    return new CreatorRefused(
      `the peer refused the transaction's creator: its certificate is revoked or no longer valid for its org on the channel, ` +
        `or the signature was not made with the certificate's key (${all})`,
      o,
    );
  }
  if (err.code === grpc.status.ABORTED && peers.length > 0) return classifyEndorsement(peers, ctx.ownMspId, all, o);
  // A peer left out by discovery (down, or not yet seen by gossip after a restart).
  if (err.code === grpc.status.FAILED_PRECONDITION && /no combination of peers|endorsement policy/.test(all)) return new LedgerUnavailable(all, o);
  // evaluate goes to the own peer alone: its chaincode's answer is in the message.
  const answer = messages.map(chaincodeAnswer).find((a) => a !== undefined);
  if (answer) return answer.code === 'INTERNAL' ? new ChaincodeFailure(all, o) : new ChaincodeRefusal(answer.code, answer.reason, o);
  if (UNREACHABLE.has(err.code)) return new LedgerUnavailable(`the ledger is unreachable: ${all}`, o);
  return new UnexpectedLedgerError(`ledger error: ${all}`, o);
}

/**
 * An endorsement that failed at some peers (the Fabric gateway reports one detail per failing
 * peer; the own org's peer is asked first, so a failure listing only other orgs' peers means the
 * own peer endorsed).
 */
function classifyEndorsement(peers: PeerAnswer[], ownMspId: string | undefined, all: string, o: FailureOptions): FabricFailure {
  const answers = peers.map((p) => ({ peer: p, answer: chaincodeAnswer(p.message) }));
  if (answers.some((a) => a.answer === undefined)) {
    // A peer that did not answer at all (down, unreachable, its chaincode server gone).
    return answers.some((a) => a.answer === undefined && /code = (Unavailable|DeadlineExceeded|Canceled)|connection refused|no such host/i.test(a.peer.message))
      ? new LedgerUnavailable(`an endorsing peer is unreachable: ${all}`, o)
      : new ChaincodeFailure(all, o);
  }
  if (answers.some((a) => a.answer!.code === 'INTERNAL')) return new ChaincodeFailure(all, o);
  const own = ownMspId === undefined ? answers[0] : answers.find((a) => a.peer.mspId === ownMspId);
  if (own) return new ChaincodeRefusal(own.answer!.code, own.answer!.reason, o);
  const first = answers[0]!.answer!;
  return new PeersDisagree(first.code, first.reason, [...new Set(peers.map((p) => p.mspId))], o);
}

/** fabric-gateway's EndorseError and SubmitError carry the transaction id. */
function transactionIdOf(err: GatewayError): string | undefined {
  const id = (err as { transactionId?: unknown }).transactionId;
  return typeof id === 'string' ? id : undefined;
}
