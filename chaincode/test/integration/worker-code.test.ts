/**
 * Issue 15 on the real network: a credential office key registered as a device, worker codes
 * issued from the ledger's records, printed as QR PNGs and read back by independent decoders
 * (jsQR; zbarimg where installed), and decided by the gate verifier against snapshots built from
 * the ledger (online: a fresh snapshot and the channel height; offline: an earlier snapshot).
 */
import type { ConnectionProfile, GateSnapshot } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import {
  buildGateSnapshot,
  channelHeight,
  decideAtGate,
  decodeWorkerCode,
  encodeWorkerCode,
  type GateContext,
  workerCodePng,
} from '../../../gate-verifier/src/index';
import { decodeWithJsQr, decodeWithZbarimg, hasZbarimg } from '../../../gate-verifier/test/support/qr';
import { Cast, certificateInput, confinedSpaceApplication, DAY, freshWorkerIds, guardianCertificate, type Party } from '../support/ledger';
import { requireNetwork, uniqueId } from '../support/network';
import { issueWorkerCode } from '../support/worker-code';

describe('network: worker codes decided at the gate, online and offline (real Fabric)', function () {
  this.timeout(300_000);
  let profile: ConnectionProfile;
  let cast: Cast;
  let officer: Party, admin: Party, applicant: Party, gate: Party;
  const office = Wallet.createRandom();
  const officeId = uniqueId('office');
  const { W1, GUARDIAN, PIC } = freshWorkerIds('W1', 'GUARDIAN', 'PIC');
  const permitNo = uniqueId('HW-G');
  let earlier: GateSnapshot;

  const network = (p: Party) => p.conn.gateway.getNetwork(profile.channel);
  const snapshotNow = () => buildGateSnapshot(network(gate), profile.chaincode, permitNo);
  const online = async (): Promise<GateContext> => ({
    permitNo,
    role: 'worker',
    nowMs: Date.now(),
    maxSnapshotAgeMs: 60_000,
    currentHeight: await channelHeight(network(gate)),
    maxBlocksBehind: 0,
  });
  /** The current code of a worker, issued from the ledger, printed and scanned. */
  async function badge(workerId: string, signer: Wallet = office): Promise<string> {
    const text = await issueWorkerCode(officer, workerId, { key: signer, officeId }, 30 * DAY);
    const png = await workerCodePng(text);
    const read = hasZbarimg() ? decodeWithZbarimg(png, 'png') : decodeWithJsQr(png);
    expect(decodeWithJsQr(png)).to.equal(read);
    return read;
  }

  before(async function () {
    profile = requireNetwork(this);
    cast = new Cast(profile);
    officer = cast.person('wc-officer', 'enterprise', 'credential_officer');
    admin = cast.person('wc-admin', 'enterprise', 'admin');
    applicant = cast.person('wc-applicant', 'enterprise', 'applicant');
    gate = cast.person('wc-gate', 'enterprise', 'device_gateway');
    for (const w of [W1, GUARDIAN, PIC]) await officer.submit('credential:RegisterWorker', { workerId: w });
    await officer.submit('credential:AddCertificate', certificateInput(`${permitNo}-w1`, W1, 'welding_cutting', '熔化焊接与热切割作业'));
    await officer.submit('credential:AddCertificate', guardianCertificate(`${permitNo}-g`, GUARDIAN));
    await admin.submit('device:Register', {
      deviceId: officeId,
      siteId: 'hq',
      areaId: 'credential-office',
      address: office.address,
      kind: 'credential_office',
    });
    await applicant.submit(
      'permit:Apply',
      confinedSpaceApplication(
        { permitNo, siteId: 'site-g', zoneId: 'zone-g', workUnit: 'unit-g', worker: W1, personInCharge: PIC, guardian: GUARDIAN },
        { description: 'Weld a bracket in the workshop', hazard: 'Sparks near stored solvent', measure: 'Remove the solvent, fire watch' },
        { operationType: 'hot_work', level: '2' },
      ),
    );
  });
  after(() => cast?.close());

  it('passes a valid code online and offline; the snapshot carries keys, epochs, crew and categories', async () => {
    earlier = await snapshotNow();
    expect(earlier.signingKeys).to.deep.include({ officeId, enterprise: 'EnterpriseMSP', address: office.address });
    expect(earlier.permit).to.include({ permitNo, guardianId: GUARDIAN });
    expect(earlier.permit.workers).to.deep.equal([W1]);
    expect(earlier.permit.workerCategories).to.deep.equal(['welding_cutting']);
    expect(earlier.revocationEpochs[W1]).to.equal(1);
    const code = await badge(W1);
    const d = decideAtGate(code, await snapshotNow(), await online());
    expect(d).to.include({ pass: true, workerId: W1 });
    expect(decideAtGate(code, earlier, { permitNo, role: 'worker', nowMs: Date.now(), maxSnapshotAgeMs: 60_000 })).to.include({ pass: true });
    expect(decideAtGate(await badge(GUARDIAN), await snapshotNow(), { ...(await online()), role: 'guardian' })).to.include({ pass: true });
  });

  it('refuses a tampered code and a code signed by an unregistered key, online and offline', async () => {
    const signed = decodeWorkerCode(await badge(W1));
    const tampered = encodeWorkerCode({ ...signed, payload: { ...signed.payload, expiresAt: signed.payload.expiresAt + 365 * DAY } });
    const forged = await badge(W1, Wallet.createRandom());
    for (const snap of [earlier, await snapshotNow()]) {
      const ctx = { permitNo, role: 'worker' as const, nowMs: Date.now(), maxSnapshotAgeMs: 60_000 };
      expect(decideAtGate(tampered, snap, ctx).pass).to.equal(false);
      expect(decideAtGate(tampered, snap, ctx).reason).to.match(/changed after signing/);
      expect(decideAtGate(forged, snap, ctx)).to.include({ pass: false, code: 'UNREGISTERED_KEY' });
    }
  });

  it('refuses a code revoked after the snapshot once synced, and the re-issued code lacks the certificate', async () => {
    const code = await badge(W1);
    await officer.submit('credential:SetCertificateStatus', { certificateId: `${permitNo}-w1`, status: 'suspended', reason: 'Medical review pending' });
    // Offline on the snapshot from earlier the revocation the gate cannot know: bounded by the snapshot age limit.
    expect(decideAtGate(code, earlier, { permitNo, role: 'worker', nowMs: Date.now(), maxSnapshotAgeMs: 60_000 }).pass).to.equal(true);
    expect(decideAtGate(code, earlier, { permitNo, role: 'worker', nowMs: earlier.takenAt + 61_000, maxSnapshotAgeMs: 60_000 })).to.include({
      code: 'SNAPSHOT_TOO_OLD',
    });
    // Online (and offline after the next sync) the old code is refused.
    const synced = await snapshotNow();
    expect(synced.revocationEpochs[W1]).to.equal(2);
    expect(decideAtGate(code, synced, await online())).to.include({ pass: false, code: 'REVOKED' });
    // Re-issued from the ledger: current epoch, but the suspended certificate is no longer in it.
    const reissued = await badge(W1);
    expect(decodeWorkerCode(reissued).payload.epoch).to.equal(2);
    const d = decideAtGate(reissued, synced, await online());
    expect(d).to.include({ pass: false, code: 'NOT_QUALIFIED', reason: 'no welding_cutting certificate (holds none)' });
  });

  it('refuses on a snapshot behind the channel (online) and when the office key is disabled', async () => {
    const code = await badge(GUARDIAN);
    expect(decideAtGate(code, earlier, { ...(await online()), role: 'guardian', nowMs: earlier.takenAt + 1_000 })).to.include({ code: 'SNAPSHOT_TOO_OLD' });
    await admin.submit('device:SetStatus', { deviceId: officeId, status: 'disabled', reason: 'Key rotated' });
    expect(decideAtGate(code, await snapshotNow(), { ...(await online()), role: 'guardian' })).to.include({ pass: false, code: 'UNREGISTERED_KEY' });
  });
});
