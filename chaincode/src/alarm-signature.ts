import { ALARM_EIP712_DOMAIN, ALARM_EIP712_TYPES, type SignedAlarmFields } from '@compliance-ledger/schema';
import { getAddress, verifyTypedData } from 'ethers';
import { SignatureInvalidError } from './errors';

// ethers wants mutable field arrays; the shared definition is frozen `as const`.
const TYPES = { Alarm: ALARM_EIP712_TYPES.Alarm.map((f) => ({ name: f.name, type: f.type })) };
const DOMAIN = { ...ALARM_EIP712_DOMAIN };

/** Recovers the EIP-712 signer of an alarm; malformed signatures are SIGNATURE_INVALID, not INTERNAL. */
export function recoverAlarmSigner(alarm: SignedAlarmFields, signature: string): string {
  try {
    return getAddress(verifyTypedData(DOMAIN, TYPES, alarm, signature));
  } catch (err) {
    throw new SignatureInvalidError(`the alarm signature cannot be verified (${err instanceof Error ? err.message.split('(')[0]?.trim() : 'malformed'})`);
  }
}

/** Throws unless the alarm was signed by the expected device address. */
export function assertSignedBy(alarm: SignedAlarmFields, signature: string, expectedAddress: string): string {
  const signer = recoverAlarmSigner(alarm, signature);
  if (signer !== getAddress(expectedAddress)) {
    throw new SignatureInvalidError(`the alarm is not signed by the key registered for device ${alarm.deviceId}`);
  }
  return signer;
}
