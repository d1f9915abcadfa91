/**
 * The role × endpoint matrix: who each route is meant to serve, written down apart from the route
 * table so that a change to a route's `access` that nobody meant shows up as a failing cell.
 * test/unit/access-matrix.test.ts fails when a route has no row here (a new route must get one) or
 * a row names no route; test/integration/access-matrix.test.ts sends every caller (every role of
 * both orgs, and one without credentials) to every route of a real gateway and checks the answer.
 */
import { ROLES, type Role } from '@compliance-ledger/schema';
import type { z } from 'zod';
import type { Org } from '../../src/auth.js';
import type { RouteDef } from '../../src/http.js';

/** `public`: anyone, credentials or not. Otherwise the roles of each org allowed; an org left out is refused. */
export type Expectation = 'public' | Partial<Record<Org, readonly Role[] | 'any'>>;

const ANY_ROLE = { enterprise: 'any', regulator: 'any' } as const;
const REGULATOR_READERS = { regulator: ['regulator', 'auditor'] } as const satisfies Expectation;
/** The supervision screen's permit views: the regulator's people every enterprise's, these enterprise roles their own's. */
const SUPERVISORS = { ...REGULATOR_READERS, enterprise: ['safety_officer', 'person_in_charge', 'admin'] } as const satisfies Expectation;
/** Who may add evidence to a permit (uploads, tus sessions). */
const EVIDENCE_UPLOADERS: readonly Role[] = [
  'applicant',
  'person_in_charge',
  'safety_officer',
  'gas_analyst',
  'guardian',
  'approver',
  'acceptor',
  'device_gateway',
];
const CREDENTIAL_OFFICE = { enterprise: ['credential_officer'] } as const satisfies Expectation;
const ACCESS_LOG_READERS = { enterprise: ['credential_officer', 'admin'], regulator: ['regulator', 'auditor'] } as const satisfies Expectation;
const PERMIT_DECIDERS = { enterprise: ['approver', 'safety_officer'] } as const satisfies Expectation;
const PERSON_IN_CHARGE = { enterprise: ['person_in_charge'] } as const satisfies Expectation;
const IDENTITY_ADMINS = { enterprise: ['admin'], regulator: ['regulator'] } as const satisfies Expectation;
/** Every enterprise person who signs a permit step (not machines, not the regulator's staff). */
const SIGNERS = ROLES.filter((r) => !['device_gateway', 'regulator', 'auditor', 'sweeper'].includes(r));

