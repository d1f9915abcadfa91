/**
 * Submitting and evaluating with the one classification: every failure leaves as a FabricFailure,
 * and a transient endorsement failure (a peer behind, a peer unreachable) is endorsed again, a
 * bounded number of times with backoff, before anything is handed to the orderer.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { type Commit, type Contract, type Gateway, GatewayError, type Proposal, type ProposalOptions } from '@hyperledger/fabric-gateway';
import { gateway as gatewayProtos, msp } from '@hyperledger/fabric-protos';
import { answerOfEndorsed } from './answer.js';
import type { CommitStatus, CommitWatcher } from './commit-watcher.js';
import { atConcurrencyLimit, classifyFabricError, type FabricFailure, NotCommitted, OutcomeUnknown } from './errors.js';
import { validationCodeName } from './validation-codes.js';

/** How often and how patiently a transient endorsement failure is tried again. */
export interface RetryPolicy {
  /** Endorsements in all, the first included (1: no retry). */
  attempts: number;
  /** Wait before the second attempt; it doubles with each further one … */
  baseDelayMs: number;
  /** … up to this. */
  maxDelayMs: number;
}

export const NO_RETRY: Readonly<RetryPolicy> = Object.freeze({ attempts: 1, baseDelayMs: 0, maxDelayMs: 0 });

/** Exponential backoff, capped: base, 2·base, 4·base, … up to max. */
export function backoffDelayMs(retry: number, policy: RetryPolicy): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
}

export interface SubmitRequest {
  /** The chaincode's transaction name (with its contract, `contract:Fn`, when the contract is not the Contract's default). */
  name: string;
  options?: ProposalOptions;
  /**
   * Must end before the transaction goes to the orderer (e.g. to make its id durable). It starts as
   * soon as the id is known, beside the endorsement, so that it adds nothing to the request's time
   * and the ids of requests that arrive together share a statement (bench/RESULTS.md, 2026-12-07
   * night session). If it throws, nothing is submitted and its error is what submit throws, as it
   * is; if the endorsement fails, the endorsement's failure is thrown once it has ended.
   */
  beforeSubmit?: (transactionId: string) => Promise<void>;
}

export interface SubmitPolicy {
  /** The submitting org's MSP (see ClassifyContext.ownMspId). */
  ownMspId: string;
  retry?: RetryPolicy;
  /** Hand the signed transaction to the orderer again after this long without its commit status (0: never); default RESUBMIT_AFTER_MS. */
  resubmitAfterMs?: number;
  /** Called before each retry, with the failure that caused it. */
  onRetry?: (failure: FabricFailure, retry: number, delayMs: number) => void;
  /** Commit statuses from a stream of blocks (commit-watcher.ts) rather than a call per transaction. */
  commits?: CommitWatcher;
}

export interface Committed {
  transactionId: string;
  blockNumber: bigint;
  /** What the chaincode returned, or the record it wrote when it answered with the key (answerOf). */
  result: Uint8Array;
}

/**
 * How long a transaction handed to the orderer may go without its commit status before the same
 * signed transaction is handed over again. Far above a commit under load here (a few seconds at
 * worst), so a copy is rare; long enough for Raft to elect a new leader (5 s).
 */
export const RESUBMIT_AFTER_MS = 15_000;

/** gRPC codes of a hand-over to the orderer that got no answer: the orderer may have it. */
const SUBMIT_UNANSWERED = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED]);

/**
 * Endorses (with retries), orders and waits for the commit; throws a FabricFailure unless the
 * transaction is valid. A retried endorsement sends the same signed proposal again, so the
 * transaction keeps the id `beforeSubmit` was given: a peer endorses a proposal as often as it is
 * asked, and refuses only an id already on the ledger.
 */
