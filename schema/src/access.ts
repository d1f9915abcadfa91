import { accessRowOf, ENTERPRISE_MSP, REGULATOR_MSP, ROLES, type Role } from './organizations';
import type { TxName } from './transactions';

export interface AccessRule {
  /** Roles allowed per MSP id. */
  [mspId: string]: readonly Role[];
}

const ENTERPRISE_ROLES: readonly Role[] = ROLES.filter((r) => r !== 'regulator' && r !== 'auditor');
/** People who act on permits; the service identities (device gateway, sweeper) never sign anything off. */
const ENTERPRISE_PEOPLE: readonly Role[] = ENTERPRISE_ROLES.filter((r) => r !== 'device_gateway' && r !== 'sweeper');
const READERS: AccessRule = { [ENTERPRISE_MSP]: ROLES, [REGULATOR_MSP]: ROLES };

/**
 * Who may call what: one table, enforced by the chaincode on every transaction and mirrored by the
 * gateway's own role checks, so the two cannot drift apart. Keys are `contract:Transaction` as a
 * Fabric client names them.
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
  'permit:SignOff': { [ENTERPRISE_MSP]: ENTERPRISE_PEOPLE },
  'permit:Issue': { [ENTERPRISE_MSP]: ['approver', 'safety_officer'] },
  'permit:Brief': { [ENTERPRISE_MSP]: ['person_in_charge'] },
  'permit:Activate': { [ENTERPRISE_MSP]: ['person_in_charge'] },
  // The sweeper may suspend only for an overdue continuous gas reading, which the chaincode checks.
  'permit:Suspend': { [ENTERPRISE_MSP]: ['person_in_charge', 'safety_officer', 'guardian', 'sweeper'] },
  'permit:Resume': { [ENTERPRISE_MSP]: ['person_in_charge'] },
  'permit:Complete': { [ENTERPRISE_MSP]: ['person_in_charge'] },
  'permit:Close': { [ENTERPRISE_MSP]: ['acceptor'] },
  'permit:Reject': { [ENTERPRISE_MSP]: ['approver', 'safety_officer'] },
  'permit:Cancel': { [ENTERPRISE_MSP]: ['applicant', 'person_in_charge'] },
  'permit:Revoke': { [ENTERPRISE_MSP]: ['approver', 'safety_officer'] },
  'permit:Expire': { [ENTERPRISE_MSP]: ENTERPRISE_ROLES, [REGULATOR_MSP]: ['regulator', 'sweeper'] },
  'permit:Flag': { [REGULATOR_MSP]: ['regulator', 'auditor'] },
  'permit:Get': READERS,
  'permit:GetHistory': READERS,
  'permit:GetLedgerHistory': READERS,
  'permit:GetFlags': READERS,
  'permit:ListLive': READERS,
  'permit:ListDue': READERS,

  'credential:RegisterWorker': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:SetWorkerStatus': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:StoreWorkerPersonalData': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:AddCertificate': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:StoreCertificateNumber': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:SetCertificateStatus': { [ENTERPRISE_MSP]: ['credential_officer'], [REGULATOR_MSP]: ['regulator'] },
  'credential:RecordCertificateReview': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:RecordPracticalExam': { [ENTERPRISE_MSP]: ['credential_officer'] },
  // Legacy: the caller asserts the QR result. Kept for the tests and tools that activate permits with it.
  'credential:RecordGateCheck': { [ENTERPRISE_MSP]: ['device_gateway', 'guardian', 'safety_officer'] },
  // The gate device's own signature is verified: only the device gateway relays it.
  'credential:RecordSignedGateCheck': { [ENTERPRISE_MSP]: ['device_gateway'] },
  'credential:ErasePersonalData': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:LogPersonalDataAccess': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:ReadPersonalData': { [ENTERPRISE_MSP]: ['credential_officer'] },
  'credential:GetWorker': READERS,
  'credential:GetCertificate': READERS,
  'credential:ListCertificates': READERS,
  'credential:ListGateChecks': READERS,
  'credential:GateSnapshot': READERS,

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

/** The roles of an org that a rule admits; any enterprise's are the `EnterpriseMSP` row's. */
export function allowedRoles(rule: AccessRule, mspId: string): readonly Role[] | undefined {
  return rule[mspId] ?? rule[accessRowOf(mspId)];
}
