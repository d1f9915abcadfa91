/**
 * Domain-level helpers for the integration tests: CA-enrolled people with roles, JSON-argument
 * transactions through @hyperledger/fabric-gateway, coded refusals, chaincode events and the
 * channel height. Everything runs against the real network; there is no stub here.
 */
import * as crypto from 'node:crypto';
import { answerOfEndorsed, classifyFabricError } from '@compliance-ledger/fabric-client';
import { type ConnectionProfile, type ErrorCode, type LedgerEvent, type OrganizationName, parseErrorCode } from '@compliance-ledger/schema';
import { type Commit, EndorseError, type Proposal, type Status, type Transaction } from '@hyperledger/fabric-gateway';
import { common, gateway as gatewayProtos, msp, peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { connectAs, connectAsUser, connectAsUserAsync, type OrgConnection, type UserAttributes } from './network';

const decoder = new TextDecoder();
/**
 * How long one submit keeps endorsing again while a peer is behind or not yet discoverable (see
 * Party.committed), 200 ms more wait before each attempt up to 2 s: a just-onboarded org's peer needs
 * time to become known to the other orgs' peers through gossip (one alive interval is 5 s), and on a
 * saturated machine (a clean-clone CI beside other work, load 15 on 2 cores) a peer was seen more
 * than the 9 s of an earlier budget behind the other.
 */
const ENDORSE_BUDGET_MS = 30_000;

export interface Submitted<T> {
  value: T;
  txId: string;
  blockNumber: bigint;
}

export interface SubmitOptions {
  transient?: Record<string, unknown>;
  endorsingOrganizations?: string[];
}

/** The whole text of a fabric-gateway error: its message and every peer's detail. */
export function errorText(err: unknown): string {
  const e = err as { message?: string; details?: { message?: string; mspId?: string }[] };
  return [e.message ?? String(err), ...(e.details ?? []).map((d) => `${d.mspId ?? ''}: ${d.message ?? ''}`)].join(' | ');
}

/**
 * The newest block each org's peer reported a transaction committed in (fabric-gateway's commit
 * status comes from the submitter's own peer). A read on another org's peer first waits until that
 * peer holds the block too: a test reading its own write there otherwise races the block's delivery
 * (CI, once: a permit read on the regulator's peer before the alarm that suspended it).
 */
const committedOn = new Map<string, Map<string, bigint>>();
const heightKnown = new WeakMap<OrgConnection, Map<string, bigint>>();
const CATCH_UP_MS = 15_000;

/** A person: a CA-enrolled identity with a role (and department/workerId), connected to its org's peer. */
export class Party {
  constructor(
    readonly name: string,
    readonly conn: OrgConnection,
    private readonly profile: ConnectionProfile,
  ) {}

  contract(name: string) {
    return this.conn.gateway.getNetwork(this.profile.channel).getContract(this.profile.chaincode, name);
  }

  /** Submits `contract:tx` with one JSON argument, waits for the commit and requires VALID. */
  async submit<T = any>(tx: string, input: unknown, o: SubmitOptions = {}): Promise<Submitted<T>> {
    const c = await this.committed(tx, input, o);
    if (!c.status.successful) throw new Error(`${tx} by ${this.name} was committed invalid: validation code ${c.status.code}`);
    return { value: JSON.parse(decoder.decode(c.result)) as T, txId: c.txId, blockNumber: c.status.blockNumber };
  }

  /** Submits `contract:tx` and waits for the commit, valid or not: for tests of what the validators refuse. */
  async committed(tx: string, input: unknown, o: SubmitOptions = {}): Promise<{ status: Status; txId: string; result: Uint8Array; rawResult: Uint8Array }> {
    const [c, fn] = splitTx(tx);
    const transientData: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(o.transient ?? {})) transientData[k] = Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
    let endorsed: Transaction | undefined;
    let commit: Commit | undefined;
    const started = Date.now();
    for (let attempt = 1; commit === undefined; attempt++) {
      try {
        endorsed = await this.contract(c)
          .newProposal(fn, {
            arguments: [typeof input === 'string' ? input : JSON.stringify(input)],
            ...(o.transient !== undefined ? { transientData } : {}),
            ...(o.endorsingOrganizations !== undefined ? { endorsingOrganizations: o.endorsingOrganizations } : {}),
          })
          .endorse();
        commit = await endorsed.submit();
      } catch (err) {
        // The services' rule (fabric-client): an endorsement that failed only because a peer is
        // behind the other (its answer differs, or it alone refused) is endorsed again; nothing
        // was ordered yet. A test reading its own write on the other org's peer would otherwise race.
        if (err instanceof EndorseError && classifyFabricError(err, { ownMspId: this.conn.mspId }).transient && Date.now() - started < ENDORSE_BUDGET_MS) {
          await new Promise((r) => setTimeout(r, Math.min(200 * attempt, 2_000)));
          continue;
        }
        throw new Error(`${tx} by ${this.name} failed after ${attempt} endorsement(s) in ${Date.now() - started} ms: ${errorText(err)}`);
      }
    }
    const status = await commit.getStatus();
    const channel = committedOn.get(this.profile.channel) ?? committedOn.set(this.profile.channel, new Map()).get(this.profile.channel)!;
    if (status.blockNumber > (channel.get(this.conn.mspId) ?? -1n)) channel.set(this.conn.mspId, status.blockNumber);
    const txId = commit.getTransactionId();
    // As the services read an answer (fabric-client answerOf): a permit step's is the permit it wrote.
    const rawResult = endorsed!.getResult();
    return { status, txId, result: answerOfEndorsed(endorsed!, this.profile.chaincode), rawResult };
  }

  /** Waits (up to CATCH_UP_MS) until this party's peer holds every block of its channel another org's peer committed a transaction of this run in. */
  private async holdsCommittedBlocks(): Promise<void> {
    let block = -1n;
    for (const [mspId, n] of committedOn.get(this.profile.channel) ?? []) if (mspId !== this.conn.mspId && n > block) block = n;
    const known = heightKnown.get(this.conn) ?? heightKnown.set(this.conn, new Map()).get(this.conn)!;
    if (block < 0n || (known.get(this.profile.channel) ?? 0n) > block) return;
    const deadline = Date.now() + CATCH_UP_MS;
    for (;;) {
      // A peer that does not answer is the evaluation's to report, with its own error.
      const height = await heightOf(this.conn, this.profile.channel).catch(() => undefined);
      if (height === undefined) return;
      known.set(this.profile.channel, height);
      if (height > block || Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async evaluate<T = any>(tx: string, input: unknown): Promise<T> {
    const [c, fn] = splitTx(tx);
    await this.holdsCommittedBlocks();
    try {
      return JSON.parse(decoder.decode(await this.contract(c).evaluateTransaction(fn, typeof input === 'string' ? input : JSON.stringify(input)))) as T;
    } catch (err) {
      throw new Error(`${tx} (evaluate) by ${this.name} failed: ${errorText(err)}`);
    }
  }

  /**
   * A proposal whose channel header carries another timestamp than now (the client chooses it:
   * fabric-gateway's offline-signing API takes the edited bytes and signs them).
   */
  proposalAt(tx: string, input: unknown, timeMs: number) {
    const [c, fn] = splitTx(tx);
    const unsigned = this.contract(c).newProposal(fn, { arguments: [JSON.stringify(input)] });
    const proposed = gatewayProtos.ProposedTransaction.deserializeBinary(unsigned.getBytes());
    const signed = proposed.getProposal()!;
    const proposal = peer.Proposal.deserializeBinary(signed.getProposalBytes_asU8());
    const header = common.Header.deserializeBinary(proposal.getHeader_asU8());
    const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
    // The header always carries a timestamp (fabric-gateway sets it): edited in place.
    const ts = channelHeader.getTimestamp()!;
    ts.setSeconds(Math.floor(timeMs / 1000));
    ts.setNanos((timeMs % 1000) * 1e6);
    channelHeader.setTimestamp(ts);
    header.setChannelHeader(channelHeader.serializeBinary());
    proposal.setHeader(header.serializeBinary());
    signed.setProposalBytes(proposal.serializeBinary());
    proposed.setProposal(signed);
    // Gateway.newProposal(bytes) (used by newSignedProposal): endorse() signs the edited bytes.
    return (this.conn.gateway as unknown as { newProposal(bytes: Uint8Array): Proposal }).newProposal(proposed.serializeBinary());
  }

  /** Submits and expects the coded refusal at endorsement (so nothing is ordered); returns the message. */
  async refused(code: ErrorCode, tx: string, input: unknown, o: SubmitOptions = {}): Promise<string> {
    const [c, fn] = splitTx(tx);
    const transientData: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(o.transient ?? {})) transientData[k] = Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
    let text: string | undefined;
    try {
      await this.contract(c).submit(fn, {
        arguments: [typeof input === 'string' ? input : JSON.stringify(input)],
        ...(o.transient !== undefined ? { transientData } : {}),
        ...(o.endorsingOrganizations !== undefined ? { endorsingOrganizations: o.endorsingOrganizations } : {}),
      });
    } catch (err) {
      text = errorText(err);
    }
    expect(text, `${tx} by ${this.name} should have been refused with ${code}`).to.be.a('string');
    expect(parseErrorCode(text!), text).to.equal(code);
    expect(text).to.match(new RegExp(`${code}: \\S`));
    return text!;
  }

  async evaluateRefused(code: ErrorCode, tx: string, input: unknown): Promise<string> {
    let text: string | undefined;
    try {
      await this.evaluate(tx, input);
    } catch (err) {
      text = (err as Error).message;
    }
    expect(text, `${tx} by ${this.name} should have been refused with ${code}`).to.be.a('string');
    expect(parseErrorCode(text!), text).to.equal(code);
    return text!;
  }
}

function splitTx(tx: string): [string, string] {
  const [c, fn] = tx.split(':');
  if (c === undefined || fn === undefined) throw new Error(`name transactions contract:Transaction, not ${tx}`);
  return [c, fn];
}

/**
 * One test run's people. User names carry a run id, because Fabric CA fixes a name's attributes
 * at registration and every run uses fresh worker ids.
 */
export interface CrewOptions {
  /** The approver's department: the work unit whose permits it approves. */
  workUnit: string;
  /** Worker ids (pseudonyms) the suite's permits name. */
  pic: string;
  approver?: string;
  safety?: string;
  acceptor?: string;
}

/** The enterprise's people of a permit's life, and one regulator. */
export type Crew = Readonly<
  Record<'officer' | 'admin' | 'applicant' | 'pic' | 'analyst' | 'approver' | 'safety' | 'gateway' | 'acceptor' | 'regulator', Party>
>;

export class Cast {
  readonly run = crypto.randomBytes(3).toString('hex');
  private readonly parties: Party[] = [];
  private readonly plain: OrgConnection[] = [];

  constructor(
    readonly profile: ConnectionProfile,
    /** enroll-user.sh's name of each org of the profile, where it is not the org's key (an added enterprise's profile). */
    private readonly caOrgs: Partial<Record<OrganizationName, string>> = {},
  ) {}

  person(label: string, org: OrganizationName, role: string, attrs: UserAttributes = {}): Party {
    const name = `${label}-${this.run}`;
    const p = new Party(name, connectAsUser(this.profile, org, name, role, attrs, this.caOrgs[org] ?? org), this.profile);
    this.parties.push(p);
    return p;
  }

  /** person(), enrolled without blocking, so that several are enrolled at once. */
  async enrol(label: string, org: OrganizationName, role: string, attrs: UserAttributes = {}): Promise<Party> {
    const name = `${label}-${this.run}`;
    const p = new Party(name, await connectAsUserAsync(this.profile, org, name, role, attrs, this.caOrgs[org] ?? org), this.profile);
    this.parties.push(p);
    return p;
  }

  /**
   * The usual parties of a permit's life, named `<prefix>-<part>`. Each is enrolled when first read,
   * so a suite that destructures the ones it needs in `before` enrols exactly those. Worker ids the
   * suite does not give are random.
   */
  crew(prefix: string, o: CrewOptions): Crew {
    const worker = (id: string | undefined) => id ?? workerIdOf(randomIdNumber());
    const enterprise =
      (part: keyof Crew, role: string, attrs: UserAttributes = {}) =>
      () =>
        this.person(`${prefix}-${part}`, 'enterprise', role, attrs);
    const parts: Record<keyof Crew, () => Party> = {
      officer: enterprise('officer', 'credential_officer'),
      admin: enterprise('admin', 'admin'),
      applicant: enterprise('applicant', 'applicant'),
      pic: enterprise('pic', 'person_in_charge', { workerId: o.pic }),
      analyst: enterprise('analyst', 'gas_analyst'),
      approver: enterprise('approver', 'approver', { department: o.workUnit, workerId: worker(o.approver) }),
      safety: enterprise('safety', 'safety_officer', { department: 'safety', workerId: worker(o.safety) }),
      gateway: enterprise('gateway', 'device_gateway'),
      acceptor: enterprise('acceptor', 'acceptor', { workerId: worker(o.acceptor) }),
      regulator: () => this.person(`${prefix}-regulator`, 'regulator', 'regulator'),
    };
    const crew = {} as Record<keyof Crew, Party>;
    for (const [part, enrol] of Object.entries(parts) as [keyof Crew, () => Party][]) {
      let party: Party | undefined;
      Object.defineProperty(crew, part, { enumerable: true, get: () => (party ??= enrol()) });
    }
    return crew;
  }

  /** A cryptogen identity (no ledger.role attribute). */
  cryptogen(org: OrganizationName): Party {
    const conn = connectAs(this.profile, org);
    this.plain.push(conn);
    return new Party(`cryptogen-${org}`, conn, this.profile);
  }

  close(): void {
    for (const p of this.parties) p.conn.close();
    for (const c of this.plain) c.close();
  }
}

/** Pseudonymous worker id: HMAC-SHA256 of the ID number with the enterprise's key (outside the chaincode). */
export const TEST_ENTERPRISE_KEY = crypto.randomBytes(32);
export function workerIdOf(idNumber: string): string {
  return crypto.createHmac('sha256', TEST_ENTERPRISE_KEY).update(idNumber).digest('hex');
}

/** New pseudonymous worker ids for a suite's people, by the names the suite uses for them. */
export function freshWorkerIds<K extends string>(...names: K[]): Record<K, string> {
  return Object.fromEntries(names.map((name) => [name, workerIdOf(randomIdNumber())])) as Record<K, string>;
}

/** A random, plausible 18-digit resident ID number (never a real person's: random digits). */
export function randomIdNumber(): string {
  let s = '1101011980';
  for (let i = 0; i < 8; i++) s += String(crypto.randomInt(10));
  return s;
}

export const iso = (ms: number) => new Date(ms).toISOString();
export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;

/** The validation code of a committed transaction and the MSP ids that endorsed it, through qscc. */
export async function endorsementOf(conn: OrgConnection, channel: string, txId: string): Promise<{ validationCode: number; endorsers: string[] }> {
  const qscc = conn.gateway.getNetwork(channel).getContract('qscc');
  const processed = peer.ProcessedTransaction.deserializeBinary(await qscc.evaluateTransaction('GetTransactionByID', channel, txId));
  const payload = common.Payload.deserializeBinary(processed.getTransactionenvelope()!.getPayload_asU8());
  const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
  const action = peer.ChaincodeActionPayload.deserializeBinary(tx.getActionsList()[0]!.getPayload_asU8());
  const endorsers = action
    .getAction()!
    .getEndorsementsList()
    .map((e) => msp.SerializedIdentity.deserializeBinary(e.getEndorser_asU8()).getMspid())
    .sort();
  return { validationCode: processed.getValidationcode(), endorsers };
}

/** Reads the chain info through qscc: height of the channel. */
export async function heightOf(conn: OrgConnection, channel: string): Promise<bigint> {
  const qscc = conn.gateway.getNetwork(channel).getContract('qscc');
  const bytes = await qscc.evaluateTransaction('GetChainInfo', channel);
  return BigInt(common.BlockchainInfo.deserializeBinary(bytes).getHeight());
}

/**
 * Collects the chaincode events of the given transactions, replaying from startBlock. Returns
 * them by transaction id; fails when a transaction has no event or more than one.
 */
export async function eventsOf(
  conn: OrgConnection,
  profile: ConnectionProfile,
  startBlock: bigint,
  txIds: string[],
): Promise<Map<string, { name: string; body: LedgerEvent; blockNumber: bigint }>> {
  const want = new Set(txIds);
  const out = new Map<string, { name: string; body: LedgerEvent; blockNumber: bigint }>();
  const events = await conn.gateway.getNetwork(profile.channel).getChaincodeEvents(profile.chaincode, { startBlock });
  try {
    for await (const e of events) {
      if (!want.has(e.transactionId)) continue;
      expect(out.has(e.transactionId), `transaction ${e.transactionId} has more than one chaincode event`).to.equal(false);
      out.set(e.transactionId, { name: e.eventName, body: JSON.parse(decoder.decode(e.payload)) as LedgerEvent, blockNumber: e.blockNumber });
      if (out.size === want.size) break;
    }
  } finally {
    events.close();
  }
  return out;
}

/** Who and where for a one-worker permit in the integration tests. */
export interface PermitPeople {
  permitNo: string;
  siteId: string;
  zoneId: string;
  workUnit: string;
  worker: string;
  personInCharge: string;
  guardian: string;
}

/** The work a permit is for: its operation and level, one hazard and one measure, and when. */
export interface PermitWork {
  operationType: string;
  level: string;
  description: string;
  hazard: string;
  measure: string;
  /** Valid for this many hours (2 unless given) from the start. */
  hours?: number;
  /** The start is this long before now (0 unless given). */
  startedMsAgo?: number;
  /** Location fields beyond site and zone (outdoor unless given, not in a fire and explosion zone). */
  location?: Record<string, unknown>;
}

/**
 * A `permit:Apply` input for a one-worker permit with one hazard and one measure;
 * `overrides` replace any field.
 */
export function permitApplication(crew: PermitPeople, work: PermitWork, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const start = Date.now() - (work.startedMsAgo ?? 0);
  return {
    permitNo: crew.permitNo,
    operationType: work.operationType,
    level: work.level,
    location: { siteId: crew.siteId, zoneId: crew.zoneId, fireExplosionZone: false, outdoor: true, ...work.location },
    workUnit: crew.workUnit,
    description: work.description,
    plannedStart: iso(start),
    plannedEnd: iso(start + (work.hours ?? 2) * HOUR),
    workers: [crew.worker],
    personInChargeId: crew.personInCharge,
    guardianId: crew.guardian,
    hazards: [{ hazardId: 'h1', description: work.hazard }],
    measures: [{ measureId: 'm1', hazardId: 'h1', description: work.measure }],
    ...overrides,
  };
}

/** A `permit:Apply` input for an indoor single-level confined-space permit (see permitApplication). */
export function confinedSpaceApplication(
  crew: PermitPeople,
  work: { description: string; hazard: string; measure: string; hours?: number },
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return permitApplication(crew, { operationType: 'confined_space', level: 'single', location: { outdoor: false }, ...work }, overrides);
}

/**
 * A one-worker confined-space permit taken to issued: applied, its one measure confirmed by the
 * person in charge, gas tested (passing), approved at the site and issued.
 */
export async function issuedConfinedSpace(crew: PermitCrew, who: PermitPeople, work: { description: string; hazard: string; measure: string }) {
  const permitNo = who.permitNo;
  await crew.applicant.submit('permit:Apply', confinedSpaceApplication(who, work));
  await crew.pic.submit('permit:AssessRisk', { permitNo, confirmations: [{ measureId: 'm1', confirmedBy: who.personInCharge }] });
  await crew.analyst.submit('permit:RecordGasTest', gasTestInput(permitNo));
  await crew.approver.submit('permit:SignOff', { permitNo, stepId: 'approval', atSite: true });
  await crew.approver.submit('permit:Issue', { permitNo });
}

/** A passing `permit:RecordGasTest` input (no flammable gas, normal oxygen) sampled 2 s ago; `o` replaces any field. */
export function gasTestInput(permitNo: string, o: Record<string, unknown> = {}): Record<string, unknown> {
  return { permitNo, testId: 'gt-1', sampleTakenAt: iso(Date.now() - 2_000), lelClass: 'lel_ge_4', flammableVolPct: 0, oxygenVolPct: 20.9, ...o };
}

/**
 * The guardian training certificate (category `guardian`) that the default templates require of
 * a permit's guardian, valid from a year ago for four years.
 */
export function guardianCertificate(certificateId: string, workerId: string): Record<string, unknown> {
  return certificateInput(certificateId, workerId, 'guardian', '特殊作业监护人', 'Enterprise safety training centre');
}

/** A `credential:AddCertificate` input valid from a year ago for four years, review due in a year. */
export function certificateInput(
  certificateId: string,
  workerId: string,
  category: string,
  item: string,
  authority = 'Provincial emergency management department',
): Record<string, unknown> {
  const now = Date.now();
  return {
    certificateId,
    workerId,
    category,
    item,
    authority,
    validFrom: iso(now - 365 * 24 * HOUR),
    validUntil: iso(now + 3 * 365 * 24 * HOUR),
    reviewDue: iso(now + 365 * 24 * HOUR),
    scanSha256: crypto.createHash('sha256').update(`scan-${category}-${workerId}`).digest('hex'),
  };
}

/** A passing gate check (QR, face, health) of one person on the permit at a gate device. */
export function passingGateCheck(gateCheckId: string, permitNo: string, personId: string, gateDeviceId: string): Record<string, unknown> {
  return { gateCheckId, permitNo, workerId: personId, qr: { passed: true }, face: { scoreBp: 9200, deviceId: gateDeviceId }, health: { passed: true } };
}

/** The people who take a permit from application to signed off. */
export interface PermitCrew {
  applicant: Party;
  pic: Party;
  analyst: Party;
  approver: Party;
}

/**
 * A level-2 hot-work permit taken to signed_off (applied, risk assessed, gas tested, approved at the
 * site), ready to be issued: the SIMOPS tests issue such permits against each other.
 */
export async function signedOffHotWork(
  crew: PermitCrew,
  p: {
    permitNo: string;
    siteId: string;
    zoneId: string;
    x: number;
    worker: string;
    personInChargeId: string;
    guardianId: string;
    workUnit: string;
    activities: string[];
    hours: number;
  },
): Promise<void> {
  const start = Date.now();
  await crew.applicant.submit('permit:Apply', {
    permitNo: p.permitNo,
    operationType: 'hot_work',
    level: '2',
    location: { siteId: p.siteId, zoneId: p.zoneId, coordinates: { x: p.x, y: 0 }, fireExplosionZone: false, outdoor: true },
    workUnit: p.workUnit,
    description: p.activities.length > 0 ? 'Paint the repaired bracket' : 'Weld a support bracket',
    plannedStart: iso(start),
    plannedEnd: iso(start + p.hours * HOUR),
    workers: [p.worker],
    personInChargeId: p.personInChargeId,
    guardianId: p.guardianId,
    activities: p.activities,
    hazards: [{ hazardId: 'h1', description: 'Sparks' }],
    measures: [{ measureId: 'm1', hazardId: 'h1', description: 'Remove combustibles within 10 m' }],
  });
  await crew.pic.submit('permit:AssessRisk', { permitNo: p.permitNo, confirmations: [{ measureId: 'm1', confirmedBy: p.personInChargeId }] });
  await crew.analyst.submit('permit:RecordGasTest', {
    permitNo: p.permitNo,
    testId: 'gt-1',
    sampleTakenAt: iso(Date.now() - 2_000),
    lelClass: 'lel_ge_4',
    flammableVolPct: 0.2,
  });
  await crew.approver.submit('permit:SignOff', { permitNo: p.permitNo, stepId: 'approval', atSite: true });
}