export async function submitTransaction(contract: Contract, request: SubmitRequest, policy: SubmitPolicy): Promise<Committed> {
  const retry = policy.retry ?? NO_RETRY;
  const proposal = contract.newProposal(request.name, request.options);
  const transactionId = proposal.getTransactionId();
  const before = request.beforeSubmit ? outcomeOf(request.beforeSubmit(transactionId)) : undefined;
  let endorsed: Awaited<ReturnType<typeof proposal.endorse>>;
  let answer: Uint8Array;
  try {
    endorsed = await endorseWithRetries(proposal, transactionId, retry, policy);
    // Read before anything is ordered: an answer naming a key the transaction does not write is refused while nothing is written.
    answer = answerOfEndorsed(endorsed, contract.getChaincodeName());
  } catch (e) {
    // The caller settles what beforeSubmit did (e.g. frees the id it recorded) only once it ended.
    await before;
    throw e;
  }
  const ended = await before;
  if (ended && 'error' in ended) throw ended.error;
  // Registered before the hand-over, so that not even a block committed at once is missed.
  const expected = policy.commits?.expect(transactionId);
  let submitted: Awaited<ReturnType<typeof endorsed.submit>>;
  try {
    submitted = await handOver(() => endorsed.submit(), transactionId, policy.ownMspId);
  } catch (e) {
    expected?.cancel();
    throw e;
  }
  const everyMs = policy.resubmitAfterMs ?? RESUBMIT_AFTER_MS;
  const resubmit = everyMs > 0 ? { everyMs, send: () => endorsed.submit() } : undefined;
  const ask = () => submitted.getStatus();
  const getStatus = expected ? () => expected.status(ask) : ask;
  return { transactionId, result: answer, blockNumber: await committedBlock(transactionId, getStatus, resubmit) };
}

/** A promise's end as a value: awaited later, its failure is not an unhandled rejection meanwhile. */
function outcomeOf(p: Promise<void>): Promise<{ error: unknown } | undefined> {
  return p.then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
}

/** The proposal endorsed, a transient failure tried again with backoff up to `retry.attempts` in all. */
async function endorseWithRetries(proposal: Proposal, transactionId: string, retry: RetryPolicy, policy: SubmitPolicy) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await proposal.endorse();
    } catch (e) {
      const failure = classifyFabricError(e, { ownMspId: policy.ownMspId, transactionId });
      if (!failure.transient || attempt >= retry.attempts) throw failure;
      const delay = backoffDelayMs(attempt, retry);
      policy.onRetry?.(failure, attempt, delay);
      await sleep(delay);
    }
  }
}

/** How often an unanswered hand-over is made in all, and the pause before the second (then 2×, 3× …). */
export const HANDOVER_ATTEMPTS = 4;
export const HANDOVER_BACKOFF_MS = 1_000;

/**
 * Hands a signed transaction to the orderer (`send`: the peer's gateway passes it on). No answer
 * (`UNAVAILABLE`, `DEADLINE_EXCEEDED`, `CANCELLED`: an orderer killed while it held the call) is not
 * a "no": the transaction may have got through, so it is not endorsed anew but the *same* signed
 * transaction is handed over again, up to `attempts` times in all, which is safe for the reason
 * committedBlock gives. Only then is the outcome unknown (OutcomeUnknown); every other error is
 * classified as it is. Without this, one call cut by an orderer's death left the request unknown
 * until the gateway's release bound (120 s in a clean-clone fault suite run). A refusal at the
 * peer's concurrency limit is handed over again the same way; when every attempt was one, the
 * orderer never got the transaction, and the failure is the refusal's (LedgerUnavailable).
 */
export async function handOver<T>(
  send: () => Promise<T>,
  transactionId: string,
  ownMspId: string,
  o: { attempts: number; backoffMs: number } = { attempts: HANDOVER_ATTEMPTS, backoffMs: HANDOVER_BACKOFF_MS },
): Promise<T> {
  // Whether any attempt went unanswered: refusals at the peer's concurrency limit alone mean the
  // orderer never got the transaction, and the outcome is known.
  let unanswered = false;
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (e) {
      const busy = e instanceof GatewayError && atConcurrencyLimit(e.message);
      if (!(e instanceof GatewayError && (SUBMIT_UNANSWERED.has(e.code) || busy))) throw classifyFabricError(e, { ownMspId, transactionId });
      unanswered ||= !busy;
      if (attempt >= o.attempts && !unanswered) throw classifyFabricError(e, { ownMspId, transactionId });
      if (attempt >= o.attempts) {
        throw new OutcomeUnknown(`transaction ${transactionId} was sent to the orderer ${attempt} times but no answer came (${e.message})`, {
          transactionId,
          grpcCode: e.code,
          cause: e,
        });
      }
      await sleep(o.backoffMs * attempt);
    }
  }
}

