import {
  type Actor,
  type CertificateRecord,
  type CertificateStatus,
  type DeviceRecord,
  decodeWorkerCode,
  type GateCheckPhoto,
  type GateCheckRecord,
  type GateSnapshotState,
  implicitCollectionOf,
  LIVE_PERMIT_STATUSES,
  type PermitRecord,
  type PersonalDataAccessRecord,
  type SignedGateCheckInput,
  type SignedWorkerCode,
  TRANSIENT_KEY,
  TX_TRANSIENT_SCHEMAS,
  type WorkerRecord,
} from '@compliance-ledger/schema';
import { getAddress } from 'ethers';
import { Context, Info } from 'fabric-contract-api';
import type { z } from 'zod';
import {
  certificateAlerts,
  certificateConditionAt,
  certificateProblem,
  certificateTermsProblem,
  nextReviewProblem,
  reviewWindowProblem,
} from './certificate-rules';
import { MINUTE_MS, parseIso, toIso, txTimeIso, txTimeMs } from './clock';
import { categoriesFor, certificateIdsOf, listGateChecks, listWorkerCertificates, loadWorker, offJobHolder, workerKey } from './credential-store';
import { AlreadyExistsError, ForbiddenError, InvalidStateError, NotFoundError, RuleViolationError, ValidationError } from './errors';
import { faceMatchPassed, gateCheckPassed } from './gate-rules';
import { assertGateCheckSignedBy, codeSha256, workerCodeSigner } from './gate-signature';
import { canonicalJson, toBytes } from './json';
import { LedgerContract } from './ledger-contract';
import { assertMayAccess, bindToOwner, mayAccess } from './ownership';
import { loadPermit } from './permit-store';
import { exists, getJson, KEYS, key, listByPartialKey, mustGetJson, putJson, putMarker } from './store';
import { loadPolicy } from './template-contract';
import { Evaluate, emit, parseInput, putAndEmit, run, Submit } from './tx';
import { assertNotExpired } from './validity';

const CERTIFICATE_STATUS_MOVES: Record<CertificateStatus, readonly CertificateStatus[]> = {
  valid: ['suspended', 'revoked'],
  suspended: ['valid', 'revoked'],
  revoked: [],
};

/** Reads and validates a transient entry; personal fields never travel as ordinary arguments. */
function readTransient<S extends z.ZodType>(ctx: Context, name: string, schema: S): z.output<S> {
  const raw = ctx.stub.getTransient().get(name);
  if (raw === undefined || raw.length === 0) throw new ValidationError(`put the personal fields in the transient map under "${name}"`);
  const source = { name: `transient "${name}"`, whole: 'the entry', notJson: `transient "${name}" is not valid JSON` };
  return parseInput(schema, Buffer.from(raw).toString('utf8'), source);
}

/**
 * Personal data is handled by the caller's own enterprise's peers only, in that enterprise's own
 * implicit collection: no other enterprise's peer and not the regulator's ever holds it. A peer's
 * MSP id reaches the chaincode when its chaincode server runs with CORE_PEER_LOCALMSPID (one
 * server per org); then any other org's peer refuses, so a client that sends transient personal
 * data to another org's peer gets FORBIDDEN instead of an endorsement. A server shared by the
 * peers of several orgs has no such variable and cannot tell: clients must then endorse these
 * transactions on their own org only (the chaincode README says how). Returns the collection.
 */
function ownPersonalDataCollection(ctx: Context, actor: Actor): string {
  let peerMsp: string | undefined;
  try {
    peerMsp = ctx.stub.getMspID();
  } catch {
    peerMsp = undefined;
  }
  if (peerMsp !== undefined && peerMsp !== actor.mspId) {
    throw new ForbiddenError(
      `personal data of ${actor.mspId} is handled only by ${actor.mspId} peers, not by this ${peerMsp} peer; ` +
        `endorse with endorsingOrganizations [${actor.mspId}]`,
    );
  }
  return implicitCollectionOf(actor.mspId);
}

