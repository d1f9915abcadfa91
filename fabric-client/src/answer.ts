/**
 * What a transaction answered, as a client should see it. A permit step answers with the key it
 * wrote rather than a second copy of the permit (schema's WrittenAnswer): the record is read here
 * from the transaction's own write set, in the very bytes that were signed and ordered, so the
 * answer is exactly what the ledger committed and the transaction carries the record once.
 */
import { writtenKeyOf } from '@compliance-ledger/schema';
import type { Transaction } from '@hyperledger/fabric-gateway';
import { type common, gateway as gatewayProtos } from '@hyperledger/fabric-protos';
import { UnexpectedLedgerError } from './errors.js';
import { writtenValue } from './transaction.js';

/** A written-key answer is a few hundred bytes; anything larger is an answer in its own right and is not parsed here. */
const MAX_REFERENCE_BYTES = 4096;

const decoder = new TextDecoder();

/** The key a `{ written: key }` answer names, or undefined for any other answer. */
export function writtenKeyIn(result: Uint8Array): string | undefined {
  if (result.length === 0 || result.length > MAX_REFERENCE_BYTES || result[0] !== 0x7b /* { */) return undefined;
  try {
    return writtenKeyOf(JSON.parse(decoder.decode(result)));
  } catch {
    return undefined;
  }
}

/**
 * The answer a client sees: the chaincode's result, or, when it names a written key, the value the
 * transaction wrote there. A named key the transaction did not write is the chaincode's defect.
 */
export function answerOf(result: Uint8Array, envelope: Uint8Array | (() => common.Envelope), namespace: string, transactionId?: string): Uint8Array {
  const key = writtenKeyIn(result);
  if (key === undefined) return result;
  const value = writtenValue(typeof envelope === 'function' ? envelope() : envelope, namespace, key);
  if (value === undefined) {
    throw new UnexpectedLedgerError(`the chaincode answered with the record it wrote under ${JSON.stringify(key)}, but the transaction writes no such key`, {
      transactionId,
    });
  }
  return value;
}

/**
 * answerOf for a transaction endorsed through fabric-gateway, whose bytes are a PreparedTransaction
 * around the Envelope; they are decoded only when the answer names a key.
 */
export function answerOfEndorsed(transaction: Pick<Transaction, 'getResult' | 'getBytes' | 'getTransactionId'>, namespace: string): Uint8Array {
  const envelope = () => {
    const prepared = gatewayProtos.PreparedTransaction.deserializeBinary(transaction.getBytes()).getEnvelope();
    if (!prepared) throw new UnexpectedLedgerError('the endorsed transaction has no envelope', { transactionId: transaction.getTransactionId() });
    return prepared;
  };
  return answerOf(transaction.getResult(), envelope, namespace, transaction.getTransactionId());
}
