/**
 * Typed errors with stable codes. Every error response has the body
 * `{ error: { code, message, status, requestId, details? } }`; clients branch on `code`, never on the
 * prose. Codes are public API: never rename one, only add. Chaincode codes (schema's ERROR_CODES)
 * pass through unchanged, with the chaincode's reason as the message.
 */

import { type ErrorCode as ChaincodeErrorCode, ERROR_HTTP_STATUS } from '@compliance-ledger/schema';
import type { ZodError } from 'zod';

export const GATEWAY_ERROR_CODES = [
  'VALIDATION_FAILED',
  'UNAUTHENTICATED',
  'IDENTITY_REVOKED',
  'FORBIDDEN',
  'IDENTITY_MISMATCH',
  'ORG_NOT_SERVED',
  'OTHER_ENTERPRISE',
  'CERTIFICATE_REFUSED',
  'NOT_FOUND',
  'ROUTE_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'ALREADY_EXISTS',
  'INVALID_STATE',
  'RULE_VIOLATION',
  'EXPIRED',
  'SIGNATURE_INVALID',
  'REPLAY',
  'CONFLICT',
  'IDEMPOTENCY_KEY_REQUIRED',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_IN_PROGRESS',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'CONTENT_TYPE_MISMATCH',
  'RANGE_NOT_SATISFIABLE',
  'TUS_VERSION_UNSUPPORTED',
  'UPLOAD_OFFSET_MISMATCH',
  'UPLOAD_BUSY',
  'RATE_LIMITED',
  'IDENTITY_UNAVAILABLE',
  'LEDGER_UNAVAILABLE',
  'STORE_UNAVAILABLE',
  'NOT_CONFIGURED',
  'CREDENTIAL_OFFICE_NOT_REGISTERED',
  'INTERNAL',
] as const;
export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number];

/**
 * The one table of HTTP statuses: the chaincode's codes keep the status the schema gives them,
 * the gateway's own codes are declared here. ApiError looks its status up in it; the OpenAPI
 * document lists it.
 */
export const ERROR_STATUS: Readonly<Record<GatewayErrorCode, number>> = Object.freeze({
  ...ERROR_HTTP_STATUS,
  UNAUTHENTICATED: 401,
  IDENTITY_REVOKED: 401,
  IDENTITY_MISMATCH: 403,
  ORG_NOT_SERVED: 403,
  // An enterprise user's query named another enterprise: they see their own enterprise's records only.
  OTHER_ENTERPRISE: 403,
  CERTIFICATE_REFUSED: 403,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  IDEMPOTENCY_KEY_REQUIRED: 400,
  IDEMPOTENCY_KEY_REUSED: 422,
  IDEMPOTENCY_IN_PROGRESS: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  CONTENT_TYPE_MISMATCH: 415,
  RANGE_NOT_SATISFIABLE: 416,
  TUS_VERSION_UNSUPPORTED: 412,
  UPLOAD_OFFSET_MISMATCH: 409,
  UPLOAD_BUSY: 423,
  RATE_LIMITED: 429,
  IDENTITY_UNAVAILABLE: 503,
  LEDGER_UNAVAILABLE: 503,
  STORE_UNAVAILABLE: 503,
  NOT_CONFIGURED: 501,
  // The gateway's credential office key is not the active one on the ledger: an operator must act.
  CREDENTIAL_OFFICE_NOT_REGISTERED: 503,
});

export interface FieldError {
  /** Dotted path of the field in the request (body, query or path parameter). */
  path: string;
  message: string;
}

export class ApiError extends Error {
  readonly code: GatewayErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: GatewayErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
  }
  toJSON(requestId?: string): { error: Record<string, unknown> } {
    return { error: { code: this.code, status: this.status, message: this.message, requestId, ...(this.details ? { details: this.details } : {}) } };
  }
}

