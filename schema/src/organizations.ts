/**
 * The peer organizations of the channel. Enterprises operate sites and submit the compliance
 * trail; the regulator endorses every write (so no single party can rewrite history) and reads
 * through its own peer. `EnterpriseMSP` is the first enterprise; more join with
 * `npm run org:add` under MSP ids of their own, and each is an enterprise like the first.
 */
export const ENTERPRISE_MSP = 'EnterpriseMSP';
export const REGULATOR_MSP = 'RegulatorMSP';

/**
 * Every application org but the regulator is an enterprise, so the access table's
 * `EnterpriseMSP` row is the row of each of them: a new enterprise needs no code change.
 */
export function accessRowOf(mspId: string): string {
  return mspId === REGULATOR_MSP ? REGULATOR_MSP : ENTERPRISE_MSP;
}

/** Fabric's implicit collection of one org: only that org's peers hold its values. */
export function implicitCollectionOf(mspId: string): string {
  return `_implicit_org_${mspId}`;
}
export const CHANNEL_NAME = 'compliance';
export const CHAINCODE_NAME = 'compliance';

/**
 * Roles are carried by the Fabric CA attribute `ledger.role` in each user's enrollment
 * certificate (registered with ecert=true), and checked together with the MSP id.
 */
export const ROLE_ATTRIBUTE = 'ledger.role';
export const ROLES = [
  'applicant',
  'person_in_charge',
  'approver',
  'safety_officer',
  'gas_analyst',
  'guardian',
  'acceptor',
  'reviewer',
  'device_gateway',
  'credential_officer',
  'regulator',
  'auditor',
  'admin',
  // A service identity (the reporter's sweeper): records what the clock implies, never a person's step.
  'sweeper',
] as const;
export type Role = (typeof ROLES)[number];

/**
 * Optional companion attributes. `ledger.department` says which department or unit a signer
 * belongs to, so the chaincode can check the approver level and named co-signs (GB 30871 B.1).
 * `ledger.workerId` carries the person's pseudonymous worker id, so the chaincode can check that
 * an approver, co-signer or acceptor is not also a worker on the permit.
 */
export const DEPARTMENT_ATTRIBUTE = 'ledger.department';
export const WORKER_ID_ATTRIBUTE = 'ledger.workerId';

/**
 * Fabric's implicit per-org collection of the enterprise. Only enterprise peers hold the values;
 * the channel only sees salted hashes. Personal fields go here, and only through transient data.
 */
export const ENTERPRISE_PRIVATE_COLLECTION = implicitCollectionOf(ENTERPRISE_MSP);
