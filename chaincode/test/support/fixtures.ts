import { createHash } from 'node:crypto';
import {
  ALARM_EIP712_DOMAIN,
  ALARM_EIP712_TYPES,
  canonicalJson,
  GRADING_EIP712_DOMAIN,
  GRADING_EIP712_TYPES,
  NO_READING_SHA256,
  type SignedAlarmFields,
} from '@compliance-ledger/schema';
import { Wallet } from 'ethers';
import { alarmFields as sharedAlarmFields } from '../../../schema/test/support/alarm-fields';
import { type Caller, caller, Harness, T0, workerId } from './harness';

export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;
export const iso = (ms: number) => new Date(ms).toISOString();

/** People (pseudonymous ids) and their CA identities. */
export const W1 = workerId('110101199001011234');
export const W2 = workerId('110101199202022345');
export const GUARDIAN = workerId('110101198003033456');
export const PIC = workerId('110101197504044567');
export const CONFIRMER = workerId('110101198505055678');
export const APPROVER_W = workerId('110101197006066789');
export const SAFETY1_W = workerId('110101197107077890');
export const SAFETY2_W = workerId('110101197208088901');
export const ACCEPTOR_W = workerId('110101197309099012');
export const OUTSIDER = workerId('110101199910100123');

export const WORK_UNIT = 'unit-a';

export const who = {
  applicant: caller('applicant'),
  pic: caller('person_in_charge', { workerId: PIC }),
  analyst: caller('gas_analyst'),
  approverUnit: caller('approver', { dept: WORK_UNIT, workerId: APPROVER_W }),
  approverSafety: caller('approver', { dept: 'safety', workerId: workerId('approver-safety') }),
  approverLeader: caller('approver', { dept: 'leadership', workerId: workerId('approver-leader') }),
  safety1: caller('safety_officer', { dept: 'safety', workerId: SAFETY1_W }),
  safety2: caller('safety_officer', { dept: 'safety', workerId: SAFETY2_W }),
  safetyUnit: caller('safety_officer', { dept: WORK_UNIT, workerId: workerId('safety-unit') }),
  guardian: caller('guardian', { workerId: GUARDIAN }),
  acceptor: caller('acceptor', { workerId: ACCEPTOR_W }),
  officer: caller('credential_officer'),
  gateway: caller('device_gateway'),
  admin: caller('admin'),
  reviewer: caller('reviewer'),
  regulator: caller('regulator'),
  auditor: caller('auditor'),
};

export const CAMERA_KEY = new Wallet(`0x${'11'.repeat(32)}`);
export const SENSOR_KEY = new Wallet(`0x${'22'.repeat(32)}`);
export const GATE_KEY = new Wallet(`0x${'33'.repeat(32)}`);
export const SITE = 'site-1';
export const ZONE = 'zone-a';

export async function signAlarm(wallet: Pick<Wallet, 'signTypedData'>, alarm: SignedAlarmFields): Promise<string> {
  const types = { Alarm: ALARM_EIP712_TYPES.Alarm.map((f) => ({ ...f })) };
  return wallet.signTypedData({ ...ALARM_EIP712_DOMAIN }, types, alarm);
}

export const INGEST_SERVICE_KEY = new Wallet(`0x${'44'.repeat(32)}`);

/** The reading the device signs: its standard message (canonical JSON, without `sig`) matching the alarm. */
export async function deviceReading(deviceKey: Pick<Wallet, 'signMessage'>, alarm: SignedAlarmFields, o: Record<string, unknown> = {}) {
  const message = canonicalJson({
    v: 1,
    kind: 'ai',
    messageId: `m-${alarm.alarmId}`,
    siteId: alarm.siteId,
    areaId: alarm.areaId,
    deviceId: alarm.deviceId,
    observedAt: alarm.observedAt,
    ...o,
  });
  return { message, signature: await deviceKey.signMessage(message) };
}