export const EXPECTED_ACCESS: Record<string, Expectation> = {
  'GET /healthz': 'public',
  'GET /openapi.json': 'public',
  'OPTIONS /v1/uploads': 'public',
  'GET /metrics': { enterprise: ['admin'], ...REGULATOR_READERS },

  'POST /v1/permits': { enterprise: ['applicant'] },
  'POST /v1/permits/{permitNo}/risk-assessment': { enterprise: ['person_in_charge', 'safety_officer'] },
  'POST /v1/permits/{permitNo}/gas-tests': { enterprise: ['gas_analyst'] },
  'POST /v1/permits/{permitNo}/sign-offs': { enterprise: SIGNERS },
  'POST /v1/permits/{permitNo}/reject': PERMIT_DECIDERS,
  'POST /v1/permits/{permitNo}/issue': PERMIT_DECIDERS,
  'POST /v1/permits/{permitNo}/revoke': PERMIT_DECIDERS,
  'POST /v1/permits/{permitNo}/brief': PERSON_IN_CHARGE,
  'POST /v1/permits/{permitNo}/start': PERSON_IN_CHARGE,
  'POST /v1/permits/{permitNo}/resume': PERSON_IN_CHARGE,
  'POST /v1/permits/{permitNo}/complete': PERSON_IN_CHARGE,
  'POST /v1/permits/{permitNo}/suspend': { enterprise: ['person_in_charge', 'safety_officer', 'guardian', 'sweeper'] },
  'POST /v1/permits/{permitNo}/close': { enterprise: ['acceptor'] },
  'POST /v1/permits/{permitNo}/cancel': { enterprise: ['applicant', 'person_in_charge'] },
  'POST /v1/permits/{permitNo}/gate-checks': { enterprise: ['device_gateway', 'guardian', 'safety_officer'] },
  'POST /v1/gate-checks': { enterprise: ['device_gateway'] },
  'POST /v1/permits/{permitNo}/flags': REGULATOR_READERS,
  'POST /v1/permits/{permitNo}/evidence': { enterprise: EVIDENCE_UPLOADERS },

  'POST /v1/workers': CREDENTIAL_OFFICE,
  'POST /v1/workers/{workerId}/status': CREDENTIAL_OFFICE,
  'POST /v1/certificates': CREDENTIAL_OFFICE,
  'POST /v1/certificates/{certificateId}/status': { ...CREDENTIAL_OFFICE, regulator: ['regulator'] },
  'POST /v1/certificates/{certificateId}/reviews': CREDENTIAL_OFFICE,
  'POST /v1/certificates/{certificateId}/practical-exams': CREDENTIAL_OFFICE,
  'POST /v1/certificates/ocr': CREDENTIAL_OFFICE,

  'POST /v1/alarms/{alarmId}/acknowledge': { enterprise: ['safety_officer', 'person_in_charge', 'guardian'] },
  'POST /v1/alarms/{alarmId}/review': { enterprise: ['reviewer'], regulator: ['reviewer'] },
  'POST /v1/alarms/{alarmId}/close': { enterprise: ['safety_officer'] },
  'POST /v1/devices': { enterprise: ['admin', 'safety_officer'] },
  'POST /v1/devices/{deviceId}/status': { enterprise: ['admin', 'safety_officer'] },

  'GET /v1/permits/{permitNo}': ANY_ROLE,
  'GET /v1/permits/{permitNo}/history': ANY_ROLE,
  'GET /v1/permits/{permitNo}/evidence': ANY_ROLE,
  'GET /v1/permits/{permitNo}/evidence/{cid}/content': ANY_ROLE,
  'GET /v1/permits/{permitNo}/gate-checks': ANY_ROLE,
  'GET /v1/permits/{permitNo}/gate-snapshot': ANY_ROLE,
  // The person at the gate is personal data: the enterprise's safety roles and the regulator, no one else (not auditors).
  'GET /v1/permits/{permitNo}/gate-checks/{gateCheckId}/photo': { enterprise: ['safety_officer', 'guardian'], regulator: ['regulator'] },
  'GET /v1/workers/{workerId}': ANY_ROLE,
  'GET /v1/workers/{workerId}/certificates': ANY_ROLE,
  'GET /v1/certificates/{certificateId}': ANY_ROLE,
  'GET /v1/alarms/{alarmId}': ANY_ROLE,
  'GET /v1/devices/{deviceId}': ANY_ROLE,
  // Worker codes are printed on badges by the enterprise; the regulator has no use for them.
  'GET /v1/workers/{workerId}/code': { enterprise: 'any' },
  'GET /v1/workers/{workerId}/code.png': { enterprise: 'any' },
  'GET /v1/workers/{workerId}/code.svg': { enterprise: 'any' },

  'POST /v1/uploads': { enterprise: EVIDENCE_UPLOADERS },
  'HEAD /v1/uploads/{uploadId}': { enterprise: EVIDENCE_UPLOADERS },
  'PATCH /v1/uploads/{uploadId}': { enterprise: EVIDENCE_UPLOADERS },
  'DELETE /v1/uploads/{uploadId}': { enterprise: EVIDENCE_UPLOADERS },
  'GET /v1/uploads/{uploadId}': { enterprise: EVIDENCE_UPLOADERS },

  'POST /v1/workers/{workerId}/personal-data': CREDENTIAL_OFFICE,
  'GET /v1/workers/{workerId}/personal-data': CREDENTIAL_OFFICE,
  'POST /v1/workers/{workerId}/personal-data/erase': CREDENTIAL_OFFICE,
  'GET /v1/workers/{workerId}/personal-data/accesses': ACCESS_LOG_READERS,
  'POST /v1/certificates/{certificateId}/personal-data': CREDENTIAL_OFFICE,
  'GET /v1/certificates/{certificateId}/personal-data': CREDENTIAL_OFFICE,
  'POST /v1/certificates/{certificateId}/personal-data/erase': CREDENTIAL_OFFICE,
  'GET /v1/certificates/{certificateId}/personal-data/accesses': ACCESS_LOG_READERS,

  'GET /v1/templates/{operationType}/{level}': ANY_ROLE,
  'GET /v1/templates/{operationType}/{level}/versions': ANY_ROLE,
  'POST /v1/templates/{operationType}/{level}': { enterprise: ['safety_officer'], regulator: ['regulator'] },
  'GET /v1/policy': ANY_ROLE,
  'POST /v1/policy': { enterprise: ['safety_officer', 'admin'], regulator: ['regulator'] },

  'GET /v1/session': ANY_ROLE,
  'GET /v1/alarm-stream': { ...REGULATOR_READERS, enterprise: ['safety_officer', 'person_in_charge', 'guardian', 'admin'] },
  'GET /v1/regulator/areas': SUPERVISORS,
  'GET /v1/regulator/risk-map': SUPERVISORS,
  'GET /v1/regulator/permits': SUPERVISORS,
  'GET /v1/regulator/permits/{permitNo}/timeline': SUPERVISORS,
  'GET /v1/regulator/alarms': SUPERVISORS,
  'GET /v1/regulator/kpis': SUPERVISORS,
  'GET /v1/regulator/reports/monthly': REGULATOR_READERS,
  'GET /v1/certificates-expiring': { ...REGULATOR_READERS, enterprise: ['credential_officer', 'safety_officer', 'admin'] },
  'GET /v1/audit/transactions/{txId}': REGULATOR_READERS,
  'GET /v1/audit/transactions/{txId}/bundle': REGULATOR_READERS,
  'GET /v1/audit/permits/{permitNo}': REGULATOR_READERS,
  'GET /v1/audit/permits/{permitNo}/bundle': SUPERVISORS,
  'GET /v1/audit/permits/{permitNo}/evidence-check': REGULATOR_READERS,
  'GET /v1/audit/bundle': REGULATOR_READERS,
  'GET /v1/audit/archive': REGULATOR_READERS,

  // Client-signed transactions: the chaincode decides who may sign what; the gateway only relays.
  'POST /v1/transactions/prepare': ANY_ROLE,
  'POST /v1/transactions/{transactionId}/endorse': ANY_ROLE,
  'POST /v1/transactions/{transactionId}/submit': ANY_ROLE,

  'POST /v1/identities': IDENTITY_ADMINS,
  'POST /v1/identities/{sub}/revoke': IDENTITY_ADMINS,
};

