import { createHash } from 'node:crypto';
import {
  ALARM_EIP712_DOMAIN,
  ALARM_EIP712_TYPES,
  type AlarmClip,
  type DeviceSignedReading,
  GRADING_EIP712_DOMAIN,
  GRADING_EIP712_TYPES,
  NO_READING_SHA256,
  type SignedAlarmFields,
} from '@compliance-ledger/schema';
import { type BaseWallet, type TypedDataField, verifyMessage, verifyTypedData } from 'ethers';

/**
 * What goes to the ledger. Version 2 (what ingest raises): the device's own signature over the
 * reading that triggered the alarm, and ingest's service signature (`signature`) over the grading.
 * Version 1 (no `serviceId`): `signature` is a device's EIP-712 signature over the fields; outbox
 * entries written before version 2 still deliver as they are.
 */
export interface SignedAlarm {
  fields: SignedAlarmFields;
  signature: string;
  serviceId?: string;
  /** Absent when the message was unsigned (only accepted with INGEST_REQUIRE_SIGNED_MESSAGES=false). */
  reading?: DeviceSignedReading;
  /** A camera's signed clip: its sha256 as signed and what ingest found (the CID is `fields.clipCid`). */
  clip?: AlarmClip;
}

// ethers wants mutable arrays; the shared definitions are frozen `as const`.
const TYPES: Record<string, TypedDataField[]> = {
  Alarm: ALARM_EIP712_TYPES.Alarm.map((f) => ({ name: f.name, type: f.type })),
};
const DOMAIN = { ...ALARM_EIP712_DOMAIN };
const GRADING_TYPES: Record<string, TypedDataField[]> = {
  Grading: GRADING_EIP712_TYPES.Grading.map((f) => ({ name: f.name, type: f.type })),
};
const GRADING_DOMAIN = { ...GRADING_EIP712_DOMAIN };

export function readingSha256(reading: DeviceSignedReading | undefined): string {
  return reading === undefined ? NO_READING_SHA256 : `0x${createHash('sha256').update(reading.message, 'utf8').digest('hex')}`;
}

/** Ingest signs the grading of one reading with its own service key. */
export async function signGrading(
  service: { serviceId: string; wallet: BaseWallet },
  fields: SignedAlarmFields,
  reading: DeviceSignedReading | undefined,
): Promise<SignedAlarm> {
  const signature = await service.wallet.signTypedData(GRADING_DOMAIN, GRADING_TYPES, {
    ...fields,
    serviceId: service.serviceId,
    readingSha256: readingSha256(reading),
  });
  return { fields, signature, serviceId: service.serviceId, ...(reading ? { reading } : {}) };
}

/** A device that grades itself signs the whole alarm (version 1); ingest never does. */
export async function signAlarm(wallet: BaseWallet, fields: SignedAlarmFields): Promise<SignedAlarm> {
  return { fields, signature: await wallet.signTypedData(DOMAIN, TYPES, fields) };
}

/** The address that signed a version-2 grading, as the chaincode recovers it. */
export function recoverGradingSigner(alarm: SignedAlarm): string {
  if (alarm.serviceId === undefined) throw new Error('not a graded (version 2) alarm');
  return verifyTypedData(
    GRADING_DOMAIN,
    GRADING_TYPES,
    { ...alarm.fields, serviceId: alarm.serviceId, readingSha256: readingSha256(alarm.reading) },
    alarm.signature,
  );
}

/** The device address that signed the alarm's reading (version 2), or undefined without one. */
export function recoverReadingSigner(alarm: SignedAlarm): string | undefined {
  return alarm.reading ? verifyMessage(alarm.reading.message, alarm.reading.signature) : undefined;
}

/** The address that signed a version-1 alarm, as the chaincode recovers it. */
export function recoverAlarmSigner(alarm: SignedAlarm): string {
  return verifyTypedData(DOMAIN, TYPES, alarm.fields, alarm.signature);
}
