/**
 * The real Fabric network for ingest's integration tests: the connection profile that
 * `scripts/network.sh up` writes, users enrolled with the enterprise's Fabric CA (role and, for
 * permit signers, department and worker id attributes), a hot-work permit driven to `active`
 * through the permit contract, and the regulator's peer stopped and started again.
 *
 * There is no mock network. Suites call `requireLedgerNetwork(this)` in `before`: it skips with
 * the reason when `LEDGER_NETWORK_UNAVAILABLE` is set (what scripts/test.sh sets when Fabric
 * cannot be built) and fails when the profile is missing.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  connectToOrg,
  enrolledIdentityFiles,
  type FabricConnection,
  FabricFailure,
  loadConnectionProfile,
  type RetryPolicy,
  signingIdentityFromFiles,
  submitTransaction,
} from '@compliance-ledger/fabric-client';
import { type AlarmRecord, type ConnectionProfile, type PermitRecord, connectionProfilePath as profilePathFromEnv } from '@compliance-ledger/schema';
import type { ChaincodeEvent, CloseableAsyncIterable, Contract, Gateway, Transaction } from '@hyperledger/fabric-gateway';
import { killPeer, networkEnv } from '../../../fabric-client/test/support/lagging-peer.js';
import type { FabricLedgerConfig } from '../../src/outbox/fabric-ledger.js';
import type { DeviceKeyring } from '../../src/pipeline/device-keys.js';
import type { StandardMessage } from '../../src/pipeline/message.js';
import { runSimulation } from '../../tools/simulator.js';
import { defaultLayout, type SiteLayout } from '../../tools/site-layout.js';
import { INGEST_DIR } from './paths.js';

const run = promisify(execFile);
const decoder = new TextDecoder();
const REPO_ROOT = join(INGEST_DIR, '..');

/** `LEDGER_CONNECTION_PROFILE`, else `$LEDGER_RUN_DIR/connection-profile.json` (scripts/lib.sh's default run dir). */
export function connectionProfilePath(): string {
  return profilePathFromEnv(process.env);
}

/** Call in a suite's `before`: skips the suite, with the reason, when no network is available. */
export function requireLedgerNetwork(ctx: Mocha.Context): ConnectionProfile {
  const unavailable = process.env.LEDGER_NETWORK_UNAVAILABLE;
  if (unavailable) {
    ctx.test!.title += ` (skipped: ${unavailable})`;
    ctx.skip();
  }
  const file = connectionProfilePath();
  if (!existsSync(file)) {
    throw new Error(
      `no Fabric network: ${file} is missing. Run 'npm test' (which starts one) or 'bash scripts/network.sh up && bash scripts/deploy-chaincode.sh'.`,
    );
  }
  return loadConnectionProfile(file);
}

/** The network's state folder: the profile sits at its top. */
export function runDir(): string {
  return dirname(connectionProfilePath());
}

export interface Identity {
  name: string;
  certPath: string;
  keyPath: string;
}

function identityIn(dir: string, name: string): Identity {
  const files = enrolledIdentityFiles(dir);
  return { name, certPath: files.certFile, keyPath: files.keyFile };
}

function scriptEnv(profile: ConnectionProfile): NodeJS.ProcessEnv {
  // enroll-user.sh finds the CA by port; take it from the profile so the script reaches this
  // network whatever LEDGER_PORT_OFFSET the caller's environment has.
  const env: NodeJS.ProcessEnv = { ...process.env, LEDGER_RUN_DIR: runDir() };
  const enterpriseCa = profile.organizations.enterprise.ca;
  const regulatorCa = profile.organizations.regulator.ca;
  if (enterpriseCa) env.ENTERPRISE_CA_PORT = new URL(enterpriseCa.url).port;
  if (regulatorCa) env.REGULATOR_CA_PORT = new URL(regulatorCa.url).port;
  return env;
}

/**
 * A user enrolled with the enterprise's Fabric CA through scripts/enroll-user.sh (the operators'
 * procedure): `ledger.role`, and for permit signers `ledger.department` and `ledger.workerId`.
 */
