import {
  type AccessRule,
  type Actor,
  allowedRoles,
  DEPARTMENT_ATTRIBUTE,
  ROLE_ATTRIBUTE,
  ROLES,
  type Role,
  TX_ACCESS,
  unstorableText,
  WORKER_ID_ATTRIBUTE,
} from '@compliance-ledger/schema';
import type { Context } from 'fabric-contract-api';
import { ForbiddenError } from './errors';

// The table lives in the shared schema; the chaincode is where it is enforced.
export { type AccessRule, TX_ACCESS };

/** Reads the caller from the certificate: MSP id, CA-issued role and optional companions. */
export function callerActor(ctx: Context): Actor {
  const mspId = ctx.clientIdentity.getMSPID();
  const role = ctx.clientIdentity.getAttributeValue(ROLE_ATTRIBUTE);
  if (role === null || role === undefined || role === '') {
    throw new ForbiddenError(`the caller's certificate has no ${ROLE_ATTRIBUTE} attribute; enroll with a role issued by Fabric CA`);
  }
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new ForbiddenError(`the role "${role}" in ${ROLE_ATTRIBUTE} is not one of: ${ROLES.join(', ')}`);
  }
  const actor: Actor = {
    mspId,
    certificateId: ctx.clientIdentity.getID(),
    role: role as Role,
    department: ctx.clientIdentity.getAttributeValue(DEPARTMENT_ATTRIBUTE) || null,
    workerId: ctx.clientIdentity.getAttributeValue(WORKER_ID_ATTRIBUTE) || null,
  };
  assertStorableIdentity({ [DEPARTMENT_ATTRIBUTE]: actor.department, [WORKER_ID_ATTRIBUTE]: actor.workerId, 'subject and issuer': actor.certificateId });
  return actor;
}

/**
 * The caller's identity goes into the records it writes (who recorded, who signed off), and so
 * into the regulator's PostgreSQL mirror. Each org runs its own CA, which can write anything into
 * a certificate: an attribute or a name with U+0000 (or a lone surrogate) would commit, endorsed
 * as valid, and then stop the regulator's indexer at its block. Such a certificate is refused.
 */
export function assertStorableIdentity(parts: Record<string, string | null>): void {
  const bad = unstorableText(parts);
  if (bad) {
    throw new ForbiddenError(`the caller's certificate cannot be recorded: its ${bad.path.join('.')} ${bad.problem}; issue a certificate without it`);
  }
}

/** Checks role and MSP of the caller against TX_ACCESS and returns who is calling. */
export function authorize(ctx: Context, tx: string): Actor {
  const rule = (TX_ACCESS as Record<string, AccessRule | undefined>)[tx];
  if (rule === undefined) throw new ForbiddenError(`transaction ${tx} has no access rule; nobody may call it`);
  const actor = callerActor(ctx);
  const allowed = allowedRoles(rule, actor.mspId);
  if (allowed === undefined) {
    throw new ForbiddenError(`${tx} is not open to members of ${actor.mspId}; it needs ${describeRule(rule)}`);
  }
  if (!allowed.includes(actor.role)) {
    throw new ForbiddenError(`${tx} is not open to role ${actor.role} of ${actor.mspId}; it needs ${describeRule(rule)}`);
  }
  return actor;
}

export function describeRule(rule: AccessRule): string {
  return Object.entries(rule)
    .map(([msp, roles]) => `${msp}: ${roles.length === ROLES.length ? 'any role' : roles.join('|')}`)
    .join('; ');
}