export class ValidationError extends ApiError {
  readonly fields: FieldError[];
  constructor(fields: FieldError[], message = 'the request does not match the schema') {
    super('VALIDATION_FAILED', message, { fields });
    this.fields = fields;
  }
  static fromZod(error: ZodError, where: InputPart): ValidationError {
    return new ValidationError(
      error.issues.map((i) => ({
        path: [where, ...i.path.map(String)].join('.'),
        message: i.code === 'unrecognized_keys' ? `unknown field(s): ${(i as { keys: string[] }).keys.join(', ')}` : i.message,
      })),
    );
  }
}
/** The part of a request a field is in, the first segment of its path in a VALIDATION_FAILED. */
export type InputPart = 'body' | 'query' | 'params' | 'headers' | 'form';
export class UnauthenticatedError extends ApiError {
  /** False when the request carried no credentials at all (not a guess, see the sign-in limit). */
  readonly credentialsPresented: boolean;
  constructor(message = 'authenticate with a Bearer JWT or an X-API-Key', credentialsPresented = true) {
    super('UNAUTHENTICATED', message);
    this.credentialsPresented = credentialsPresented;
  }
}
export class ForbiddenError extends ApiError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}
export interface IdentityDifference {
  claim: 'role' | 'department' | 'workerId';
  /** null: the token does not carry the claim / the certificate has no such attribute. */
  token: string | null;
  certificate: string | null;
}
/**
 * The token's role, department or workerId differ from the attributes in the certificate the
 * subject is enrolled with. The certificate decides: it is what the chaincode checks.
 */
export class IdentityMismatchError extends ApiError {
  constructor(id: { sub: string; org: string }, differences: IdentityDifference[]) {
    const show = (v: string | null) => (v === null ? 'none' : v);
    const list = differences.map((d) => `${d.claim} (token: ${show(d.token)}, certificate: ${show(d.certificate)})`).join('; ');
    super(
      'IDENTITY_MISMATCH',
      `the token's claims differ from the certificate ${id.sub} is enrolled with at the ${id.org} CA: ${list}. ` +
        "An identity's attributes come from its certificate: get a token whose claims match it, or " +
        'have a CA admin change the registration and re-enrol the user (gateway README, Identity)',
      { sub: id.sub, org: id.org, differences },
    );
  }
}
/** A token of an org this gateway does not serve: that org's users go through their own org's gateway. */
export class OrgNotServedError extends ApiError {
  constructor(org: string, served: readonly string[]) {
    super(
      'ORG_NOT_SERVED',
      `this gateway serves the ${served.join(' and ')} org and holds no key or CA secret of the ${org} org; use the ${org} org's own gateway`,
      { org, served },
    );
  }
}
export class NotFoundError extends ApiError {
  constructor(message: string, code: GatewayErrorCode = 'NOT_FOUND') {
    super(code, message);
  }
}
export class ConflictError extends ApiError {
  constructor(code: GatewayErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}
export class PayloadTooLargeError extends ApiError {
  constructor(limit: number) {
    super('PAYLOAD_TOO_LARGE', `the content is larger than the limit of ${limit} bytes`, { limitBytes: limit });
  }
}
export class UnsupportedMediaTypeError extends ApiError {
  constructor(mediaType: string, allowed: readonly string[]) {
    super('UNSUPPORTED_MEDIA_TYPE', `media type ${mediaType} is not accepted; use one of ${allowed.join(', ')}`, { allowed });
  }
}
export class RateLimitedError extends ApiError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super('RATE_LIMITED', `too many requests; retry after ${retryAfterSeconds} s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
/** A dependency (ledger, Postgres, IPFS, Fabric CA) cannot be reached: 503 with Retry-After. */
export class UnavailableError extends ApiError {
  readonly retryAfterSeconds: number;
  /** Set when the transaction was ordered but its commit status never arrived. */
  mayHaveCommitted = false;
  constructor(
    code: 'LEDGER_UNAVAILABLE' | 'STORE_UNAVAILABLE' | 'IDENTITY_UNAVAILABLE',
    message: string,
    retryAfterSeconds: number,
    details?: Record<string, unknown>,
  ) {
    super(code, message, details);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
/** The chaincode refused the transaction: its code and reason pass through. */
export class ChaincodeError extends ApiError {
  readonly chaincodeCode: ChaincodeErrorCode;
  constructor(code: ChaincodeErrorCode, reason: string, transactionId?: string) {
    super(code, reason, transactionId ? { transactionId } : undefined);
    this.chaincodeCode = code;
  }
}
