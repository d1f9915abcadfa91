/**
 * The real Fabric network for the reporter's tests: the profile scripts/network.sh writes, users
 * enrolled with scripts/enroll-user.sh, JSON in and out of the chaincode. No mock network.
 */
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { enrolledIdentityFiles, FabricFailure } from '@compliance-ledger/fabric-client';
import { type ConnectionProfile, connectionProfilePath, connectionProfileSchema } from '@compliance-ledger/schema';
import { FabricSweeperLedger } from '../../src/ledger.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function requireNetwork(ctx: Mocha.Context): ConnectionProfile {
  if (process.env.LEDGER_NETWORK_UNAVAILABLE) {
    ctx.test!.title += ` (skipped: ${process.env.LEDGER_NETWORK_UNAVAILABLE})`;
    ctx.skip();
  }
  const file = connectionProfilePath(process.env);
  if (!existsSync(file)) throw new Error(`no Fabric network: ${file} is missing; run 'bash scripts/network.sh up && bash scripts/deploy-chaincode.sh'`);
  return connectionProfileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

/** Enrols (idempotently) and returns the identity folder. */
export function enroll(
  profile: ConnectionProfile,
  org: 'enterprise' | 'regulator',
  name: string,
  role: string,
  o: { department?: string; workerId?: string } = {},
): string {
  const env: NodeJS.ProcessEnv = { ...process.env, LEDGER_RUN_DIR: dirname(connectionProfilePath(process.env)) };
  const ca = profile.organizations[org].ca;
  if (ca) env[`${org.toUpperCase()}_CA_PORT`] = new URL(ca.url).port;
  const args = [join(REPO_ROOT, 'scripts', 'enroll-user.sh'), org, name, role];
  if (o.department) args.push('--department', o.department);
  if (o.workerId) args.push('--worker-id', o.workerId);
  return execFileSync('bash', args, { env, encoding: 'utf8' }).trim().split('\n').pop()!;
}

export function connectAs(profile: ConnectionProfile, org: 'enterprise' | 'regulator', identityDir: string): FabricSweeperLedger {
  const o = profile.organizations[org];
  const identity = enrolledIdentityFiles(identityDir);
  return FabricSweeperLedger.connect({
    peerEndpoint: o.peer.endpoint,
    peerHostAlias: o.peer.hostAlias,
    tlsCaCertPath: o.peer.tlsCaFile,
    mspId: o.mspId,
    certPath: identity.certFile,
    keyPath: identity.keyFile,
    channel: profile.channel,
    chaincode: profile.chaincode,
    timeoutMs: 30_000,
  });
}

export const workerId = (label: string) => createHmac('sha256', 'reporter-test-enterprise-key').update(label).digest('hex');
export const uniqueId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Submits a set-up step until it commits. The sweeper's ledger never retries (its next period does),
 * but a set-up step that only the regulator's peer refused, because it has not yet committed the step
 * before, is endorsed again, as the services do with the same transient failure.
 */
async function must(ledger: FabricSweeperLedger, tx: string, input: unknown): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    let r: Awaited<ReturnType<FabricSweeperLedger['submit']>>;
    try {
      r = await ledger.submit(tx, input);
    } catch (e) {
      if (!(e instanceof FabricFailure && e.transient) || attempt >= 10) throw e;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      continue;
    }
    if (r.status !== 'committed') throw new Error(`${tx} did not commit: ${JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    return;
  }
}

/**
 * A work-at-height (class I) permit issued through the permit contract as the enterprise's people
 * would, whose validity ends `validForMs` from now. Returns its number.
 */
export async function issuedPermitEndingSoon(profile: ConnectionProfile, validForMs: number, siteId = uniqueId('site')): Promise<string> {
  const unit = 'unit-reporter';
  const picW = workerId('pic');
  const approverW = workerId('approver');
  const ids = {
    officer: enroll(profile, 'enterprise', 'rep-officer', 'credential_officer'),
    applicant: enroll(profile, 'enterprise', 'rep-applicant', 'applicant'),
    pic: enroll(profile, 'enterprise', 'rep-pic', 'person_in_charge', { workerId: picW }),
    approver: enroll(profile, 'enterprise', 'rep-approver', 'approver', { department: unit, workerId: approverW }),
  };
  const [officer, applicant, pic, approver] = [ids.officer, ids.applicant, ids.pic, ids.approver].map((d) =>
    connectAs(profile, 'enterprise', d),
  ) as FabricSweeperLedger[];
  try {
    const tag = uniqueId('w');
    const worker = workerId(`${tag}-worker`);
    const guardian = workerId(`${tag}-guardian`);
    const confirmer = workerId(`${tag}-confirmer`);
    for (const w of [worker, guardian, confirmer, picW]) {
      const r = await officer!.submit('credential:RegisterWorker', { workerId: w });
      if (r.status !== 'committed' && r.status === 'refused' && r.code !== 'ALREADY_EXISTS') throw new Error(`RegisterWorker: ${r.reason}`);
    }
    for (const [i, [w, category]] of (
      [
        [worker, 'work_at_height'],
        [guardian, 'guardian'],
      ] as const
    ).entries()) {
      await must(officer!, 'credential:AddCertificate', {
        certificateId: `${tag}-cert-${i}`,
        workerId: w,
        category,
        item: category,
        authority: 'Provincial emergency management department',
        validFrom: '2025-01-01T00:00:00Z',
        validUntil: '2030-01-01T00:00:00Z',
        reviewDue: '2028-01-01T00:00:00Z',
        scanSha256: 'e3'.repeat(32),
      });
    }
    const permitNo = uniqueId('WH');
    const now = Date.now();
    await must(applicant!, 'permit:Apply', {
      permitNo,
      operationType: 'work_at_height',
      level: 'I',
      workHeightMetres: 3,
      location: { siteId, zoneId: 'zone-1', coordinates: null, fireExplosionZone: false, outdoor: true },
      workUnit: unit,
      description: 'Replace a lamp on the rack',
      plannedStart: iso(now - 60_000),
      plannedEnd: iso(now + validForMs),
      workers: [worker],
      personInChargeId: picW,
      guardianId: guardian,
      hazards: [{ hazardId: 'h1', description: 'Fall from height' }],
      measures: [{ measureId: 'm1', hazardId: 'h1', description: 'Harness clipped on' }],
    });
    await must(pic!, 'permit:AssessRisk', { permitNo, confirmations: [{ measureId: 'm1', confirmedBy: confirmer }] });
    await must(approver!, 'permit:SignOff', { permitNo, stepId: 'approval', atSite: true });
    await must(approver!, 'permit:Issue', { permitNo });
    return permitNo;
  } finally {
    for (const c of [officer, applicant, pic, approver]) c?.close();
  }
}
