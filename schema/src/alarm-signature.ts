/**
 * EIP-712 typed data for device-signed alarms. Ingest signs with the device's key; the chaincode
 * recovers the signer with ethers and compares it with the address registered for the device.
 * Both sides must use exactly these definitions, so they live here and nowhere else.
 */
export const ALARM_EIP712_DOMAIN = {
  name: 'ComplianceLedgerAlarm',
  version: '1',
} as const;

export const ALARM_EIP712_TYPES = {
  Alarm: [
    { name: 'alarmId', type: 'string' },
    { name: 'deviceId', type: 'string' },
    { name: 'siteId', type: 'string' },
    { name: 'areaId', type: 'string' },
    { name: 'grade', type: 'uint8' },
    { name: 'kind', type: 'string' },
    // Risk score in basis points (0..10000): EIP-712 has no floats.
    { name: 'scoreBp', type: 'uint16' },
    { name: 'modelVersion', type: 'string' },
    { name: 'modelSha256', type: 'bytes32' },
    { name: 'inputSha256', type: 'bytes32' },
    { name: 'clipCid', type: 'string' },
    // Milliseconds since the Unix epoch at the source.
    { name: 'observedAt', type: 'uint64' },
  ],
} as const;

/**
 * Alarm grades follow the Chinese emergency convention: grade I (一级) is the most severe,
 * grade IV the least. The numeric value signed is 1..4.
 */
export const ALARM_GRADES = [1, 2, 3, 4] as const;
export type AlarmGrade = (typeof ALARM_GRADES)[number];

export interface SignedAlarmFields {
  alarmId: string;
  deviceId: string;
  siteId: string;
  areaId: string;
  grade: AlarmGrade;
  kind: string;
  scoreBp: number;
  modelVersion: string;
  modelSha256: string;
  inputSha256: string;
  clipCid: string;
  observedAt: number;
}