export const routeKey = (def: Pick<RouteDef, 'method' | 'path'>): string => `${def.method.toUpperCase()} ${def.path}`;

/** The routes with no row in the matrix, and the rows that name no route. */
export function matrixGaps(routes: readonly RouteDef[]): { unexpected: string[]; stale: string[] } {
  const keys = new Set(routes.map(routeKey));
  return { unexpected: [...keys].filter((k) => !(k in EXPECTED_ACCESS)), stale: Object.keys(EXPECTED_ACCESS).filter((k) => !keys.has(k)) };
}

/** A caller of the matrix: a role of an org, or nobody (no credentials). */
export type Caller = { org: Org; role: Role } | 'anonymous';
export type Outcome = 'allowed' | 'refused 403' | 'refused 401';

export function expectedOutcome(e: Expectation, caller: Caller): Outcome {
  if (e === 'public') return 'allowed';
  if (caller === 'anonymous') return 'refused 401';
  const roles = e[caller.org];
  return roles === 'any' || roles?.includes(caller.role) ? 'allowed' : 'refused 403';
}

export const CALLERS: readonly Caller[] = ['anonymous', ...(['enterprise', 'regulator'] as const).flatMap((org) => ROLES.map((role) => ({ org, role })))];

/**
 * A request to `def` that passes authentication and authorization but fails validation, so an
 * allowed caller gets 400 and nothing reaches a handler or the ledger: a path parameter, else a
 * query parameter, else the JSON body, else a request header the route reads, that its schema
 * refuses. Undefined when the route takes no input the pipeline validates (public routes, the
 * metrics scrape, the OCR upload whose handler reads the multipart body itself).
 */
export interface InvalidRequest {
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const BAD_VALUES = [' ', 'x'.repeat(300), '-1', '!', ''];
const refuses = (schema: z.ZodType, value: unknown): boolean => !schema.safeParse(value).success;

export function invalidRequest(def: RouteDef): InvalidRequest | undefined {
  const names = [...def.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const params = def.params;
  if (params && names.length > 0) {
    const bad = BAD_VALUES.filter((v) => v !== '').find((v) => refuses(params, Object.fromEntries(names.map((n) => [n, v]))));
    if (bad !== undefined) return { path: def.path.replace(/\{\w+\}/g, encodeURIComponent(bad)), headers: {} };
  }
  const path = def.path.replace(/\{\w+\}/g, 'MATRIX-1');
  const query = def.query;
  if (query) {
    for (const name of [...Object.keys(query.shape), 'matrixProbe']) {
      const bad = BAD_VALUES.find((v) => refuses(query, { [name]: v }));
      if (bad !== undefined) return { path: `${path}?${name}=${encodeURIComponent(bad)}`, headers: {} };
    }
  }
  if (def.body && refuses(def.body, [])) return { path, headers: { 'content-type': 'application/json' }, body: '[]' };
  const headers = def.requestHeaders;
  if (headers) {
    for (const name of Object.keys(headers.shape)) {
      const bad = BAD_VALUES.find((v) => v !== '' && refuses(headers, { [name]: v }));
      if (bad !== undefined) return { path, headers: { [name]: bad } };
    }
  }
  return undefined;
}