/** A worker of the caller's own enterprise (the regulator may act on any). */
async function loadOwnWorker(ctx: Context, actor: Actor, workerId: string): Promise<WorkerRecord> {
  const w = await loadWorker(ctx, workerId);
  assertMayAccess(actor, w.registeredBy.mspId, `worker ${workerId.slice(0, 12)}…`);
  return w;
}

/** Every change to a worker's certificates supersedes the worker codes issued before it; `change` goes in the same write. */
async function bumpCredentialEpoch(ctx: Context, workerId: string, change: Partial<WorkerRecord> = {}): Promise<void> {
  const w = await loadWorker(ctx, workerId);
  await putJson(ctx, workerKey(ctx, workerId), { ...w, ...change, credentialEpoch: (w.credentialEpoch ?? 0) + 1 });
}

/** The permit a gate check is for: issued (or later, still live) and not past its validity. */
async function loadGatePermit(ctx: Context, permitNo: string, now: number): Promise<PermitRecord> {
  const permit = await loadPermit(ctx, permitNo);
  assertNotExpired(permit, now);
  if (!LIVE_PERMIT_STATUSES.includes(permit.status)) {
    throw new InvalidStateError(`gate checks are for issued permits; permit ${permit.permitNo} is ${permit.status}`);
  }
  return permit;
}

/** The ledger's own certificate check of one crew member against the permit (the gate's claim is never trusted). */
async function qualificationOnLedger(
  ctx: Context,
  permit: PermitRecord,
  worker: WorkerRecord,
  now: number,
): Promise<GateCheckRecord['methods']['certificate']> {
  const certs = await listWorkerCertificates(ctx, worker.workerId);
  const start = parseIso(permit.plannedStart);
  const end = parseIso(permit.plannedEnd);
  const required = categoriesFor(permit, permit.template, worker.workerId);
  const holder = offJobHolder(permit, worker);
  const qualifying = certs.filter((c) => required.some((cat) => certificateProblem(c, cat, start, end, now, holder) === null));
  const missingCats = required.filter((cat) => !qualifying.some((c) => c.category === cat));
  return {
    certificateIds: qualifying.map((c) => c.certificateId),
    passed: worker.status === 'active' && missingCats.length === 0,
    reason: worker.status !== 'active' ? `worker is ${worker.status}` : missingCats.length > 0 ? `no qualifying ${missingCats.join(', ')} certificate` : 'ok',
  };
}

interface LedgerCodeCheck {
  decision: string;
  reason: string;
  officeId: string;
  epoch: number;
}

/**
 * The worker code as the ledger sees it now: signed by an active credential office key of the
 * enterprise it names, not expired, the current epoch (nothing changed since it was issued).
 */
async function checkCodeOnLedger(ctx: Context, code: SignedWorkerCode, worker: WorkerRecord, now: number): Promise<LedgerCodeCheck> {
  const p = code.payload;
  const refuse = (decision: string, reason: string): LedgerCodeCheck => ({ decision, reason, officeId: p.officeId, epoch: p.epoch });
  const office = await getJson<DeviceRecord>(ctx, key(ctx, KEYS.device, [p.officeId]));
  if (office === undefined || office.kind !== 'credential_office' || office.status !== 'active' || office.ownerMsp !== p.enterprise) {
    return refuse('UNREGISTERED_KEY', `credential office ${p.officeId} of ${p.enterprise} has no active key on the ledger`);
  }
  const signer = workerCodeSigner(code);
  if (signer === null || signer !== getAddress(office.address)) {
    return refuse('BAD_SIGNATURE', `the code is not signed by the key of credential office ${p.officeId} (or was changed after signing)`);
  }
  if (now >= p.expiresAt) return refuse('CODE_EXPIRED', `the code expired at ${toIso(p.expiresAt)}`);
  const current = worker.credentialEpoch ?? 0;
  if (p.epoch < current) return refuse('REVOKED', `the code (epoch ${p.epoch}) was superseded or revoked on the ledger (epoch ${current})`);
  return { decision: 'pass', reason: 'ok', officeId: p.officeId, epoch: p.epoch };
}