/** Handing a signed transaction to the orderer again: `send` does it, every `everyMs` without a status. */
export interface Resubmission {
  everyMs: number;
  send: () => Promise<unknown>;
}

/**
 * The block of a transaction handed to the orderer, once its commit status arrives; OutcomeUnknown
 * when it does not (it may well be on the ledger), NotCommitted when it was invalidated.
 *
 * With `resubmit`, the same signed transaction is handed over again each `everyMs` while the status
 * does not come. An orderer can accept a transaction and die before passing it on (a Raft leader
 * killed before it replicated): the transaction is then lost, nothing would ever commit it, and
 * the caller would wait out the whole commit deadline and then not know (the fault suite measured
 * 65–121 s to recover from such a kill). Sending the same transaction again is safe: its id is
 * fixed by its signed header, and a copy ordered after the first is committed is marked
 * DUPLICATE_TXID by every peer and writes nothing, while the status waited for is the first valid one.
 */
export async function committedBlock(transactionId: string, getStatus: () => Promise<CommitStatus>, resubmit?: Resubmission): Promise<bigint> {
  let status: CommitStatus;
  try {
    status = resubmit ? await handingOverAgain(getStatus(), resubmit) : await getStatus();
  } catch (e) {
    const cause = e instanceof Error ? e.message : String(e);
    throw new OutcomeUnknown(`transaction ${transactionId} was submitted but its commit status did not arrive (${cause})`, {
      transactionId,
      ...(e instanceof GatewayError ? { grpcCode: e.code } : {}),
      cause: e,
    });
  }
  if (!status.successful) throw new NotCommitted(status.code, validationCodeName(status.code), { transactionId });
  return status.blockNumber;
}

/**
 * A wait for the commit status of a transaction this process did not submit itself (one a user
 * signed, or one whose hand-over is to be repeated): the request names the transaction and the
 * channel, and `gateway`'s identity (`observer`, which must be able to read the channel) signs it.
 */
export function commitStatusOf(gateway: Gateway, channel: string, transactionId: string, observer: { mspId: string; certificate: Uint8Array }): Commit {
  const request = new gatewayProtos.CommitStatusRequest();
  request.setTransactionId(transactionId);
  request.setChannelId(channel);
  const creator = new msp.SerializedIdentity();
  creator.setMspid(observer.mspId);
  creator.setIdBytes(observer.certificate);
  request.setIdentity(creator.serializeBinary());
  const signed = new gatewayProtos.SignedCommitStatusRequest();
  signed.setRequest(request.serializeBinary());
  return gateway.newCommit(signed.serializeBinary());
}

/** The status, sending the transaction again each `everyMs` until it arrives (or fails: that is the caller's to judge). */
async function handingOverAgain<T>(status: Promise<T>, resubmit: Resubmission): Promise<T> {
  const settled = status.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const due = new Promise<'due'>((resolve) => {
      timer = setTimeout(() => resolve('due'), resubmit.everyMs);
    });
    const first = await Promise.race([settled, due]);
    clearTimeout(timer);
    if (first !== 'due') {
      if ('error' in first) throw first.error;
      return first.value;
    }
    // A failed hand-over changes nothing: the first copy may still commit, and the next turn tries again.
    await resubmit.send().catch(() => undefined);
  }
}

/** Evaluates on the own org's peer; throws a FabricFailure. */
export async function evaluateTransaction(contract: Contract, name: string, options: ProposalOptions | undefined, ownMspId: string): Promise<Uint8Array> {
  try {
    return await contract.evaluate(name, options);
  } catch (e) {
    throw classifyFabricError(e, { ownMspId });
  }
}
