/**
 * The gate's offline decision for every case of issue 15, each code first printed as a QR image
 * and read back by an independent decoder (jsQR, and zbarimg where installed).
 */

import { createHash } from 'node:crypto';
import {
  GATE_CHECK_EIP712_DOMAIN,
  GATE_CHECK_SIGNING_TYPES,
  GATE_SNAPSHOT_FORMAT,
  type GateSnapshot,
  signedGateCheckInput,
  type WorkerCodePayload,
} from '@compliance-ledger/schema';
import { expect } from 'chai';
import { verifyTypedData, Wallet } from 'ethers';
import { main } from '../../src/cli.js';
import {
  decideAtGate,
  decodeWorkerCode,
  encodeWorkerCode,
  loadCredentialOfficeKey,
  signGateCheck,
  signWorkerCode,
  workerCodePng,
  workerCodeSvg,
} from '../../src/index.js';
import { decodeWithJsQr, decodeWithZbarimg, hasZbarimg } from '../support/qr.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse('2026-06-01T08:00:00.000Z');
const OFFICE = new Wallet(`0x${'55'.repeat(32)}`);
const STRANGER = new Wallet(`0x${'66'.repeat(32)}`);
const W1 = 'a1'.repeat(32);
const W2 = 'b2'.repeat(32);
const GUARDIAN = 'c3'.repeat(32);

function snapshot(o: Partial<GateSnapshot> = {}): GateSnapshot {
  return {
    format: GATE_SNAPSHOT_FORMAT,
    channel: 'compliance',
    blockHeight: 120,
    takenAt: NOW - 5 * 60_000,
    signingKeys: [{ officeId: 'office-1', enterprise: 'EnterpriseMSP', address: OFFICE.address }],
    revocationEpochs: { [W1]: 3, [W2]: 0, [GUARDIAN]: 1 },
    permit: {
      permitNo: 'HW-1',
      operationType: 'hot_work',
      level: 'special',
      status: 'issued',
      plannedStart: NOW,
      plannedEnd: NOW + 4 * HOUR,
      workers: [W1, W2],
      guardianId: GUARDIAN,
      workerCategories: ['welding_cutting'],
      guardianCategories: ['guardian'],
    },
    ...o,
  };
}

function payload(o: Partial<WorkerCodePayload> = {}): WorkerCodePayload {
  return {
    workerId: W1,
    enterprise: 'EnterpriseMSP',
    officeId: 'office-1',
    issuedAt: NOW - DAY,
    expiresAt: NOW + 30 * DAY,
    epoch: 3,
    certificates: [
      { certificateId: 'cert-w1', category: 'welding_cutting', validFrom: NOW - 365 * DAY, validUntil: NOW + 900 * DAY, reviewDue: NOW + 300 * DAY },
    ],
    ...o,
  };
}

const gate = { permitNo: 'HW-1', role: 'worker' as const, nowMs: NOW, maxSnapshotAgeMs: 15 * 60_000 };

/** Signs, prints as a QR PNG and scans it back: the gate decides on what the scanner read. */
async function scanned(p: WorkerCodePayload, signer: Wallet = OFFICE): Promise<string> {
  const text = await signWorkerCode(signer, p);
  const read = decodeWithJsQr(await workerCodePng(text));
  expect(read).to.equal(text);
  return read;
}

