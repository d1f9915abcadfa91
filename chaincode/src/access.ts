import type { Context } from 'fabric-contract-api';
import {
  DEPARTMENT_ATTRIBUTE,
  ENTERPRISE_MSP,
  REGULATOR_MSP,
  ROLE_ATTRIBUTE,
  ROLES,
  WORKER_ID_ATTRIBUTE,
  type Actor,
  type Role,
  type TxName,
} from '@compliance-ledger/schema';
import { ForbiddenError } from './errors';

export interface AccessRule {
  /** Roles allowed per MSP id. */
  [mspId: string]: readonly Role[];
}

const ENTERPRISE_ROLES: readonly Role[] = ROLES.filter((r) => r !== 'regulator' && r !== 'auditor');
const READERS: AccessRule = { [ENTERPRISE_MSP]: ROLES, [REGULATOR_MSP]: ROLES };

/**
 * Who may call what: one table, so the README and the checks cannot drift apart. Keys are
 * `contract:Transaction` as a Fabric client names them.
 */
export const TX_ACCESS: Record<TxName, AccessRule> = {
  'template:Publish': { [ENTERPRISE_MSP]: ['safety_officer'], [REGULATOR_MSP]: ['regulator'] },
  'template:PublishPolicy': { [ENTERPRISE_MSP]: ['safety_officer', 'admin'], [REGULATOR_MSP]: ['regulator'] },
  'template:Get': READERS,
  'template:GetPolicy': READERS,

  'permit:Apply': { [ENTERPRISE_MSP]: ['applicant'] },
  'permit:AssessRisk': { [ENTERPRISE_MSP]: ['person_in_charge', 'safety_officer'] },
  'permit:RecordGasTest': { [ENTERPRISE_MSP]: ['gas_analyst'] },
  // The template step names the exact role; this only admits enterprise identities.
  'permit:SignOff': { [ENTERPRISE_MSP]: ENTERPRISE_ROLES.filter((r) => r !== 'device_gateway') },
  'permit:Issue': { [ENTERPRISE_MSP]: ['approver', 'safety_officer'] },
  'permit:Brief': { [ENTERPRISE_MSP]: ['person_in_charge'] },
  'permit:Activate': { [ENTERPRISE_MSP]: ['person_in_charge'] },
  'permit:Suspend': { [ENTERPRISE_MSP]: ['person_in_charge', 'safety_officer', 'guardian'] },
  'permit:Resume': { [ENTERPRISE_MSP]: ['person_in_charge'] },
  'permit:Complete': { [ENTERPRISE_MSP]: ['person_in_charge'] },
  'permit:Close': { [ENTERPRISE_MSP]: ['acceptor'] },
  'permit:Reject': { [ENTERPRISE_MSP]: ['approver', 'safety_officer'] },
  'permit:Cancel': { [ENTERPRISE_MSP]: ['applicant', 'person_in_charge'] },
  'permit:Revoke': { [ENTERPRISE_MSP]: ['approver', 'safety_officer'] },
  'permit:Expire': { [ENTERPRISE_MSP]: ENTERPRISE_ROLES, [REGULATOR_MSP]: ['regulator'] },
  'permit:Flag': { [REGULATOR_MSP]: ['regulator', 'auditor'] },
  'permit:Get': READERS,
  'permit:GetHistory': READERS,
  'permit:GetLedgerHistory': READERS,
  'permit:GetFlags': READERS,
  'permit:ListLive': READERS,

  'credential:RegisterWorker': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:SetWorkerStatus': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:StoreWorkerPersonalData': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:AddCertificate': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:StoreCertificateNumber': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:SetCertificateStatus': { [ENTERPRISE_MSP]: ['credential_officer'], [REGULATOR_MSP]: ['regulator'] },
  'credential:RecordCertificateReview': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:RecordGateCheck': { [ENTERPRISE_MSP]: ['device_gateway', 'guardian', 'safety_officer'] },
  'credential:ErasePersonalData': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:LogPersonalDataAccess': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:ReadPersonalData': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:GetWorker': READERS,
  'credential:GetCertificate': READERS,
  'credential:ListCertificates': READERS,
  'credential:ListGateChecks': READERS,

  'evidence:Record': {
    [ENTERPRISE_MSP]: ['applicant', 'person_in_charge', 'safety_officer', 'gas_analyst', 'guardian', 'approver', 'acceptor', 'device_gateway'],
  },
  'evidence:List': READERS,

  'device:Register': { [ENTERPRISE_MSP]: ['admin', 'safety_officer'] },
  'device:SetStatus': { [ENTERPRISE_MSP]: ['admin', 'safety_officer'] },
  'device:Get': READERS,

  'alarm:Record': { [ENTERPRISE_MSP]: ['device_gateway'] },
  'alarm:Acknowledge': { [ENTERPRISE_MSP]: ['safety_officer', 'person_in_charge', 'guardian'] },
  'alarm:Close': { [ENTERPRISE_MSP]: ['safety_officer'] },
  'alarm:ReviewDetection': { [ENTERPRISE_MSP]: ['reviewer'], [REGULATOR_MSP]: ['reviewer'] },
  'alarm:Get': READERS,
  'alarm:ListOpen': READERS,
};

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
  return {
    mspId,
    certificateId: ctx.clientIdentity.getID(),
    role: role as Role,
    department: ctx.clientIdentity.getAttributeValue(DEPARTMENT_ATTRIBUTE) || null,
    workerId: ctx.clientIdentity.getAttributeValue(WORKER_ID_ATTRIBUTE) || null,
  };
}

/** Checks role and MSP of the caller against TX_ACCESS and returns who is calling. */
export function authorize(ctx: Context, tx: string): Actor {
  const rule = (TX_ACCESS as Record<string, AccessRule | undefined>)[tx];
  if (rule === undefined) throw new ForbiddenError(`transaction ${tx} has no access rule; nobody may call it`);
  const actor = callerActor(ctx);
  const allowed = rule[actor.mspId];
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
