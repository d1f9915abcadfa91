import { GATE_SNAPSHOT_FORMAT, type GateRole, type GateSnapshot } from '@compliance-ledger/schema';
import { getAddress } from 'ethers';
import { decodeWorkerCode, MalformedCodeError, recoverCodeSigner, type SignedWorkerCode, workerCodeDigest } from './code.js';
import { signedBy } from './secp256k1.js';

export type RefusalCode =
  | 'MALFORMED_CODE'
  | 'SNAPSHOT_TOO_OLD'
  | 'WRONG_PERMIT'
  | 'UNREGISTERED_KEY'
  | 'BAD_SIGNATURE'
  | 'CODE_EXPIRED'
  | 'REVOKED'
  | 'NOT_ON_PERMIT'
  | 'NOT_QUALIFIED';

export type GateDecision =
  | { pass: true; workerId: string; certificateIds: string[]; epoch: number; snapshotHeight: number; reason: 'ok' }
  | { pass: false; code: RefusalCode; reason: string; workerId?: string; snapshotHeight: number };

export interface GateContext {
  permitNo: string;
  role: GateRole;
  /** The gate's clock (ms). */
  nowMs: number;
  /** Refuse when the snapshot was taken longer ago than this. */
  maxSnapshotAgeMs: number;
  /** Online only: the channel's current height, and how many blocks the snapshot may lag behind it. */
  currentHeight?: number;
  maxBlocksBehind?: number;
}

/**
 * Pass or refuse, with the reason, from the code and the snapshot alone (no network). The
 * certificate rule is the chaincode's, restricted to what the code carries: a certificate of each
 * required category in force over the permit's whole window, its review not due before the window
 * ends. The off-the-job rule needs the worker's history and is left to the ledger's re-check.
 */
export function decideAtGate(codeText: string, snapshot: GateSnapshot, g: GateContext): GateDecision {
  const h = snapshot.blockHeight;
  const refuse = (code: RefusalCode, reason: string, workerId?: string): GateDecision => ({
    pass: false,
    code,
    reason,
    snapshotHeight: h,
    ...(workerId !== undefined ? { workerId } : {}),
  });
  if (snapshot.format !== GATE_SNAPSHOT_FORMAT) return refuse('SNAPSHOT_TOO_OLD', `the snapshot format is not ${GATE_SNAPSHOT_FORMAT}; sync again`);
  const age = g.nowMs - snapshot.takenAt;
  if (age > g.maxSnapshotAgeMs) {
    return refuse(
      'SNAPSHOT_TOO_OLD',
      `the snapshot (block height ${h}) is ${Math.round(age / 1000)} s old, over the limit of ${Math.round(g.maxSnapshotAgeMs / 1000)} s; sync it`,
    );
  }
  if (g.currentHeight !== undefined && g.maxBlocksBehind !== undefined && g.currentHeight - h > g.maxBlocksBehind) {
    return refuse(
      'SNAPSHOT_TOO_OLD',
      `the snapshot is at block height ${h}, ${g.currentHeight - h} blocks behind the channel (limit ${g.maxBlocksBehind}); sync it`,
    );
  }
  if (snapshot.permit.permitNo !== g.permitNo) return refuse('WRONG_PERMIT', `the snapshot is for permit ${snapshot.permit.permitNo}, not ${g.permitNo}`);

  let code: SignedWorkerCode;
  try {
    code = decodeWorkerCode(codeText);
  } catch (err) {
    if (err instanceof MalformedCodeError) return refuse('MALFORMED_CODE', err.message);
    throw err;
  }
  const p = code.payload;
  const office = snapshot.signingKeys.find((k) => k.officeId === p.officeId && k.enterprise === p.enterprise);
  if (office === undefined) return refuse('UNREGISTERED_KEY', `credential office ${p.officeId} of ${p.enterprise} has no active key on the ledger`, p.workerId);
  const officeAddress = checksummed(office.address);
  if (!signedByCached(codeText, code, officeAddress)) {
    let signer: string;
    try {
      signer = recoverCodeSigner(code);
    } catch (err) {
      if (err instanceof MalformedCodeError) return refuse('MALFORMED_CODE', err.message, p.workerId);
      throw err;
    }
    const known = snapshot.signingKeys.some((k) => getAddress(k.address) === signer);
    return known
      ? refuse('BAD_SIGNATURE', `the code was changed after signing (its signature does not match credential office ${p.officeId})`, p.workerId)
      : refuse(
          'UNREGISTERED_KEY',
          `the code is signed by ${signer}, which is not a registered credential office key (or it was changed after signing)`,
          p.workerId,
        );
  }
  if (g.nowMs >= p.expiresAt) return refuse('CODE_EXPIRED', `the code expired at ${new Date(p.expiresAt).toISOString()}; fetch a new one`, p.workerId);

  const crew = g.role === 'guardian' ? [snapshot.permit.guardianId] : snapshot.permit.workers;
  if (!crew.includes(p.workerId)) return refuse('NOT_ON_PERMIT', `this person is not the permit's ${g.role}`, p.workerId);
  const current = snapshot.revocationEpochs[p.workerId] ?? 0;
  if (p.epoch < current) {
    return refuse(
      'REVOKED',
      `the code (epoch ${p.epoch}) was superseded or revoked on the ledger (epoch ${current}); the worker needs the current code`,
      p.workerId,
    );
  }

  const { plannedStart, plannedEnd } = snapshot.permit;
  const required = g.role === 'guardian' ? snapshot.permit.guardianCategories : snapshot.permit.workerCategories;
  const used: string[] = [];
  const problems: string[] = [];
  for (const category of required) {
    const candidates = p.certificates.filter((c) => c.category === category);
    const ok = candidates.find(
      (c) => c.validFrom <= plannedStart && c.validUntil >= plannedEnd && c.validUntil > g.nowMs && c.reviewDue >= plannedEnd && c.reviewDue >= g.nowMs,
    );
    if (ok !== undefined) {
      used.push(ok.certificateId);
      continue;
    }
    if (candidates.length === 0) problems.push(`no ${category} certificate (holds ${p.certificates.map((c) => c.category).join(', ') || 'none'})`);
    else problems.push(`${category}: ${candidates.map((c) => `${c.certificateId} ${certificateProblem(c, plannedStart, plannedEnd, g.nowMs)}`).join('; ')}`);
  }
  if (problems.length > 0) return refuse('NOT_QUALIFIED', problems.join(' | '), p.workerId);
  return { pass: true, workerId: p.workerId, certificateIds: used, epoch: p.epoch, snapshotHeight: h, reason: 'ok' };
}

