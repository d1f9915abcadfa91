/**
 * The two peer organizations of the channel. The enterprise operates sites and submits the
 * compliance trail; the regulator endorses every write (so no single party can rewrite history)
 * and reads through its own peer.
 */
export const ENTERPRISE_MSP = 'EnterpriseMSP';
export const REGULATOR_MSP = 'RegulatorMSP';
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
] as const;
export type Role = (typeof ROLES)[number];
