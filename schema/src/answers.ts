/**
 * A transaction's answer is what the chaincode returns to the endorsers, and Fabric keeps it in the
 * transaction. A transaction that writes a large record (every permit step) answers with the key it
 * wrote instead of a second copy of the record; the record is the transaction's own write of that
 * key, read from the same signed transaction (fabric-client's `answerOf`), so what a client is told
 * is exactly what was committed. The fields beside `written` are for clients that read answers raw.
 */
export interface WrittenAnswer {
  /** The world-state key whose written value is the answer. */
  written: string;
  [field: string]: unknown;
}

export function writtenKeyOf(answer: unknown): string | undefined {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return undefined;
  const key = (answer as { written?: unknown }).written;
  return typeof key === 'string' ? key : undefined;
}
