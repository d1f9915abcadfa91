/**
 * Submitting and evaluating with the one classification: every failure leaves as a FabricFailure,
 * and a transient endorsement failure (a peer behind, a peer unreachable) is endorsed again as a
 * new proposal, a bounded number of times with backoff, before anything is handed to the orderer.
 */

import * as grpc from '@grpc/grpc-js';
import { type Contract, GatewayError, type ProposalOptions } from '@hyperledger/fabric-gateway';
import { classifyFabricError, type FabricFailure, NotCommitted, OutcomeUnknown } from './errors.js';
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
   * Runs once the transaction is endorsed and before it goes to the orderer (e.g. to make its id
   * durable); if it throws, nothing is submitted and its error is what submit throws, as it is.
   */
  beforeSubmit?: (transactionId: string) => Promise<void>;
}

export interface SubmitPolicy {
  /** The submitting org's MSP (see ClassifyContext.ownMspId). */
  ownMspId: string;
  retry?: RetryPolicy;
  /** Called before each retry, with the failure that caused it. */
  onRetry?: (failure: FabricFailure, retry: number, delayMs: number) => void;
}

export interface Committed {
  transactionId: string;
  blockNumber: bigint;
  /** What the chaincode returned. */
  result: Uint8Array;
}

/** gRPC codes of a hand-over to the orderer that got no answer: the orderer may have it. */
const SUBMIT_UNANSWERED = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Endorses (with retries), orders and waits for the commit; throws a FabricFailure unless the transaction is valid. */
export async function submitTransaction(contract: Contract, request: SubmitRequest, policy: SubmitPolicy): Promise<Committed> {
  const retry = policy.retry ?? NO_RETRY;
  for (let attempt = 1; ; attempt++) {
    const proposal = contract.newProposal(request.name, request.options);
    const transactionId = proposal.getTransactionId();
    let endorsed: Awaited<ReturnType<typeof proposal.endorse>>;
    try {
      endorsed = await proposal.endorse();
    } catch (e) {
      const failure = classifyFabricError(e, { ownMspId: policy.ownMspId, transactionId });
      if (!failure.transient || attempt >= retry.attempts) throw failure;
      const delay = backoffDelayMs(attempt, retry);
      policy.onRetry?.(failure, attempt, delay);
      await sleep(delay);
      continue;
    }
    await request.beforeSubmit?.(transactionId);
    let submitted: Awaited<ReturnType<typeof endorsed.submit>>;
    try {
      submitted = await endorsed.submit();
    } catch (e) {
      // No answer from the hand-over is not a "no": the peer may have passed it on before the call was cut.
      if (e instanceof GatewayError && SUBMIT_UNANSWERED.has(e.code)) {
        throw new OutcomeUnknown(`transaction ${transactionId} was sent to the orderer but no answer came (${e.message})`, {
          transactionId,
          grpcCode: e.code,
          cause: e,
        });
      }
      throw classifyFabricError(e, { ownMspId: policy.ownMspId, transactionId });
    }
    return { transactionId, result: endorsed.getResult(), blockNumber: await committedBlock(transactionId, () => submitted.getStatus()) };
  }
}

/**
 * The block of a transaction handed to the orderer, once its commit status arrives; OutcomeUnknown
 * when it does not (it may well be on the ledger), NotCommitted when it was invalidated.
 */
export async function committedBlock(
  transactionId: string,
  getStatus: () => Promise<{ successful: boolean; code: number; blockNumber: bigint }>,
): Promise<bigint> {
  let status: { successful: boolean; code: number; blockNumber: bigint };
  try {
    status = await getStatus();
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

/** Evaluates on the own org's peer; throws a FabricFailure. */
export async function evaluateTransaction(contract: Contract, name: string, options: ProposalOptions | undefined, ownMspId: string): Promise<Uint8Array> {
  try {
    return await contract.evaluate(name, options);
  } catch (e) {
    throw classifyFabricError(e, { ownMspId });
  }
}
