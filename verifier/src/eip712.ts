/**
 * The device signature on an alarm: EIP-712 typed data over the alarm's signed fields, recovered
 * to an Ethereum address. The definitions are the verifier's own copy of the protocol constant
 * (schema's ALARM_EIP712_*; a unit test keeps them equal), so the verifier needs no project code.
 */
import { getAddress, verifyTypedData } from 'ethers';

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

export { getAddress };
