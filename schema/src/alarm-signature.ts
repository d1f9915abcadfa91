/**
 * EIP-712 typed data for alarms. Both sides (signer and chaincode/verifier) must use exactly these
 * definitions, so they live here and nowhere else.
 *
 * Version 1 (`Alarm`): the whole alarm signed with the device's own key. Only a device that grades
 * itself can produce it; records of this form stay readable and verifiable.
 *
 * Version 2 (`Grading`): what ingest records. The device signs its reading (EIP-191 over the
 * canonical JSON of its standard message without `sig`); ingest, holding no device key, signs the
 * grading with its own registered service key, bound to the exact reading by `readingSha256`.
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

export const GRADING_EIP712_DOMAIN = {
  name: 'ComplianceLedgerAlarm',
  version: '2',
} as const;

export const GRADING_EIP712_TYPES = {
  Grading: [
    ...ALARM_EIP712_TYPES.Alarm,
    // The registered ingest service whose key signs the grading.
    { name: 'serviceId', type: 'string' },
    // sha256 of the device-signed reading text (UTF-8); all zeros when the device does not sign.
    { name: 'readingSha256', type: 'bytes32' },
  ],
} as const;

/**
 * What ingest found for the clip an AI camera signed (the sha256 in its signed detection):
 * `verified` the bytes arrived, hash to what the camera signed and are in the content store under
 * the alarm's `clipCid`; `missing` no bytes came with the detection; `mismatch` bytes came but hash
 * to something else. The chaincode records the status with the signed hash, never a silent blank.
 */
export const CLIP_STATUSES = ['verified', 'missing', 'mismatch'] as const;
export type ClipStatus = (typeof CLIP_STATUSES)[number];

/** The clip part of an alarm raised on a camera's signed detection. */
export interface AlarmClip {
  /** 0x-prefixed sha256 of the clip, exactly as the camera signed it in its detection. */
  sha256: string;
  status: ClipStatus;
}

export const NO_READING_SHA256 = `0x${'0'.repeat(64)}`;

/** A device's own signature over the message that triggered an alarm. */
export interface DeviceSignedReading {
  /** Exactly the text the device signed: canonical JSON of its standard message without `sig`. */
  message: string;
  /** EIP-191 (personal_sign) signature by the device's registered key. */
  signature: string;
}

/** The fields the ingest service signs (EIP-712 `Grading`). */
export interface GradingFields extends SignedAlarmFields {
  serviceId: string;
  readingSha256: string;
}

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