async function hasPrivate(ctx: Context, collection: string, k: string): Promise<boolean> {
  const h = await ctx.stub.getPrivateDataHash(collection, k);
  return !!h && h.length > 0;
}

/**
 * Worker registry, certificates and gate checks. Public state holds only pseudonymous ids and
 * outcomes; names, ID numbers and certificate numbers live in the enterprise's implicit
 * collection, written by transactions that touch nothing else, so that only enterprise peers
 * need to endorse them and see the transient data.
 */
/**
 * The photo of the person at the gate: the one the device signed (sha256 and media type), stored by
 * the gateway, which checked the bytes; only the hash and the CID go into the block. A signed photo
 * without its stored copy is refused, so a check cannot claim a photo nobody can produce.
 */
function gatePhoto(d: SignedGateCheckInput): GateCheckPhoto | undefined {
  const c = d.check;
  if ((c.photoSha256 === undefined) !== (c.photoType === undefined)) {
    throw new ValidationError('check.photoSha256 and check.photoType go together: sign both for a check with a photo, neither without');
  }
  if (c.photoSha256 === undefined) {
    if (d.photo !== undefined) throw new ValidationError('photo is given but the gate did not sign one (check.photoSha256); sign the photo with the check');
    return undefined;
  }
  if (d.photo === undefined) throw new ValidationError('the gate signed a photo (check.photoSha256) but none is stored with the check; send its bytes');
  if (`0x${d.photo.sha256}` !== c.photoSha256.toLowerCase()) {
    throw new ValidationError(`the stored photo's sha256 ${d.photo.sha256} is not the one the gate signed (${c.photoSha256.toLowerCase()})`);
  }
  if (d.photo.mediaType !== c.photoType) throw new ValidationError(`the stored photo is ${d.photo.mediaType}, the gate signed ${c.photoType}`);
  return { cid: d.photo.cid, sha256: d.photo.sha256, sizeBytes: d.photo.sizeBytes, mediaType: d.photo.mediaType };
}

@Info({ title: 'Credentials', description: 'Worker registry, special-operation certificates, gate checks' })
export class CredentialContract extends LedgerContract {
  constructor() {
    super('credential');
  }