/** A version-2 `alarm:Record` input: the device-signed reading and the service-signed grading. */
export async function gradedAlarmInput(
  alarm: SignedAlarmFields,
  o: {
    deviceKey?: Pick<Wallet, 'signMessage'>;
    serviceKey?: Pick<Wallet, 'signTypedData'>;
    serviceId?: string;
    reading?: { message: string; signature: string } | null;
  } = {},
) {
  const reading = o.reading === null ? undefined : (o.reading ?? (await deviceReading(o.deviceKey ?? CAMERA_KEY, alarm)));
  const serviceId = o.serviceId ?? 'ingest-1';
  const readingSha256 = reading ? `0x${createHash('sha256').update(reading.message, 'utf8').digest('hex')}` : NO_READING_SHA256;
  const types = { Grading: GRADING_EIP712_TYPES.Grading.map((f) => ({ ...f })) };
  const signature = await (o.serviceKey ?? INGEST_SERVICE_KEY).signTypedData({ ...GRADING_EIP712_DOMAIN }, types, { ...alarm, serviceId, readingSha256 });
  return { alarm, signature, serviceId, ...(reading ? { reading } : {}) };
}

const HELMET_CLIP = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi';

/** A grade I no-helmet detection by camera cam-1 in the fixtures' site and zone, with its clip. */
export function alarmFields(o: Partial<SignedAlarmFields> = {}): SignedAlarmFields {
  return sharedAlarmFields({ deviceId: 'cam-1', siteId: SITE, areaId: ZONE, kind: 'no_helmet', scoreBp: 9100, clipCid: HELMET_CLIP, observedAt: T0, ...o });
}

export function certificate(id: string, worker: string, category: string, o: Record<string, unknown> = {}) {
  return {
    certificateId: id,
    workerId: worker,
    category,
    item: category === 'welding_cutting' ? '熔化焊接与热切割作业' : '低压电工作业',
    authority: 'Provincial emergency management department',
    validFrom: '2024-01-01T00:00:00Z',
    validUntil: '2030-01-01T00:00:00Z',
    reviewDue: '2027-01-01T00:00:00Z',
    scanSha256: 'e3'.repeat(32),
    ...o,
  };
}

/** Registers the people, welding certificates for the two workers, a gate and two signing devices. */
export async function seed(h: Harness): Promise<void> {
  for (const w of [W1, W2, GUARDIAN, PIC, CONFIRMER, OUTSIDER]) await h.ok('credential', 'RegisterWorker', who.officer, { workerId: w });
  await h.ok('credential', 'AddCertificate', who.officer, certificate('cert-w1', W1, 'welding_cutting'));
  await h.ok('credential', 'AddCertificate', who.officer, certificate('cert-w2', W2, 'welding_cutting'));
  await h.ok('credential', 'AddCertificate', who.officer, certificate('cert-guardian', GUARDIAN, 'guardian'));
  await h.ok('device', 'Register', who.admin, { deviceId: 'gate-1', siteId: SITE, areaId: ZONE, address: GATE_KEY.address, kind: 'gate' });
  await h.ok('device', 'Register', who.admin, { deviceId: 'cam-1', siteId: SITE, areaId: ZONE, address: CAMERA_KEY.address, kind: 'camera' });
  await h.ok('device', 'Register', who.admin, { deviceId: 'gas-1', siteId: SITE, areaId: ZONE, address: SENSOR_KEY.address, kind: 'sensor' });
}

export function application(permitNo: string, o: Record<string, unknown> = {}) {
  return {
    permitNo,
    operationType: 'hot_work',
    level: '2',
    location: { siteId: SITE, zoneId: ZONE, coordinates: { x: 0, y: 0 }, fireExplosionZone: false, outdoor: true },
    workUnit: WORK_UNIT,
    description: 'Weld a support bracket on pipe rack 3',
    plannedStart: iso(T0 + HOUR),
    plannedEnd: iso(T0 + 9 * HOUR),
    workers: [W1, W2],
    personInChargeId: PIC,
    guardianId: GUARDIAN,
    hazards: [{ hazardId: 'h1', description: 'Sparks near flammable material' }],
    measures: [
      { measureId: 'm1', hazardId: 'h1', description: 'Remove combustibles within 10 m' },
      { measureId: 'm2', hazardId: 'h1', description: 'Fire extinguisher and blanket at hand' },
    ],
    ...o,
  };
}

