/**
 * Stable error codes. Every error the chaincode throws has a message of the form
 * `CODE: human explanation of what to fix`, so clients can branch on the code without parsing prose.
 * Codes are part of the public API: never rename one, only add.
 */
export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'INVALID_STATE',
  'RULE_VIOLATION',
  'FORBIDDEN',
  'EXPIRED',
  'SIGNATURE_INVALID',
  'REPLAY',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Suggested HTTP status per code for the gateway. */
export const ERROR_HTTP_STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  INVALID_STATE: 409,
  RULE_VIOLATION: 422,
  FORBIDDEN: 403,
  EXPIRED: 410,
  SIGNATURE_INVALID: 401,
  REPLAY: 409,
  INTERNAL: 500,
};

/**
 * Calls that fabric-contract-api's dispatcher refuses before any chaincode code runs come back
 * with the library's own uncoded text; these are their stable codes.
 */
export const DISPATCHER_ERROR_CODES: readonly { pattern: RegExp; code: ErrorCode }[] = [
  { pattern: /Expected \d+ parameters, but \d+ have been supplied/, code: 'VALIDATION_FAILED' },
  { pattern: /Contract name is not known/, code: 'NOT_FOUND' },
  { pattern: /You've asked to invoke a function that does not exist/, code: 'NOT_FOUND' },
];

/**
 * Extracts the code from an error message coming back from the peer. Fabric wraps chaincode
 * errors in its own text, so the code is searched for, not only matched at the start. Messages
 * of fabric-contract-api's dispatcher (wrong number of arguments, unknown contract) map to
 * DISPATCHER_ERROR_CODES.
 */
export function parseErrorCode(message: string): ErrorCode | undefined {
  return parseChaincodeError(message)?.code;
}

/**
 * The code and the chaincode's own reason in a peer's message. The reason is what follows
 * `CODE: ` (for a dispatcher text: what follows Fabric's `chaincode response NNN, ` prefix),
 * so a client that shows "code: reason" does not show the code twice.
 */
export function parseChaincodeError(message: string): { code: ErrorCode; reason: string } | undefined {
  let best: { code: ErrorCode; at: number } | undefined;
  for (const code of ERROR_CODES) {
    const at = message.indexOf(`${code}: `);
    if (at >= 0 && (best === undefined || at < best.at)) best = { code, at };
  }
  if (best) return { code: best.code, reason: message.slice(best.at + best.code.length + 2).trim() };
  const dispatcher = DISPATCHER_ERROR_CODES.find((d) => d.pattern.test(message));
  if (!dispatcher) return undefined;
  const wrapped = /chaincode response \d+, /.exec(message);
  return { code: dispatcher.code, reason: (wrapped ? message.slice(wrapped.index + wrapped[0].length) : message).trim() };
}
