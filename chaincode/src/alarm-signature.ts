import { createHash } from 'node:crypto';
import {
  ALARM_EIP712_DOMAIN,
  ALARM_EIP712_TYPES,
  type DeviceSignedReading,
  GRADING_EIP712_DOMAIN,
  GRADING_EIP712_TYPES,
  NO_READING_SHA256,
  type SignedAlarmFields,
} from '@compliance-ledger/schema';
import { getAddress, verifyMessage, verifyTypedData } from 'ethers';
import { SignatureInvalidError } from './errors';

// ethers wants mutable field arrays; the shared definition is frozen `as const`.
const TYPES = { Alarm: ALARM_EIP712_TYPES.Alarm.map((f) => ({ name: f.name, type: f.type })) };
const DOMAIN = { ...ALARM_EIP712_DOMAIN };
const GRADING_TYPES = { Grading: GRADING_EIP712_TYPES.Grading.map((f) => ({ name: f.name, type: f.type })) };
const GRADING_DOMAIN = { ...GRADING_EIP712_DOMAIN };

function reasonOf(err: unknown): string {
  return err instanceof Error ? (err.message.split('(')[0]?.trim() ?? 'malformed') : 'malformed';
}

export function readingSha256(reading: DeviceSignedReading | undefined): string {
  return reading === undefined ? NO_READING_SHA256 : `0x${createHash('sha256').update(reading.message, 'utf8').digest('hex')}`;
}

/** Recovers the EIP-712 signer of an alarm; malformed signatures are SIGNATURE_INVALID, not INTERNAL. */
export function recoverAlarmSigner(alarm: SignedAlarmFields, signature: string): string {
  try {
    return getAddress(verifyTypedData(DOMAIN, TYPES, alarm, signature));
  } catch (err) {
    throw new SignatureInvalidError(`the alarm signature cannot be verified (${reasonOf(err)})`);
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

/** Throws unless the ingest service registered with `serviceAddress` signed this grading (EIP-712 `Grading`). */
export function assertGradedBy(
  alarm: SignedAlarmFields,
  serviceId: string,
  reading: DeviceSignedReading | undefined,
  signature: string,
  serviceAddress: string,
): string {
  let signer: string;
  try {
    signer = getAddress(verifyTypedData(GRADING_DOMAIN, GRADING_TYPES, { ...alarm, serviceId, readingSha256: readingSha256(reading) }, signature));
  } catch (err) {
    throw new SignatureInvalidError(`the grading signature cannot be verified (${reasonOf(err)})`);
  }
  if (signer !== getAddress(serviceAddress)) {
    throw new SignatureInvalidError(
      `the grading of alarm ${alarm.alarmId} is not signed by the key registered for ingest service ${serviceId} (or was changed after signing)`,
    );
  }
  return signer;
}

/** Throws unless the device's registered key signed the reading (EIP-191 over its exact text). */
export function assertReadingSignedBy(reading: DeviceSignedReading, deviceId: string, deviceAddress: string): string {
  let signer: string;
  try {
    signer = getAddress(verifyMessage(reading.message, reading.signature));
  } catch (err) {
    throw new SignatureInvalidError(`the reading signature cannot be verified (${reasonOf(err)})`);
  }
  if (signer !== getAddress(deviceAddress)) {
    throw new SignatureInvalidError(`the reading is not signed by the key registered for device ${deviceId}`);
  }
  return signer;
}