describe('gate-verifier: worker codes through a QR image, decided offline', () => {
  it('prints a code as PNG and SVG that independent decoders read back exactly', async function () {
    const text = await signWorkerCode(OFFICE, payload());
    expect(text).to.match(/^CLW1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(text.length).to.be.below(1000);
    const png = await workerCodePng(text);
    expect(png.subarray(1, 4).toString('latin1')).to.equal('PNG');
    expect(decodeWithJsQr(png)).to.equal(text);
    const svg = await workerCodeSvg(text);
    expect(svg).to.match(/^<svg /);
    if (!hasZbarimg()) this.skip();
    expect(decodeWithZbarimg(png, 'png')).to.equal(text);
    expect(decodeWithZbarimg(Buffer.from(svg), 'svg')).to.equal(text);
    expect(decodeWorkerCode(decodeWithZbarimg(png, 'png')).payload).to.deep.equal(payload());
  });

  it('passes a valid code of a crew member with a qualifying certificate', async () => {
    const d = decideAtGate(await scanned(payload()), snapshot(), gate);
    expect(d).to.deep.equal({ pass: true, workerId: W1, certificateIds: ['cert-w1'], epoch: 3, snapshotHeight: 120, reason: 'ok' });
  });

  it('refuses an expired certificate', async () => {
    const p = payload({ certificates: [{ ...payload().certificates[0]!, validFrom: NOW - 6 * 365 * DAY, validUntil: NOW - DAY }] });
    const d = decideAtGate(await scanned(p), snapshot(), gate);
    expect(d).to.include({ pass: false, code: 'NOT_QUALIFIED' });
    expect(d.reason).to.match(/welding_cutting: cert-w1 expired 2026-05-31/);
  });

  it('refuses a certificate of the wrong category for the permit type', async () => {
    const p = payload({ certificates: [{ ...payload().certificates[0]!, category: 'electrical' }] });
    const d = decideAtGate(await scanned(p), snapshot(), gate);
    expect(d).to.include({ pass: false, code: 'NOT_QUALIFIED', reason: 'no welding_cutting certificate (holds electrical)' });
  });

  it('refuses a code revoked on the ledger: passes on a snapshot from before, refused once synced', async () => {
    const text = await scanned(payload());
    expect(decideAtGate(text, snapshot(), gate).pass).to.equal(true);
    const synced = snapshot({ blockHeight: 125, revocationEpochs: { [W1]: 4, [W2]: 0, [GUARDIAN]: 1 } });
    const d = decideAtGate(text, synced, gate);
    expect(d).to.include({ pass: false, code: 'REVOKED', snapshotHeight: 125 });
    expect(d.reason).to.match(/epoch 3.*epoch 4/);
  });

  it('refuses a tampered payload (another worker id swapped in after signing)', async () => {
    const signed = decodeWorkerCode(await signWorkerCode(OFFICE, payload()));
    const tampered = encodeWorkerCode({ ...signed, payload: { ...signed.payload, workerId: W2, epoch: 0 } });
    const read = decodeWithJsQr(await workerCodePng(tampered));
    const d = decideAtGate(read, snapshot(), gate);
    expect(d).to.include({ pass: false });
    expect(['BAD_SIGNATURE', 'UNREGISTERED_KEY']).to.include((d as { code: string }).code);
    expect(d.reason).to.match(/changed after signing/);
  });

  it('refuses a code signed by a key not registered on the ledger', async () => {
    const d = decideAtGate(await scanned(payload(), STRANGER), snapshot(), gate);
    expect(d).to.include({ pass: false, code: 'UNREGISTERED_KEY' });
    expect(d.reason).to.include(STRANGER.address);
    const other = decideAtGate(await scanned(payload({ officeId: 'office-9' }), STRANGER), snapshot(), gate);
    expect(other).to.include({ pass: false, code: 'UNREGISTERED_KEY', reason: 'credential office office-9 of EnterpriseMSP has no active key on the ledger' });
  });

  it('refuses on a snapshot that is too old, by age and (online) by blocks behind', async () => {
    const text = await scanned(payload());
    const old = decideAtGate(text, snapshot({ takenAt: NOW - 16 * 60_000 }), gate);
    expect(old).to.include({ pass: false, code: 'SNAPSHOT_TOO_OLD' });
    expect(old.reason).to.match(/960 s old, over the limit of 900 s/);
    expect(decideAtGate(text, snapshot({ takenAt: NOW - 16 * 60_000 }), { ...gate, maxSnapshotAgeMs: 20 * 60_000 }).pass).to.equal(true);
    const behind = decideAtGate(text, snapshot(), { ...gate, currentHeight: 200, maxBlocksBehind: 50 });
    expect(behind).to.include({ pass: false, code: 'SNAPSHOT_TOO_OLD' });
    expect(behind.reason).to.match(/80 blocks behind/);
  });

  it('refuses by role, by permit, by code expiry and garbage, and checks the certificate over the whole window', async () => {
    const text = await scanned(payload());
    expect(decideAtGate(text, snapshot(), { ...gate, role: 'guardian' })).to.include({ code: 'NOT_ON_PERMIT' });
    expect(decideAtGate(text, snapshot(), { ...gate, permitNo: 'HW-2' })).to.include({ code: 'WRONG_PERMIT' });
    expect(decideAtGate(await scanned(payload({ expiresAt: NOW - 1 })), snapshot(), gate)).to.include({ code: 'CODE_EXPIRED' });
    expect(decideAtGate('https://example.com/', snapshot(), gate)).to.include({ code: 'MALFORMED_CODE' });
    const endsMidWindow = payload({ certificates: [{ ...payload().certificates[0]!, validUntil: NOW + 2 * HOUR }] });
    expect(decideAtGate(await scanned(endsMidWindow), snapshot(), gate).reason).to.match(/before the permit ends/);
    const guardianCode = payload({
      workerId: GUARDIAN,
      epoch: 1,
      certificates: [{ ...payload().certificates[0]!, certificateId: 'g1', category: 'guardian' }],
    });
    expect(decideAtGate(await scanned(guardianCode), snapshot(), { ...gate, role: 'guardian' })).to.include({ pass: true });
  });

  it('the CLI prints the decision and exits 0 on pass, 1 on refusal, 2 on bad usage', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'gate-cli-'));
    const snap = join(dir, 'snapshot.json');
    writeFileSync(snap, JSON.stringify(snapshot()));
    const text = await scanned(payload());
    const sink = () => {
      const chunks: string[] = [];
      return { chunks, stream: { write: (s: string) => chunks.push(s) } };
    };
    const out = sink();
    expect(await main(['--snapshot', snap, '--permit', 'HW-1', '--code', text], out.stream, sink().stream, NOW)).to.equal(0);
    expect(JSON.parse(out.chunks.join(''))).to.include({ pass: true, workerId: W1 });
    const refused = sink();
    expect(await main(['--snapshot', snap, '--permit', 'HW-1', '--role', 'guardian', '--code', text], refused.stream, sink().stream, NOW)).to.equal(1);
    expect(JSON.parse(refused.chunks.join(''))).to.include({ pass: false, code: 'NOT_ON_PERMIT' });
    const err = sink();
    expect(await main(['--permit', 'HW-1'], sink().stream, err.stream, NOW)).to.equal(2);
    expect(err.chunks.join('')).to.match(/give --snapshot/);
  });

  it('office-key writes a key file of mode 0600 that loads back, never overwrites one, and a file whose address is not its key is refused', async () => {
    const { mkdtempSync, readFileSync, statSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'office-key-')), 'office.json');
    const out: string[] = [];
    expect(await main(['office-key', '--office-id', 'office-7', '--out', file], { write: (t: string) => out.push(t) }, { write: () => 0 })).to.equal(0);
    const printed = JSON.parse(out.join('')) as { officeId: string; address: string };
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    const key = loadCredentialOfficeKey(file);
    expect({ officeId: key.officeId, address: key.wallet.address }).to.deep.equal({ officeId: 'office-7', address: printed.address });
    const err: string[] = [];
    expect(await main(['office-key', '--office-id', 'office-7', '--out', file], { write: () => 0 }, { write: (t: string) => err.push(t) })).to.equal(2);
    expect(err.join('')).to.match(/never overwritten/);
    expect(loadCredentialOfficeKey(file).wallet.address).to.equal(printed.address);
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), address: STRANGER.address }));
    expect(() => loadCredentialOfficeKey(file)).to.throw(/does not belong to the private key/);
  });

  it('signGateCheck signs what the gate saw with the device key: the code by its sha256, the decision, and the face match by a hash only', async () => {
    const device = new Wallet(`0x${'77'.repeat(32)}`);
    const text = await scanned(payload());
    const decision = decideAtGate(text, snapshot(), gate);
    const record = 'score=9412;photo=0xabc';
    const input = await signGateCheck(device, {
      gateCheckId: 'gc-1',
      deviceId: 'gate-1',
      permitNo: 'HW-1',
      role: 'worker',
      code: text,
      decision,
      faceMatched: true,
      healthDeclared: true,
      biometricRecord: record,
      offline: true,
      checkedAt: NOW,
    });
    expect(signedGateCheckInput.safeParse(input).success).to.equal(true);
    expect(input.check).to.include({
      decision: 'pass',
      offline: true,
      snapshotHeight: 120,
      codeSha256: `0x${createHash('sha256').update(text).digest('hex')}`,
      biometricSha256: `0x${createHash('sha256').update(record).digest('hex')}`,
    });
    expect(JSON.stringify(input)).not.to.contain('9412');
    expect(verifyTypedData({ ...GATE_CHECK_EIP712_DOMAIN }, GATE_CHECK_SIGNING_TYPES, input.check, input.signature)).to.equal(device.address);
    const refused = await signGateCheck(device, {
      ...{ gateCheckId: 'gc-2', deviceId: 'gate-1', permitNo: 'HW-1', role: 'worker' as const, code: text },
      decision: decideAtGate(text, snapshot(), { ...gate, role: 'guardian' }),
      ...{ faceMatched: true, healthDeclared: true, biometricRecord: record, offline: false, checkedAt: NOW },
    });
    expect(refused.check.decision).to.equal('NOT_ON_PERMIT');
  });

  it('a repeat scan is decided from the cache only for the same text and the same office key', async () => {
    const text = await scanned(payload());
    expect(decideAtGate(text, snapshot(), gate)).to.include({ pass: true });
    expect(decideAtGate(text, snapshot(), gate)).to.include({ pass: true });
    // The same code against a snapshot whose office-1 key is another (rotated) key: not the cached verification.
    const rotated = snapshot({ signingKeys: [{ officeId: 'office-1', enterprise: 'EnterpriseMSP', address: STRANGER.address }] });
    expect(decideAtGate(text, rotated, gate)).to.include({ pass: false, code: 'UNREGISTERED_KEY' });
    // One character of the signature changed: another text, verified afresh and refused.
    const [tag, body, sig] = text.split('.');
    const flipped = `${tag}.${body}.${sig!.slice(0, 10)}${sig![10] === 'A' ? 'B' : 'A'}${sig!.slice(11)}`;
    expect(decideAtGate(flipped, snapshot(), gate).pass).to.equal(false);
  });
});