export function enrollUser(profile: ConnectionProfile, name: string, role: string, o: { department?: string; workerId?: string } = {}): Identity {
  const args = [join(REPO_ROOT, 'scripts', 'enroll-user.sh'), 'enterprise', name, role];
  if (o.department) args.push('--department', o.department);
  if (o.workerId) args.push('--worker-id', o.workerId);
  const dir = execFileSync('bash', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: scriptEnv(profile) }).trim();
  return identityIn(dir, name);
}

/** FabricAlarmLedger's settings for an enterprise identity, from the profile. */
export function ledgerConfig(profile: ConnectionProfile, id: Identity, timeoutMs = 15_000): FabricLedgerConfig {
  const org = profile.organizations.enterprise;
  return {
    peerEndpoint: org.peer.endpoint,
    peerHostAlias: org.peer.hostAlias,
    tlsCaCertPath: org.peer.tlsCaFile,
    mspId: org.mspId,
    certPath: id.certPath,
    keyPath: id.keyPath,
    channel: profile.channel,
    chaincode: profile.chaincode,
    timeoutMs,
    commitStreamFallbackMs: 5_000,
  };
}

/**
 * A test's own steps meet two transient endorsement failures, each classified so by fabric-client
 * and endorsed again (nothing was ordered):
 * - a step that depends on the one before may reach the other org's peer before that peer has the
 *   previous block (its lone refusal; gone within a block time);
 * - after a test restarted a peer, the gateway peer's discovery may leave that peer out until
 *   gossip sees it again ("no combination of peers"; seen lasting a minute on a loaded machine).
 * Retried every 100 ms at first, then every 2 s, for about 90 s in all.
 */
const TRANSIENT: RetryPolicy = { attempts: 50, baseDelayMs: 100, maxDelayMs: 2_000 };

/** A gateway connection as one enterprise user, with JSON in and out of the chaincode. */
export class LedgerClient {
  private constructor(
    private readonly connection: FabricConnection,
    private readonly profile: ConnectionProfile,
  ) {}

  private get gateway(): Gateway {
    return this.connection.gateway;
  }

  static connect(profile: ConnectionProfile, id: Identity, org: 'enterprise' | 'regulator' = 'enterprise'): LedgerClient {
    return new LedgerClient(
      connectToOrg(profile, org, signingIdentityFromFiles(profile.organizations[org].mspId, { certFile: id.certPath, keyFile: id.keyPath })),
      profile,
    );
  }

  private contract(name: string): Contract {
    return this.gateway.getNetwork(this.profile.channel).getContract(this.profile.chaincode, name);
  }

  /**
   * Submits and waits for the commit on this client's (gateway) peer; a transient endorsement
   * failure (above) is endorsed again.
   */
  async submit<T = unknown>(tx: string, input: unknown): Promise<T> {
    const [contract, fn] = tx.split(':') as [string, string];
    const committed = await submitTransaction(
      this.contract(contract),
      { name: fn, options: { arguments: [JSON.stringify(input)] } },
      { ownMspId: this.connection.mspId, retry: TRANSIENT },
    );
    return JSON.parse(decoder.decode(committed.result)) as T;
  }

  /** Endorses a transaction without submitting it (the caller submits it, or leaves it). */
  endorse(tx: string, input: unknown): Promise<Transaction> {
    const [contract, fn] = tx.split(':') as [string, string];
    return this.contract(contract)
      .newProposal(fn, { arguments: [JSON.stringify(input)] })
      .endorse();
  }

  /** Submits and waits for the commit; returns the block and transaction id as well. */
  async submitCommitted<T = unknown>(tx: string, input: unknown): Promise<{ result: T; blockNumber: bigint; txId: string }> {
    const [contract, fn] = tx.split(':') as [string, string];
    const committed = await submitTransaction(
      this.contract(contract),
      { name: fn, options: { arguments: [JSON.stringify(input)] } },
      { ownMspId: this.connection.mspId, retry: TRANSIENT },
    );
    return { result: JSON.parse(decoder.decode(committed.result)) as T, blockNumber: committed.blockNumber, txId: committed.transactionId };
  }