let gasSeq = 0;
export function gasTest(permitNo: string, o: Record<string, unknown> = {}, sampleTakenAt?: number) {
  return {
    permitNo,
    testId: `gt-${++gasSeq}`,
    sampleTakenAt: iso(sampleTakenAt ?? T0),
    lelClass: 'lel_ge_4',
    flammableVolPct: 0.1,
    ...o,
  };
}

/** Hot work level 2 from application to signed_off (one approval step by the work unit). */
export async function toSignedOff(h: Harness, permitNo: string, o: Record<string, unknown> = {}): Promise<void> {
  await h.ok('permit', 'Apply', who.applicant, application(permitNo, o));
  await h.ok('permit', 'AssessRisk', who.pic, {
    permitNo,
    confirmations: [
      { measureId: 'm1', confirmedBy: CONFIRMER },
      { measureId: 'm2', confirmedBy: CONFIRMER },
    ],
  });
  await h.ok('permit', 'RecordGasTest', who.analyst, gasTest(permitNo, {}, h.now));
  await signAll(h, permitNo);
}

/** Signs every remaining step with suitable, distinct signers (the work unit's approver for its steps). */
export async function signAll(h: Harness, permitNo: string): Promise<void> {
  const p = await h.read('permit', 'Get', who.pic, { permitNo });
  for (const step of p.template.signOffSteps as { stepId: string; role: string; department: string | null; distinctSigners: number }[]) {
    for (let i = 0; i < step.distinctSigners; i++) {
      const dept = step.department === '$work_unit' ? p.workUnit : (step.department ?? undefined);
      const signer =
        step.role === 'approver' && dept === WORK_UNIT ? who.approverUnit : caller(step.role, { dept, workerId: workerId(`signer-${step.stepId}-${i}`) });
      await h.ok('permit', 'SignOff', signer, { permitNo, stepId: step.stepId, atSite: true });
    }
  }
}

/** A `credential:RecordGateCheck` input: QR and health passed, a face match of `face.scoreBp` (93 % unless given) at gate-1. */
export function gateCheck(
  gateCheckId: string,
  permitNo: string,
  workerId: string,
  face: { scoreBp?: number; deviceId?: string; templateSha256?: string } = {},
) {
  return { gateCheckId, permitNo, workerId, qr: { passed: true }, face: { scoreBp: 9300, deviceId: 'gate-1', ...face }, health: { passed: true } };
}

/** Gate checks for the crew: the workers and the guardian, unless told otherwise. */
export async function gateAll(h: Harness, permitNo: string, workers: string[] = [W1, W2, GUARDIAN]): Promise<void> {
  for (const w of workers) await h.ok('credential', 'RecordGateCheck', who.gateway, gateCheck(`gc-${permitNo}-${w.slice(0, 6)}-${h.now}`, permitNo, w));
}

/** To active at the planned start (T0 + 1 h) with a fresh gas test and gate checks. */
export async function toActive(h: Harness, permitNo: string, o: Record<string, unknown> = {}): Promise<void> {
  await toSignedOff(h, permitNo, o);
  await h.ok('permit', 'Issue', who.approverUnit, { permitNo });
  await h.ok('permit', 'Brief', who.pic, { permitNo, briefedWorkerIds: [W1, W2] });
  h.now = T0 + HOUR - 10 * MIN;
  await gateAll(h, permitNo);
  await h.ok('permit', 'RecordGasTest', who.analyst, gasTest(permitNo, {}, h.now));
  h.now = T0 + HOUR;
  await h.ok('permit', 'Activate', who.pic, { permitNo });
}

/** A new ledger; fixture counters restart so that the same scenario yields the same transactions. */
export function fresh(): Harness {
  gasSeq = 0;
  return new Harness();
}

export type { Caller };
