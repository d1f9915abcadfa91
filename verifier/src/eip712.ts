/**
 * The signatures on an alarm, recovered to Ethereum addresses. Version 1 records: the device's
 * EIP-712 signature over the alarm's fields. Version 2 records (`signatureVersion: 2`): the
 * device's EIP-191 signature over the reading that triggered the alarm, and the ingest service's
 * EIP-712 `Grading` signature over the fields, its service id and the reading's sha256. The
 * definitions are the verifier's own copy of the protocol constants (schema's ALARM_EIP712_* and
 * GRADING_EIP712_*; a unit test keeps them equal), so the verifier needs no project code.
 */
import { getAddress, sha256, toUtf8Bytes, verifyMessage, verifyTypedData } from 'ethers';

export const ALARM_DOMAIN = { name: 'ComplianceLedgerAlarm', version: '1' };
export const ALARM_TYPES = {
  Alarm: [
    { name: 'alarmId', type: 'string' },
    { name: 'deviceId', type: 'string' },
    { name: 'siteId', type: 'string' },
    { name: 'areaId', type: 'string' },
    { name: 'grade', type: 'uint8' },
    { name: 'kind', type: 'string' },
    { name: 'scoreBp', type: 'uint16' },
    { name: 'modelVersion', type: 'string' },
    { name: 'modelSha256', type: 'bytes32' },
    { name: 'inputSha256', type: 'bytes32' },
    { name: 'clipCid', type: 'string' },
    { name: 'observedAt', type: 'uint64' },
  ],
};

/** The address that signed the alarm's fields, or throws with the reason. */
export function recoverAlarmSigner(alarm: Record<string, unknown>, signature: string): string {
  const fields = Object.fromEntries(ALARM_TYPES.Alarm.map((f) => [f.name, alarm[f.name]]));
  return getAddress(verifyTypedData(ALARM_DOMAIN, ALARM_TYPES, fields, signature));
}

export const GRADING_DOMAIN = { name: 'ComplianceLedgerAlarm', version: '2' };
export const GRADING_TYPES = {
  Grading: [...ALARM_TYPES.Alarm, { name: 'serviceId', type: 'string' }, { name: 'readingSha256', type: 'bytes32' }],
};
const NO_READING = `0x${'0'.repeat(64)}`;

export interface SignatureCheck {
  ok: boolean;
  detail: string;
}

/** A device or service registration as the bundle holds it (the latest before the alarm). */
export interface Registration {
  address: string;
  kind?: unknown;
  signsReadings?: unknown;
  txId: string;
}

function reason(e: unknown): string {
  return (e as Error).message.split('(')[0]!.trim();
}

/**
 * Version 2: the device's signature over its reading (and that the reading is the alarm's: same
 * device, place and time, and the sha256 the grading signed), or, for a device registered as not
 * signing, that the record says so.
 */
export function checkReadingSignature(alarm: Record<string, unknown>, device: Registration): SignatureCheck {
  const deviceId = String(alarm.deviceId);
  const reading = alarm.reading as { message?: unknown; signature?: unknown } | null | undefined;
  if (reading === null || reading === undefined) {
    return device.signsReadings === false
      ? {
          ok: true,
          detail:
            `no device signature: device ${deviceId} is registered as not signing (tx ${device.txId}); the alarm ` +
            `rests on the ingest service's signature alone`,
        }
      : { ok: false, detail: `the alarm carries no device-signed reading, but device ${deviceId} is registered as signing (tx ${device.txId})` };
  }
  const message = String(reading.message);
  let signer: string;
  try {
    signer = getAddress(verifyMessage(message, String(reading.signature)));
  } catch (e) {
    return { ok: false, detail: `the reading's EIP-191 signature cannot be recovered (${reason(e)})` };
  }
  const registered = getAddress(device.address);
  if (signer !== registered)
    return { ok: false, detail: `the reading is signed by ${signer}, but device ${deviceId} is registered with ${registered} (tx ${device.txId})` };
  const digest = sha256(toUtf8Bytes(message));
  if (digest !== String(alarm.readingSha256).toLowerCase())
    return { ok: false, detail: `the reading's sha256 is ${digest}, the record says ${String(alarm.readingSha256)}` };
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(message) as Record<string, unknown>;
  } catch {
    return { ok: false, detail: 'the signed reading is not JSON' };
  }
  const differing = ['deviceId', 'siteId', 'areaId', 'observedAt'].filter((f) => parsed[f] !== alarm[f]);
  if (differing.length > 0) return { ok: false, detail: `the signed reading differs from the alarm in ${differing.join(', ')}` };
  return { ok: true, detail: `reading signed by ${signer}, the key registered for device ${deviceId} in tx ${device.txId}` };
}

/** Version 2: the ingest service's EIP-712 `Grading` signature against its registration. */
export function checkGradingSignature(alarm: Record<string, unknown>, service: Registration | undefined): SignatureCheck {
  const serviceId = String(alarm.serviceId);
  const reading = alarm.reading as { message?: unknown } | null | undefined;
  const readingSha256 = reading ? sha256(toUtf8Bytes(String(reading.message))) : NO_READING;
  const fields = Object.fromEntries(ALARM_TYPES.Alarm.map((f) => [f.name, alarm[f.name]]));
  let signer: string;
  try {
    signer = getAddress(verifyTypedData(GRADING_DOMAIN, GRADING_TYPES, { ...fields, serviceId, readingSha256 }, String(alarm.signature)));
  } catch (e) {
    return { ok: false, detail: `the grading's EIP-712 signature cannot be recovered (${reason(e)})` };
  }
  if (!service)
    return { ok: false, detail: `graded by ${signer}, but the bundle holds no ledger registration of ingest service ${serviceId} before the alarm` };
  if (service.kind !== 'ingest_service')
    return { ok: false, detail: `${serviceId} is registered as a ${String(service.kind)}, not an ingest service (tx ${service.txId})` };
  const registered = getAddress(service.address);
  return signer === registered
    ? { ok: true, detail: `grading signed by ${signer}, the key registered for ingest service ${serviceId} in tx ${service.txId}` }
    : { ok: false, detail: `graded by ${signer}, but ingest service ${serviceId} is registered with ${registered} (tx ${service.txId})` };
}

export { getAddress };