  /**
   * Counts `AlarmRecorded` events of one site per alarm id, from `startBlock` up to the
   * transaction `untilTxId` (a marker committed after everything of interest), from the blocks
   * themselves: a count above 1 would be an alarm committed twice.
   */
  async alarmRecordings(siteId: string, startBlock: bigint, untilTxId: string, timeoutMs = 60_000): Promise<Map<string, number>> {
    const events = await this.gateway.getNetwork(this.profile.channel).getChaincodeEvents(this.profile.chaincode, { startBlock });
    const counts = new Map<string, number>();
    const timer = setTimeout(() => events.close(), timeoutMs);
    let reached = false;
    try {
      for await (const event of events) {
        if (event.eventName === 'AlarmRecorded') {
          const body = JSON.parse(decoder.decode(event.payload)) as { payload: { alarm: AlarmRecord } };
          const a = body.payload.alarm;
          if (a.siteId === siteId) counts.set(a.alarmId, (counts.get(a.alarmId) ?? 0) + 1);
        }
        if (event.transactionId === untilTxId) {
          reached = true;
          break;
        }
      }
    } catch (err) {
      if (!reached) throw new Error(`chaincode events ended before the marker transaction: ${String(err)}`);
    } finally {
      clearTimeout(timer);
      events.close();
    }
    if (!reached) throw new Error(`timed out reading chaincode events up to ${untilTxId}`);
    return counts;
  }

  /** The chaincode's events from the next block on (or from `startBlock`). */
  chaincodeEvents(startBlock?: bigint): Promise<CloseableAsyncIterable<ChaincodeEvent>> {
    return this.gateway.getNetwork(this.profile.channel).getChaincodeEvents(this.profile.chaincode, startBlock === undefined ? {} : { startBlock });
  }

  async evaluate<T = unknown>(tx: string, input: unknown): Promise<T> {
    const [contract, fn] = tx.split(':') as [string, string];
    return JSON.parse(decoder.decode(await this.contract(contract).evaluateTransaction(fn, JSON.stringify(input)))) as T;
  }

  /** The chaincode's coded message of a refused call, e.g. `NOT_FOUND: …`. */
  async refusal(tx: string, input: unknown): Promise<string> {
    try {
      await this.submit(tx, input);
    } catch (err) {
      const peers = err instanceof FabricFailure ? err.peers.map((p) => p.message) : [];
      return [String((err as Error).message), ...peers].join(' | ');
    }
    throw new Error(`${tx} was expected to be refused`);
  }

  getAlarm(alarmId: string): Promise<AlarmRecord> {
    return this.evaluate<AlarmRecord>('alarm:Get', { alarmId });
  }

  listOpenAlarms(siteId: string, areaId?: string): Promise<AlarmRecord[]> {
    return this.evaluate<AlarmRecord[]>('alarm:ListOpen', areaId === undefined ? { siteId } : { siteId, areaId });
  }

  getPermit(permitNo: string): Promise<PermitRecord> {
    return this.evaluate<PermitRecord>('permit:Get', { permitNo });
  }

  close(): void {
    this.connection.close();
  }
}

