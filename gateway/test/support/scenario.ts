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

/** POST that must answer `status`; returns the record written. */
export async function expectStep(client: Client, p: string, body: unknown, status = 200): Promise<Record<string, unknown>> {
  const r = await client.post(p, body);
  if (r.status !== status) throw new Error(`${p}: expected ${status}, got ${r.status} ${r.text}`);
  return r.body.record;
}

/**
 * The cast's hot-work permit from application to active through the API: risk assessment, a gas
 * test, the work unit's approval at the site, issue, briefing, gate checks of both welders and the
 * guardian, start.
 */
export async function startPermit(cast: Cast, permitNo: string): Promise<Record<string, unknown>> {
  const c = cast.clients;
  const base = `/v1/permits/${permitNo}`;
  await expectStep(c.applicant, '/v1/permits', applyBody(cast, permitNo), 201);
  await expectStep(c.pic, `${base}/risk-assessment`, {
    confirmations: [
      { measureId: 'm1', confirmedBy: cast.personInCharge },
      { measureId: 'm2', confirmedBy: cast.personInCharge },
    ],
  });
  await expectStep(
    c.analyst,
    `${base}/gas-tests`,
    { testId: `gt1-${cast.tag}`, sampleTakenAt: iso(Date.now() - 60_000), lelClass: 'lel_ge_4', flammableVolPct: 0.1 },
    201,
  );
  await expectStep(c.approver, `${base}/sign-offs`, { stepId: 'approval', atSite: true, opinion: 'OK at site' }, 201);
  await expectStep(c.approver, `${base}/issue`, {});
  await expectStep(c.pic, `${base}/brief`, { briefedWorkerIds: [cast.welder, cast.helper] });
  for (const [i, w] of [cast.welder, cast.helper, cast.guardian].entries()) {
    await expectStep(
      c.gate,
      `${base}/gate-checks`,
      { gateCheckId: `gc-${cast.tag}-${i}`, workerId: w, qr: { passed: true }, face: { scoreBp: 9300, deviceId: cast.deviceId }, health: { passed: true } },
      201,
    );
  }
  return expectStep(c.pic, `${base}/start`, {});
}

/** An evidence file of the gas test, uploaded by the analyst; returns its CID. */
export async function uploadEvidence(cast: Cast, permitNo: string, content: Buffer, name: string, type: string): Promise<string> {
  const form = new FormData();
  form.set('step', 'gas_test');
  form.set('capturedAt', iso(Date.now() - 30_000));
  form.set('file', new Blob([new Uint8Array(content)], { type }), name);
  const ev = await cast.clients.analyst.request('POST', `/v1/permits/${permitNo}/evidence`, { body: form });
  if (ev.status !== 201) throw new Error(`evidence upload: ${ev.status} ${ev.text}`);
  return ev.body.record.cid as string;
}