function certificateProblem(c: { validFrom: number; validUntil: number; reviewDue: number }, start: number, end: number, now: number): string {
  const t = (ms: number) => new Date(ms).toISOString();
  if (c.validUntil <= now) return `expired ${t(c.validUntil)}`;
  if (c.validFrom > start) return `valid only from ${t(c.validFrom)}, after the permit starts`;
  if (c.validUntil < end) return `valid only until ${t(c.validUntil)}, before the permit ends`;
  if (c.reviewDue < now) return `review was due ${t(c.reviewDue)} and is overdue`;
  return `review falls due ${t(c.reviewDue)}, before the permit ends`;
}

/** The EIP-55 form of the snapshot's office addresses: a keccak each, the same few all day. */
const addresses = new Map<string, string>();
function checksummed(address: string): string {
  let a = addresses.get(address);
  if (a === undefined) {
    a = getAddress(address);
    if (addresses.size >= 1024) addresses.clear();
    addresses.set(address, a);
  }
  return a;
}

/**
 * Codes whose signature by a given office key was verified: a gate scans the same badges every
 * shift, and a code's text fixes its signature, so a repeat scan skips the curve arithmetic. The
 * key is part of the entry, so a code stays unverified for any other (e.g. rotated) office key.
 */
const verifiedCodes = new Map<string, string>();
const VERIFIED_CODES_MAX = 10_000;

function signedByCached(codeText: string, code: SignedWorkerCode, officeAddress: string): boolean {
  if (verifiedCodes.get(codeText) === officeAddress) return true;
  let ok: boolean;
  try {
    ok = signedBy(workerCodeDigest(code.payload), code.signature, officeAddress);
  } catch {
    return false;
  }
  if (ok) {
    // Oldest first out: a Map iterates in insertion order.
    if (verifiedCodes.size >= VERIFIED_CODES_MAX) verifiedCodes.delete(verifiedCodes.keys().next().value as string);
    verifiedCodes.set(codeText, officeAddress);
  }
  return ok;
}