/** Pseudonymous worker id, as the enterprise computes it outside the chaincode. */
export function workerId(label: string): string {
  return createHmac('sha256', 'ingest-test-enterprise-key').update(label).digest('hex');
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/**
 * Everyone the tests act as. The role-only users come from enroll-user.sh; the person in charge
 * and the work unit's approver carry department and worker id attributes.
 */
export interface Cast {
  gateway: Identity;
  admin: Identity;
  officer: Identity;
  applicant: Identity;
  analyst: Identity;
  pic: Identity;
  approver: Identity;
  /** Acknowledges and closes alarms. */
  safety: Identity;
  picWorkerId: string;
  approverWorkerId: string;
  workUnit: string;
}

export function enrollCast(profile: ConnectionProfile): Cast {
  const workUnit = 'unit-ingest';
  const picWorkerId = workerId('person-in-charge');
  const approverWorkerId = workerId('approver-unit');
  return {
    gateway: enrollUser(profile, 'ingest-gateway', 'device_gateway'),
    admin: enrollUser(profile, 'ingest-admin', 'admin'),
    officer: enrollUser(profile, 'ingest-credential-officer', 'credential_officer'),
    applicant: enrollUser(profile, 'ingest-applicant', 'applicant'),
    analyst: enrollUser(profile, 'ingest-gas-analyst', 'gas_analyst'),
    pic: enrollUser(profile, 'ingest-pic', 'person_in_charge', { workerId: picWorkerId }),
    approver: enrollUser(profile, 'ingest-approver', 'approver', { department: workUnit, workerId: approverWorkerId }),
    safety: enrollUser(profile, 'ingest-safety-officer', 'safety_officer', { department: 'safety', workerId: workerId('safety-officer') }),
    picWorkerId,
    approverWorkerId,
    workUnit,
  };
}

/**
 * Registers devices (admin) with their ethers addresses, unless already registered. Returns the
 * block of the last registration (0n when there was none).
 */
export async function registerDevices(
  admin: LedgerClient,
  devices: {
    deviceId: string;
    siteId: string;
    areaId: string;
    address: string;
    kind: 'camera' | 'sensor' | 'gate' | 'ingest_service';
    signsReadings?: boolean;
  }[],
): Promise<bigint> {
  let block = 0n;
  for (const d of devices) {
    try {
      await admin.evaluate('device:Get', { deviceId: d.deviceId });
      continue;
    } catch {
      // not registered yet
    }
    block = (await admin.submitCommitted('device:Register', d)).blockNumber;
  }
  return block;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A level-2 hot-work permit in (siteId, zoneId) taken from application to `active` through the
 * chaincode's permit contract, as the enterprise's people would: workers registered with welding
 * certificates, risk assessment, gas test, the work unit's approval, issue, briefing, gate checks
 * at a registered gate, a fresh gas test, activation. Returns the active permit.
 */
export async function activeHotWorkPermit(profile: ConnectionProfile, cast: Cast, siteId: string, zoneId: string): Promise<PermitRecord> {
  const as = (id: Identity) => LedgerClient.connect(profile, id);
  const [officer, admin, applicant, analyst, pic, approver, gateway] = [
    cast.officer,
    cast.admin,
    cast.applicant,
    cast.analyst,
    cast.pic,
    cast.approver,
    cast.gateway,
  ].map(as) as LedgerClient[];
  try {
    const tag = uniqueId('w');
    const workers = [workerId(`${tag}-1`), workerId(`${tag}-2`)];
    const guardian = workerId(`${tag}-guardian`);
    const confirmer = workerId(`${tag}-confirmer`);
    for (const w of [...workers, guardian, confirmer, cast.picWorkerId]) {
      try {
        await officer!.submit('credential:RegisterWorker', { workerId: w });
      } catch (err) {
        // the person in charge is registered once per network
        if (!/ALREADY_EXISTS/.test(JSON.stringify((err as { details?: unknown }).details ?? String(err)))) throw err;
      }
    }
    // The welders' certificates, and the guardian's training certificate that the templates require.
    const certificates = [...workers.map((w) => [w, 'welding_cutting', '熔化焊接与热切割作业'] as const), [guardian, 'guardian', '特殊作业监护人'] as const];
    for (const [i, [w, category, item]] of certificates.entries()) {
      await officer!.submit('credential:AddCertificate', {
        certificateId: `${tag}-cert-${i}`,
        workerId: w,
        category,
        item,
        authority: 'Provincial emergency management department',
        validFrom: '2025-01-01T00:00:00Z',
        validUntil: '2030-01-01T00:00:00Z',
        reviewDue: '2028-01-01T00:00:00Z',
        scanSha256: 'e3'.repeat(32),
      });
    }
    const gateId = `gate-${siteId}-${zoneId}`.slice(0, 64);
    await registerDevices(admin!, [{ deviceId: gateId, siteId, areaId: zoneId, address: `0x${randomBytes(20).toString('hex')}`, kind: 'gate' }]);

    const permitNo = uniqueId('HW');
    const now = Date.now();
    await applicant!.submit('permit:Apply', {
      permitNo,
      operationType: 'hot_work',
      level: '2',
      location: { siteId, zoneId, coordinates: { x: 0, y: 0 }, fireExplosionZone: false, outdoor: true },
      workUnit: cast.workUnit,
      description: 'Weld a support bracket on the tank farm pipe rack',
      plannedStart: iso(now - 60_000),
      plannedEnd: iso(now + 8 * 3_600_000),
      workers,
      personInChargeId: cast.picWorkerId,
      guardianId: guardian,
      hazards: [{ hazardId: 'h1', description: 'Sparks near flammable material' }],
      measures: [
        { measureId: 'm1', hazardId: 'h1', description: 'Remove combustibles within 10 m' },
        { measureId: 'm2', hazardId: 'h1', description: 'Fire extinguisher and blanket at hand' },
      ],
    });
    await pic!.submit('permit:AssessRisk', {
      permitNo,
      confirmations: [
        { measureId: 'm1', confirmedBy: confirmer },
        { measureId: 'm2', confirmedBy: confirmer },
      ],
    });
    const gasTest = (n: number) => ({
      permitNo,
      testId: `${permitNo}-gt-${n}`,
      sampleTakenAt: iso(Date.now() - 5_000),
      lelClass: 'lel_ge_4',
      flammableVolPct: 0.1,
    });
    await analyst!.submit('permit:RecordGasTest', gasTest(1));
    await approver!.submit('permit:SignOff', { permitNo, stepId: 'approval', atSite: true });
    await approver!.submit('permit:Issue', { permitNo });
    await pic!.submit('permit:Brief', { permitNo, briefedWorkerIds: workers });
    for (const [i, w] of [...workers, guardian].entries()) {
      await gateway!.submit('credential:RecordGateCheck', {
        gateCheckId: `${permitNo}-gc-${i}`,
        permitNo,
        workerId: w,
        qr: { passed: true },
        face: { scoreBp: 9300, deviceId: gateId },
        health: { passed: true },
      });
    }
    await analyst!.submit('permit:RecordGasTest', gasTest(2));
    return await pic!.submit<PermitRecord>('permit:Activate', { permitNo });
  } finally {
    for (const c of [officer, admin, applicant, analyst, pic, approver, gateway]) c?.close();
  }
}

/** Kills the regulator's peer process (SIGKILL, as a crash would) and waits until it is gone. */
export function killRegulatorPeer(): Promise<number> {
  return killPeer('regulator');
}

export { killPeer };

/**
 * `scripts/network.sh up`: starts whatever node is not running (here a killed peer). Tried up to
 * three times: after restarting the enterprise's peer, `up` can ask `peer channel list` before
 * the peer has opened its ledger, try to join again and fail with "ledger [compliance] already
 * exists"; a second `up` finds the peer in the channel (a race in network.sh, reported).
 */
export async function networkUp(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await run('bash', [join(REPO_ROOT, 'scripts', 'network.sh'), 'up'], { env: networkEnv(), maxBuffer: 16 * 1024 * 1024 });
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

/** The simulator's site with device ids of this run (the ledger's device ids are global). */
export function runLayout(tag: string): SiteLayout {
  const base = defaultLayout(`site-${tag}`);
  return {
    siteId: base.siteId,
    gatewayDeviceId: `${tag}-gw`,
    areas: base.areas.map((a) => ({ ...a, gasDeviceId: `${tag}-gas-${a.areaId}`, cameraDeviceId: `${tag}-cam-${a.areaId}` })),
  };
}

/** The simulator's gas-leak scenario on a site, starting now: 45 one-second readings (seed 3), signed by the devices, published at once. */
export function publishGasLeak(url: string, keyring: DeviceKeyring, layout: SiteLayout, topicRoot: string): Promise<StandardMessage[]> {
  return runSimulation({
    url,
    keyring,
    layout,
    scenario: 'gas-leak',
    startMs: Date.now(),
    ticks: 45,
    tickMs: 1000,
    seed: 3,
    fast: true,
    sign: true,
    topicRoot,
    clientId: `sim-${randomBytes(6).toString('hex')}`,
  });
}
