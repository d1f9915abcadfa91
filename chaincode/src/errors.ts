import type { ErrorCode } from '@compliance-ledger/schema';

/**
 * Every error leaving the chaincode is a LedgerError whose message starts with its stable code,
 * because Fabric only carries the message string back to the client.
 */
export class LedgerError extends Error {
  constructor(
    readonly code: ErrorCode,
    detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = new.target.name;
  }
}

export class ValidationError extends LedgerError {
  constructor(detail: string) {
    super('VALIDATION_FAILED', detail);
  }
}
export class NotFoundError extends LedgerError {
  constructor(detail: string) {
    super('NOT_FOUND', detail);
  }
}
export class AlreadyExistsError extends LedgerError {
  constructor(detail: string) {
    super('ALREADY_EXISTS', detail);
  }
}
export class InvalidStateError extends LedgerError {
  constructor(detail: string) {
    super('INVALID_STATE', detail);
  }
}
export class RuleViolationError extends LedgerError {
  constructor(detail: string) {
    super('RULE_VIOLATION', detail);
  }
}
export class ForbiddenError extends LedgerError {
  constructor(detail: string) {
    super('FORBIDDEN', detail);
  }
}
export class ExpiredError extends LedgerError {
  constructor(detail: string) {
    super('EXPIRED', detail);
  }
}
export class SignatureInvalidError extends LedgerError {
  constructor(detail: string) {
    super('SIGNATURE_INVALID', detail);
  }
}
export class ReplayError extends LedgerError {
  constructor(detail: string) {
    super('REPLAY', detail);
  }
}

/**
 * Anything unexpected is rethrown as INTERNAL so that clients still get a coded message; coded
 * errors pass through untouched.
 */
export function toLedgerError(err: unknown): LedgerError {
  if (err instanceof LedgerError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new LedgerError('INTERNAL', `unexpected chaincode failure (${message}); report it with the transaction id`);
}
