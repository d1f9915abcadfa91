/**
 * The gate's offline decision for every case of issue 15, each code first printed as a QR image
 * and read back by an independent decoder (jsQR, and zbarimg where installed).
 */
import { GATE_SNAPSHOT_FORMAT, type GateSnapshot, type WorkerCodePayload } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import { main } from '../../src/cli.js';
import { decideAtGate, decodeWorkerCode, encodeWorkerCode, signWorkerCode, workerCodePng, workerCodeSvg } from '../../src/index.js';
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
});