  @Submit()
  async RegisterWorker(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:RegisterWorker', input, async ({ actor, data: d }) => {
      const k = workerKey(ctx, d.workerId);
      if (await exists(ctx, k)) throw new AlreadyExistsError('this worker id is already registered');
      const w: WorkerRecord = {
        docType: 'worker',
        workerId: d.workerId,
        status: 'active',
        registeredBy: actor,
        registeredAt: txTimeIso(ctx),
        lastWorkedAt: null,
        statusHistory: [],
        credentialEpoch: 0,
      };
      const out = await putAndEmit(ctx, k, 'WorkerRegistered', w);
      await bindToOwner(ctx, k, actor.mspId);
      return out;
    });
  }

  @Submit()
  async SetWorkerStatus(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:SetWorkerStatus', input, async ({ actor, data: d }) => {
      const w = await loadOwnWorker(ctx, actor, d.workerId);
      if (w.status === d.status) throw new InvalidStateError(`the worker is already ${d.status}`);
      const after: WorkerRecord = {
        ...w,
        status: d.status,
        statusHistory: [...w.statusHistory, { status: d.status, reason: d.reason, actor, at: txTimeIso(ctx) }],
        credentialEpoch: (w.credentialEpoch ?? 0) + 1,
      };
      return putAndEmit(ctx, workerKey(ctx, d.workerId), 'WorkerStatusChanged', after);
    });
  }

  /** Transient `personal`: {name, idNumber, phone?, salt}. Writes only the private collection. */
  @Submit()
  async StoreWorkerPersonalData(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:StoreWorkerPersonalData', input, async ({ actor, data: d }) => {
      const collection = ownPersonalDataCollection(ctx, actor);
      const personal = readTransient(ctx, TRANSIENT_KEY, TX_TRANSIENT_SCHEMAS['credential:StoreWorkerPersonalData']);
      await loadOwnWorker(ctx, actor, d.workerId);
      await ctx.stub.putPrivateData(collection, key(ctx, KEYS.workerPersonal, [d.workerId]), toBytes(personal));
      const payload = { workerId: d.workerId, collection };
      emit(ctx, 'WorkerPersonalDataStored', payload);
      return canonicalJson(payload);
    });
  }

  @Submit()
  async AddCertificate(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:AddCertificate', input, async ({ actor, data: d }) => {
      const k = key(ctx, KEYS.certificate, [d.certificateId]);
      if (await exists(ctx, k)) throw new AlreadyExistsError(`certificate ${d.certificateId} is already recorded`);
      const terms = certificateTermsProblem(parseIso(d.validFrom), parseIso(d.validUntil));
      if (terms !== null) throw new ValidationError(`${terms}; check validFrom and validUntil`);
      const w = await loadOwnWorker(ctx, actor, d.workerId);
      // The worker record names its certificates.
      await bumpCredentialEpoch(ctx, d.workerId, { certificateIds: [...(await certificateIdsOf(ctx, d.workerId, w)), d.certificateId] });
      const c: CertificateRecord = {
        docType: 'certificate',
        ...d,
        validFrom: toIso(parseIso(d.validFrom)),
        validUntil: toIso(parseIso(d.validUntil)),
        reviewDue: toIso(parseIso(d.reviewDue)),
        status: 'valid',
        addedBy: actor,
        addedAt: txTimeIso(ctx),
        reviews: [],
        practicalExams: [],
        statusHistory: [],
      };
      await putJson(ctx, k, c);
      await bindToOwner(ctx, k, actor.mspId);
      await putMarker(ctx, key(ctx, KEYS.certificateByWorker, [d.workerId, d.certificateId]));
      emit(ctx, 'CertificateAdded', c);
      return canonicalJson(c);
    });
  }

  /** Transient `personal`: {certificateNo, salt}. The number often equals the ID number. */
  @Submit()
  async StoreCertificateNumber(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:StoreCertificateNumber', input, async ({ actor, data: d }) => {
      const collection = ownPersonalDataCollection(ctx, actor);
      const personal = readTransient(ctx, TRANSIENT_KEY, TX_TRANSIENT_SCHEMAS['credential:StoreCertificateNumber']);
      const c = await mustGetJson<CertificateRecord>(ctx, key(ctx, KEYS.certificate, [d.certificateId]), `certificate ${d.certificateId}`);
      assertMayAccess(actor, c.addedBy.mspId, `certificate ${d.certificateId}`);
      await ctx.stub.putPrivateData(collection, key(ctx, KEYS.certificatePersonal, [d.certificateId]), toBytes(personal));
      const payload = { certificateId: d.certificateId, collection };
      emit(ctx, 'CertificateNumberStored', payload);
      return canonicalJson(payload);
    });
  }

  @Submit()
  async SetCertificateStatus(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:SetCertificateStatus', input, async ({ actor, data: d }) => {
      const k = key(ctx, KEYS.certificate, [d.certificateId]);
      const c = await mustGetJson<CertificateRecord>(ctx, k, `certificate ${d.certificateId}`);
      if (!CERTIFICATE_STATUS_MOVES[c.status].includes(d.status)) {
        throw new InvalidStateError(`a ${c.status} certificate cannot become ${d.status}${c.status === 'revoked' ? '; revocation is final' : ''}`);
      }
      const after: CertificateRecord = {
        ...c,
        status: d.status,
        statusHistory: [...c.statusHistory, { status: d.status, reason: d.reason, actor, at: txTimeIso(ctx) }],
      };
      await putJson(ctx, k, after);
      await bumpCredentialEpoch(ctx, c.workerId);
      emit(ctx, 'CertificateStatusChanged', after);
      return canonicalJson(after);
    });
  }

  @Submit()
  async RecordCertificateReview(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:RecordCertificateReview', input, async ({ actor, data: d }) => {
      const k = key(ctx, KEYS.certificate, [d.certificateId]);
      const c = await mustGetJson<CertificateRecord>(ctx, k, `certificate ${d.certificateId}`);
      if (c.status !== 'valid') throw new InvalidStateError(`a ${c.status} certificate cannot be reviewed`);
      const problem = reviewWindowProblem(c, txTimeMs(ctx));
      if (problem !== null) throw new RuleViolationError(problem);
      const next = parseIso(d.nextReviewDue);
      if (next <= parseIso(c.reviewDue)) throw new ValidationError('nextReviewDue must be after the current review due date');
      if (next > parseIso(c.validUntil)) throw new ValidationError('nextReviewDue must not be after the certificate expires');
      const interval = nextReviewProblem(parseIso(c.reviewDue), next);
      if (interval !== null) throw new ValidationError(interval);
      const after: CertificateRecord = {
        ...c,
        reviewDue: toIso(next),
        reviews: [...c.reviews, { previousDue: c.reviewDue, nextDue: toIso(next), actor, at: txTimeIso(ctx) }],
      };
      await putJson(ctx, k, after);
      await bumpCredentialEpoch(ctx, c.workerId);
      emit(ctx, 'CertificateReviewed', after);
      return canonicalJson(after);
    });
  }

  /**
   * A practical exam passed again after six months or more off the job (特种作业). It counts from
   * the day it was taken, which may not lie in the future or before the certificate's start.
   */
  @Submit()
  async RecordPracticalExam(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:RecordPracticalExam', input, async ({ actor, data: d }) => {
      const k = key(ctx, KEYS.certificate, [d.certificateId]);
      const c = await mustGetJson<CertificateRecord>(ctx, k, `certificate ${d.certificateId}`);
      if (c.status !== 'valid') throw new InvalidStateError(`a ${c.status} certificate cannot be re-examined; it needs a new certificate`);
      const examined = parseIso(d.examinedAt);
      if (examined > txTimeMs(ctx)) throw new ValidationError('examinedAt lies in the future; record the exam once it has been passed');
      if (examined < parseIso(c.validFrom)) throw new ValidationError(`examinedAt is before the certificate's start ${c.validFrom}`);
      const after: CertificateRecord = { ...c, practicalExams: [...(c.practicalExams ?? []), { examinedAt: toIso(examined), actor, at: txTimeIso(ctx) }] };
      await putJson(ctx, k, after);
      await bumpCredentialEpoch(ctx, c.workerId);
      emit(ctx, 'PracticalExamRecorded', after);
      return canonicalJson(after);
    });
  }

  /**
   * Legacy: records the outcome of each method as the caller asserts it (QR `passed`, the face
   * score in the clear). Kept because the permit-lifecycle tests, the ingest simulator's network
   * fixture and the gateway's hot-work flow activate permits through it; new gates use
   * RecordSignedGateCheck, whose device signature and worker code the chaincode verifies.
   */
  @Submit()
  async RecordGateCheck(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:RecordGateCheck', input, async ({ actor, data: d }) => {
      const now = txTimeMs(ctx);
      const permit = await loadGatePermit(ctx, d.permitNo, now);
      if (!permit.workers.includes(d.workerId) && d.workerId !== permit.guardianId) {
        throw new RuleViolationError('this person is neither a worker nor the guardian on the permit and may not enter under it');
      }
      const k = key(ctx, KEYS.gateCheck, [d.permitNo, d.workerId, d.gateCheckId]);
      if (await exists(ctx, k)) throw new AlreadyExistsError(`gate check ${d.gateCheckId} is already recorded`);
      const device = await getJson<DeviceRecord>(ctx, key(ctx, KEYS.device, [d.face.deviceId]));
      if (device === undefined) throw new NotFoundError(`face device ${d.face.deviceId} is not registered`);
      if (device.status !== 'active' || (device.kind !== 'gate' && device.kind !== 'camera')) {
        throw new RuleViolationError(`device ${device.deviceId} is ${device.status} ${device.kind}; face checks need an active gate or camera`);
      }
      const policy = await loadPolicy(ctx);
      const worker = await loadWorker(ctx, d.workerId);
      const methods: GateCheckRecord['methods'] = {
        qr: { passed: d.qr.passed },
        face: {
          scoreBp: d.face.scoreBp,
          deviceId: d.face.deviceId,
          templateSha256: d.face.templateSha256,
          passed: faceMatchPassed(d.face.scoreBp, policy.faceMatchMinScoreBp),
        },
        certificate: await qualificationOnLedger(ctx, permit, worker, now),
        health: { passed: d.health.passed },
      };
      const record: GateCheckRecord = {
        docType: 'gate_check',
        gateCheckId: d.gateCheckId,
        permitNo: d.permitNo,
        workerId: d.workerId,
        at: toIso(now),
        methods,
        passed: gateCheckPassed(methods),
        recordedBy: actor,
        txId: ctx.stub.getTxID(),
      };
      return putAndEmit(ctx, k, 'GateCheckRecorded', record);
    });
  }

  /**
   * One person, one code, as the gate device signed it. The chaincode verifies the device's
   * signature against its registered key (a forged or altered check is refused and nothing is
   * written), then decides itself on the scanned worker code and the worker's certificates on the
   * ledger now, and records both decisions: an offline gate on a stale snapshot, or a faulty gate,
   * shows up as `device.disagreement`. Only hashes of the face match go on the ledger.
   */
  @Submit()
  async RecordSignedGateCheck(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:RecordSignedGateCheck', input, async ({ actor, data: d }) => {
      const c = d.check;
      const now = txTimeMs(ctx);
      const device = await getJson<DeviceRecord>(ctx, key(ctx, KEYS.device, [c.deviceId]));
      if (device === undefined) throw new NotFoundError(`gate device ${c.deviceId} is not registered`);
      if (device.kind !== 'gate' || device.status !== 'active') {
        throw new RuleViolationError(`device ${device.deviceId} is ${device.status} ${device.kind}; signed gate checks come from an active gate`);
      }
      const photo = gatePhoto(d);
      const signer = assertGateCheckSignedBy(c, d.signature, device.address);
      if (codeSha256(d.code) !== c.codeSha256.toLowerCase())
        throw new ValidationError('check.codeSha256 is not the sha256 of code; send the code the gate scanned');
      let code: SignedWorkerCode;
      try {
        code = decodeWorkerCode(d.code);
      } catch (err) {
        throw new ValidationError(`code is not a worker code: ${err instanceof Error ? err.message : 'malformed'}`);
      }
      const workerId = code.payload.workerId;
      const permit = await loadGatePermit(ctx, c.permitNo, now);
      const crew = c.role === 'guardian' ? [permit.guardianId] : permit.workers;
      if (!crew.includes(workerId)) throw new RuleViolationError(`the code's holder is not the permit's ${c.role} and may not enter under it`);
      const k = key(ctx, KEYS.gateCheck, [c.permitNo, workerId, c.gateCheckId]);
      if (await exists(ctx, k)) throw new AlreadyExistsError(`gate check ${c.gateCheckId} is already recorded`);
      const worker = await loadWorker(ctx, workerId);
      const onLedger = await checkCodeOnLedger(ctx, code, worker, now);
      const certificate = await qualificationOnLedger(ctx, permit, worker, now);
      const ledgerDecision = onLedger.decision !== 'pass' ? onLedger.decision : certificate.passed ? 'pass' : 'NOT_QUALIFIED';
      const ledgerReason = onLedger.decision !== 'pass' ? onLedger.reason : certificate.reason;
      const methods: GateCheckRecord['methods'] = {
        qr: { passed: onLedger.decision === 'pass' },
        face: { scoreBp: null, deviceId: c.deviceId, templateSha256: null, passed: c.faceMatched },
        certificate,
        health: { passed: c.healthDeclared },
      };
      const record: GateCheckRecord = {
        docType: 'gate_check',
        gateCheckId: c.gateCheckId,
        permitNo: c.permitNo,
        workerId,
        at: toIso(now),
        methods,
        // Entry needs the gate and the ledger to agree on pass: a gate's pass the ledger refuses does not count.
        passed: c.decision === 'pass' && ledgerDecision === 'pass' && c.faceMatched && c.healthDeclared,
        recordedBy: actor,
        txId: ctx.stub.getTxID(),
        device: {
          deviceId: c.deviceId,
          signer,
          signature: d.signature,
          role: c.role,
          codeSha256: c.codeSha256.toLowerCase(),
          codeEpoch: onLedger.epoch,
          officeId: onLedger.officeId,
          gateDecision: c.decision,
          ledgerDecision,
          ledgerReason,
          disagreement: (c.decision === 'pass') !== (ledgerDecision === 'pass'),
          offline: c.offline,
          snapshotHeight: c.snapshotHeight,
          checkedAt: toIso(c.checkedAt),
          biometricSha256: c.biometricSha256.toLowerCase(),
          faceMatched: c.faceMatched,
          healthDeclared: c.healthDeclared,
          ...(photo ? { photo } : {}),
        },
      };
      return putAndEmit(ctx, k, 'GateCheckRecorded', record);
    });
  }

  /**
   * Erasure on request (PIPL): purges the private value and its history from the enterprise's
   * peers. Only the hash stays on the chain, and without the salt it reveals nothing.
   */
  @Submit()
  async ErasePersonalData(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:ErasePersonalData', input, async ({ actor, data: d }) => {
      const collection = ownPersonalDataCollection(ctx, actor);
      const k = d.subject.kind === 'worker' ? key(ctx, KEYS.workerPersonal, [d.subject.id]) : key(ctx, KEYS.certificatePersonal, [d.subject.id]);
      if (!(await hasPrivate(ctx, collection, k))) throw new NotFoundError(`no personal data stored for ${d.subject.kind} ${d.subject.id}`);
      await ctx.stub.purgePrivateData(collection, k);
      const payload = { subject: d.subject, reason: d.reason, collection, erasedBy: actor };
      emit(ctx, 'PersonalDataErased', payload);
      return canonicalJson(payload);
    });
  }

  /** Every read of personal data is preceded by this logged transaction (PIPL: access is logged). */
  @Submit()
  async LogPersonalDataAccess(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:LogPersonalDataAccess', input, async ({ actor, data: d }) => {
      const k = key(ctx, KEYS.personalDataAccess, [d.accessId]);
      if (await exists(ctx, k)) throw new AlreadyExistsError(`access ${d.accessId} is already logged; use a new id`);
      const subjectKey = d.subject.kind === 'worker' ? workerKey(ctx, d.subject.id) : key(ctx, KEYS.certificate, [d.subject.id]);
      const subject = await getJson<WorkerRecord | CertificateRecord>(ctx, subjectKey);
      const owner = subject === undefined ? undefined : 'registeredBy' in subject ? subject.registeredBy.mspId : subject.addedBy.mspId;
      // Another enterprise's worker or certificate reads as missing: nobody logs access to data they cannot hold.
      if (owner === undefined || !mayAccess(actor, owner)) throw new NotFoundError(`${d.subject.kind} ${d.subject.id} does not exist`);
      const rec: PersonalDataAccessRecord = {
        docType: 'personal_data_access',
        accessId: d.accessId,
        subject: d.subject,
        purpose: d.purpose,
        accessor: actor,
        at: txTimeIso(ctx),
        txId: ctx.stub.getTxID(),
      };
      return putAndEmit(ctx, k, 'PersonalDataAccessLogged', rec);
    });
  }

  /**
   * Evaluate only (never submit: a submitted response lands in the block). Needs a logged access
   * by the same identity within the policy's window; must be evaluated on an enterprise peer.
   */
  @Evaluate()
  async ReadPersonalData(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:ReadPersonalData', input, async ({ actor, data: d }) => {
      const collection = ownPersonalDataCollection(ctx, actor);
      const access = await getJson<PersonalDataAccessRecord>(ctx, key(ctx, KEYS.personalDataAccess, [d.accessId]));
      if (access === undefined) throw new ForbiddenError(`log the access first with LogPersonalDataAccess (access ${d.accessId} not found)`);
      if (access.accessor.certificateId !== actor.certificateId) throw new ForbiddenError('the access was logged by another identity');
      const policy = await loadPolicy(ctx);
      if (txTimeMs(ctx) - parseIso(access.at) > policy.personalDataAccessWindowMinutes * MINUTE_MS) {
        throw new ForbiddenError(`the logged access is older than ${policy.personalDataAccessWindowMinutes} min; log a new one`);
      }
      const k = access.subject.kind === 'worker' ? key(ctx, KEYS.workerPersonal, [access.subject.id]) : key(ctx, KEYS.certificatePersonal, [access.subject.id]);
      const bytes = await ctx.stub.getPrivateData(collection, k);
      if (!bytes || bytes.length === 0) throw new NotFoundError(`no personal data stored for ${access.subject.kind} ${access.subject.id}`);
      return Buffer.from(bytes).toString('utf8');
    });
  }

  @Evaluate()
  async GetWorker(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:GetWorker', input, async ({ actor, data: d }) => {
      const w = await loadOwnWorker(ctx, actor, d.workerId);
      const personalDataStored = await hasPrivate(ctx, implicitCollectionOf(w.registeredBy.mspId), key(ctx, KEYS.workerPersonal, [d.workerId]));
      return canonicalJson({ ...w, personalDataStored });
    });
  }

  @Evaluate()
  async GetCertificate(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:GetCertificate', input, async ({ actor, data: d }) => {
      const c = await mustGetJson<CertificateRecord>(ctx, key(ctx, KEYS.certificate, [d.certificateId]), `certificate ${d.certificateId}`);
      assertMayAccess(actor, c.addedBy.mspId, `certificate ${d.certificateId}`);
      const now = txTimeMs(ctx);
      return canonicalJson({
        ...c,
        condition: certificateConditionAt(c, now),
        alerts: certificateAlerts(c, now),
        numberStored: await hasPrivate(ctx, implicitCollectionOf(c.addedBy.mspId), key(ctx, KEYS.certificatePersonal, [d.certificateId])),
      });
    });
  }

  @Evaluate()
  async ListCertificates(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:ListCertificates', input, async ({ data: d }) => {
      const now = txTimeMs(ctx);
      return canonicalJson((await listWorkerCertificates(ctx, d.workerId)).map((c) => ({ ...c, condition: certificateConditionAt(c, now) })));
    });
  }

  /**
   * What a gate needs to decide offline for one permit: the active credential office keys, the
   * crew's credential epochs and the categories each role must hold. The caller adds the channel
   * height (gate-verifier's snapshot builder), which a chaincode cannot see.
   */
  @Evaluate()
  async GateSnapshot(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:GateSnapshot', input, async ({ data: d }) => {
      const permit = await loadPermit(ctx, d.permitNo);
      const offices = (await listByPartialKey<DeviceRecord>(ctx, KEYS.device, [])).map((e) => e.value);
      const revocationEpochs: Record<string, number> = {};
      for (const p of [...permit.workers, permit.guardianId]) revocationEpochs[p] = (await loadWorker(ctx, p)).credentialEpoch ?? 0;
      const state: GateSnapshotState = {
        signingKeys: offices
          .filter((o) => o.kind === 'credential_office' && o.status === 'active')
          .map((o) => ({ officeId: o.deviceId, enterprise: o.ownerMsp, address: o.address })),
        revocationEpochs,
        permit: {
          permitNo: permit.permitNo,
          operationType: permit.operationType,
          level: permit.level,
          status: permit.status,
          plannedStart: parseIso(permit.plannedStart),
          plannedEnd: parseIso(permit.plannedEnd),
          workers: permit.workers,
          guardianId: permit.guardianId,
          workerCategories: permit.template.requiredCertificateCategories,
          guardianCategories: categoriesFor(permit, permit.template, permit.guardianId),
        },
      };
      return canonicalJson(state);
    });
  }

  @Evaluate()
  async ListGateChecks(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'credential:ListGateChecks', input, async ({ data: d }) => {
      return canonicalJson(await listGateChecks(ctx, d.permitNo));
    });
  }
}
