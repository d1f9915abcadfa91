/**
 * Builds the people and data of a hot-work (二级动火) permit for the API tests: users as JWTs with
 * roles (and the approver's department and worker id), workers with welding certificates, a gate.
 */
import * as crypto from 'node:crypto';
import { Wallet } from 'ethers';
import { alarmFieldsFor } from '../../../schema/test/support/alarm-fields.js';
import type { PrincipalClaims } from '../../src/auth.js';
import { recordDeviceAlarm } from './direct.js';
import { type Client, token, uniqueId, workerId } from './env.js';

export interface Cast {
  tag: string;
  workUnit: string;
  siteId: string;
  deviceId: string;
  welder: string;
  helper: string;
  guardian: string;
  personInCharge: string;
  approverWorker: string;
  clients: Record<'credential' | 'safety' | 'applicant' | 'pic' | 'analyst' | 'approver' | 'gate' | 'acceptor' | 'regulator' | 'auditor', Client>;
}

export async function makeCast(base: Client): Promise<Cast> {
  const tag = crypto.randomBytes(4).toString('hex');
  const workUnit = `unit-${tag}`;
  const ids = {
    welder: workerId(`welder-${tag}`),
    helper: workerId(`helper-${tag}`),
    guardian: workerId(`guardian-${tag}`),
    personInCharge: workerId(`pic-${tag}`),
    approverWorker: workerId(`approver-${tag}`),
  };
  const as = async (name: string, c: Omit<PrincipalClaims, 'sub'>) => base.as(await token({ sub: `gw-${name}-${tag}`, ...c }));
  return {
    tag,
    workUnit,
    siteId: `site-${tag}`,
    deviceId: `gate-${tag}`,
    ...ids,
    clients: {
      credential: await as('cred', { org: 'enterprise', role: 'credential_officer' }),
      safety: await as('safety', { org: 'enterprise', role: 'safety_officer' }),
      applicant: await as('applicant', { org: 'enterprise', role: 'applicant' }),
      pic: await as('pic', { org: 'enterprise', role: 'person_in_charge', workerId: ids.personInCharge }),
      analyst: await as('analyst', { org: 'enterprise', role: 'gas_analyst' }),
      approver: await as('approver', { org: 'enterprise', role: 'approver', department: workUnit, workerId: ids.approverWorker }),
      gate: await as('gate', { org: 'enterprise', role: 'device_gateway' }),
      acceptor: await as('acceptor', { org: 'enterprise', role: 'acceptor' }),
      regulator: await as('regulator', { org: 'regulator', role: 'regulator' }),
      auditor: await as('auditor', { org: 'regulator', role: 'auditor' }),
    },
  };
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Registers every person, the welders' certificates, the guardian's training certificate and the gate device. */
export async function registerCast(c: Cast): Promise<void> {
  const now = Date.now();
  for (const w of [c.welder, c.helper, c.guardian, c.personInCharge, c.approverWorker]) {
    const r = await c.clients.credential.post('/v1/workers', { workerId: w });
    if (r.status !== 201) throw new Error(`register worker: ${r.status} ${r.text}`);
  }
  const certificates: [string, string, string][] = [
    [c.welder, 'welding_cutting', '熔化焊接与热切割作业'],
    [c.helper, 'welding_cutting', '熔化焊接与热切割作业'],
    [c.guardian, 'guardian', '特殊作业监护人'],
  ];
  for (const [i, [w, category, item]] of certificates.entries()) {
    const r = await c.clients.credential.post('/v1/certificates', {
      certificateId: `cert-${c.tag}-${i}`,
      workerId: w,
      category,
      item,
      authority: '应急管理局',
      validFrom: iso(now - 365 * 86_400_000),
      validUntil: iso(now + 4 * 365 * 86_400_000),
      reviewDue: iso(now + 2 * 365 * 86_400_000),
      scanSha256: crypto.createHash('sha256').update(`scan-${c.tag}-${i}`).digest('hex'),
    });
    if (r.status !== 201) throw new Error(`add certificate: ${r.status} ${r.text}`);
  }
  const d = await c.clients.safety.post('/v1/devices', {
    deviceId: c.deviceId,
    siteId: c.siteId,
    areaId: 'zone-1',
    address: `0x${crypto.randomBytes(20).toString('hex')}`,
    kind: 'gate',
  });
  if (d.status !== 201) throw new Error(`register device: ${d.status} ${d.text}`);
}

export function applyBody(c: Cast, permitNo: string): Record<string, unknown> {
  const now = Date.now();
  return {
    permitNo,
    operationType: 'hot_work',
    level: '2',
    location: { siteId: c.siteId, zoneId: 'zone-1', coordinates: { x: 10, y: 20 }, fireExplosionZone: false, outdoor: true },
    workUnit: c.workUnit,
    description: 'Weld a support bracket on pipe rack 3',
    plannedStart: iso(now - 60_000),
    plannedEnd: iso(now + 8 * 3_600_000),
    workers: [c.welder, c.helper],
    personInChargeId: c.personInCharge,
    guardianId: c.guardian,
    hazards: [{ hazardId: 'h1', description: 'Sparks near combustible insulation' }],
    measures: [
      { measureId: 'm1', hazardId: 'h1', description: 'Remove or cover combustibles within 10 m' },
      { measureId: 'm2', hazardId: 'h1', description: 'Fire extinguisher at the work point' },
    ],
  };
}

/**
 * Registers a camera with a fresh key in a zone of the cast's site (zone-1 unless told) and records
 * one alarm it signed (EIP-712), submitted as the cast's gate user from the gateway's wallet (alarms
 * come from ingest, not the API): at grade 1 (the default) it suspends an active permit in the zone.
 */
export async function recordCameraAlarm(
  c: Cast,
  walletDir: string,
  alarmId: string,
  o: { areaId?: string; grade?: 1 | 2 | 3 | 4; kind?: string; modelVersion?: string } = {},
): Promise<{ cameraId: string }> {
  const device = Wallet.createRandom();
  const cameraId = `cam-${c.tag}`;
  const areaId = o.areaId ?? 'zone-1';
  const reg = await c.clients.safety.post('/v1/devices', { deviceId: cameraId, siteId: c.siteId, areaId, address: device.address, kind: 'camera' });
  if (reg.status !== 201) throw new Error(`register camera: ${reg.status} ${reg.text}`);
  const alarm = alarmFieldsFor(cameraId, c.siteId, areaId, {
    alarmId,
    grade: o.grade ?? 1,
    kind: o.kind ?? 'gas_leak',
    modelVersion: o.modelVersion ?? 'risk-1',
    observedAt: Date.now() - 2000,
  });
  await recordDeviceAlarm(walletDir, `gw-gate-${c.tag}`, device, alarm);
  return { cameraId };
}

/** A registered cast and a hot-work permit its applicant applied for. */
export async function castWithPermit(base: Client): Promise<{ cast: Cast; permitNo: string }> {
  const cast = await makeCast(base);
  await registerCast(cast);
  const permitNo = uniqueId('HWK');
  const applied = await cast.clients.applicant.post('/v1/permits', applyBody(cast, permitNo));
  if (applied.status !== 201) throw new Error(`applying for ${permitNo}: ${applied.status} ${applied.text}`);
  return { cast, permitNo };
}

export { iso, uniqueId };
