/**
 * Personal data on the real network. Names, ID numbers, phones and certificate numbers travel in
 * the transient map into the enterprise's implicit collection `_implicit_org_EnterpriseMSP`,
 * under the chaincode's AND(Enterprise, Regulator) endorsement policy. What Fabric 3.1 does:
 *
 * - a transaction that writes only that collection is validated against the collection's own
 *   endorsement policy, which for an implicit collection is the org's
 *   `/Channel/Application/Enterprise/Endorsement` (OR('EnterpriseMSP.peer')): the enterprise's
 *   endorsement alone makes it valid;
 * - the enterprise's gateway, seeing transient data, endorses on its own org first and then only
 *   on members of the collections written: without any option the regulator's peer never sees
 *   the data. Naming `endorsingOrganizations: ['EnterpriseMSP']` does the same explicitly, and
 *   also from another org's gateway.
 *
 * Then every block of the channel is read (qscc GetBlockByNumber), parsed with
 * @hyperledger/fabric-protos, and searched for the names, ID numbers, phones, certificate
 * numbers, salts, face template, gate photo and face-match score used here, including the gate
 * check the gate device signed with the worker code it scanned (credential:RecordSignedGateCheck).
 */

import * as crypto from 'node:crypto';
import { type ConnectionProfile, ENTERPRISE_PRIVATE_COLLECTION, type GateCheckRecord } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import { buildGateSnapshot, decideAtGate, signGateCheck } from '../../../gate-verifier/src/index';
import { readAllBlocks } from '../support/blocks';
import {
  Cast,
  certificateInput,
  DAY,
  endorsementOf,
  freshWorkerIds,
  guardianCertificate,
  issuedConfinedSpace,
  type Party,
  randomIdNumber,
  workerIdOf,
} from '../support/ledger';
import { requireNetwork, uniqueId } from '../support/network';
import { issueWorkerCode } from '../support/worker-code';

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '赵', '黄', '周', '吴'];
const GIVEN = ['建', '国', '伟', '芳', '娜', '秀', '英', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '涛', '明', '超'];
const pick = <T>(a: T[]) => a[crypto.randomInt(a.length)]!;
const randomName = () => pick(SURNAMES) + pick(GIVEN) + pick(GIVEN) + pick(GIVEN);
const salt = () => crypto.randomBytes(24).toString('base64');
/** The bytes the chaincode writes: canonical JSON, keys sorted. */
const canonical = (o: Record<string, string>) =>
  Buffer.from(JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)))), 'utf8');

describe('network: personal data only in the enterprise implicit collection, never in a block (real Fabric)', function () {
  this.timeout(600_000);
  let profile: ConnectionProfile;
  let cast: Cast;
  let officer: Party, applicant: Party, pic: Party, analyst: Party, approver: Party, gate: Party, admin: Party, regulator: Party;

  const id1 = randomIdNumber();
  const id2 = randomIdNumber();
  const people = [
    { idNumber: id1, name: randomName(), phone: `139${crypto.randomInt(1e7, 1e8)}`, salt: salt() },
    { idNumber: id2, name: randomName(), phone: `138${crypto.randomInt(1e7, 1e8)}`, salt: salt() },
  ];
  const W1 = workerIdOf(id1);
  const W2 = workerIdOf(id2);
  const { GUARDIAN, PIC } = freshWorkerIds('GUARDIAN', 'PIC');
  // The certificate number is often the ID number itself.
  const certificateNo = { certificateNo: id1, salt: salt() };
  const faceTemplate = crypto.randomBytes(512);
  // The photo a gate device takes for the face match: only the hash of its match record may leave it.
  const gatePhoto = crypto.randomBytes(4096);
  // The photo a gate sends with its check: hashed on the ledger, its bytes in the content store only.
  const personPhoto = Buffer.concat([Buffer.from('ffd8ffe000104a464946', 'hex'), crypto.randomBytes(8192)]);
  const gateKey = Wallet.createRandom();
  const office = Wallet.createRandom();
  const officeId = uniqueId('office');
  let signedGateCheckTx = '';
  let photoGateCheckTx = '';
  const site = uniqueId('site');
  const zone = 'gate-3';
  const workUnit = 'unit-privacy';
  const permitNo = uniqueId('CS-P');
  const certificateId = uniqueId('cert');
  const gateId = uniqueId('gate');
  const privateTxIds: string[] = [];

  before(function () {
    profile = requireNetwork(this);
    cast = new Cast(profile);
    ({ officer, applicant, pic, analyst, approver, gateway: gate, admin, regulator } = cast.crew('pv', { workUnit, pic: PIC }));
  });
  after(() => cast?.close());

  it('stores personal data by transient data; the gateway endorses on the enterprise alone and the transaction is valid', async () => {
    for (const w of [W1, W2, GUARDIAN, PIC]) await officer.submit('credential:RegisterWorker', { workerId: w });
    await officer.submit('credential:AddCertificate', guardianCertificate(uniqueId('cert-guardian'), GUARDIAN));

    // No option: the enterprise's gateway protects transient data by itself.
    const byDefault = await officer.submit('credential:StoreWorkerPersonalData', { workerId: W1 }, { transient: { personal: people[0] } });
    expect(byDefault.value).to.deep.equal({ workerId: W1, collection: ENTERPRISE_PRIVATE_COLLECTION });
    expect(await endorsementOf(regulator.conn, profile.channel, byDefault.txId)).to.deep.equal({ validationCode: 0, endorsers: ['EnterpriseMSP'] });
    privateTxIds.push(byDefault.txId);

    // Explicitly, as the gateway service should (it also protects a client of another org's gateway).
    const explicit = await officer.submit(
      'credential:StoreWorkerPersonalData',
      { workerId: W2 },
      { transient: { personal: people[1] }, endorsingOrganizations: ['EnterpriseMSP'] },
    );
    expect(await endorsementOf(regulator.conn, profile.channel, explicit.txId)).to.deep.equal({ validationCode: 0, endorsers: ['EnterpriseMSP'] });
    privateTxIds.push(explicit.txId);

    await officer.submit('credential:AddCertificate', certificateInput(certificateId, W1, 'confined_space', '有限空间作业'));
    const cert = await officer.submit(
      'credential:StoreCertificateNumber',
      { certificateId },
      { transient: { personal: certificateNo }, endorsingOrganizations: ['EnterpriseMSP'] },
    );
    expect(await endorsementOf(regulator.conn, profile.channel, cert.txId)).to.deep.equal({ validationCode: 0, endorsers: ['EnterpriseMSP'] });
    privateTxIds.push(cert.txId);

    // The regulator sees that the data exists (from the hash), never the data.
    expect(await regulator.evaluate('credential:GetWorker', { workerId: W1 })).to.include({ personalDataStored: true });
    expect(await regulator.evaluate('credential:GetCertificate', { certificateId })).to.include({ numberStored: true });
    await regulator.evaluateRefused('FORBIDDEN', 'credential:ReadPersonalData', { accessId: 'x' });
  });

  it('reads it back on the enterprise peer after a logged access, and erases it (purge) on request', async () => {
    const accessId = uniqueId('acc');
    await officer.submit('credential:LogPersonalDataAccess', {
      accessId,
      subject: { kind: 'worker', id: W1 },
      purpose: 'Identity check for the gate incident',
    });
    expect(await officer.evaluate('credential:ReadPersonalData', { accessId })).to.deep.equal(people[0]);
    const certAccess = uniqueId('acc');
    await officer.submit('credential:LogPersonalDataAccess', {
      accessId: certAccess,
      subject: { kind: 'certificate', id: certificateId },
      purpose: 'Authority verification',
    });
    expect(await officer.evaluate('credential:ReadPersonalData', { accessId: certAccess })).to.deep.equal(certificateNo);

    // No transient data here, no option either: discovery plans the collection's endorsement policy.
    const erased = await officer.submit('credential:ErasePersonalData', { subject: { kind: 'worker', id: W2 }, reason: 'Worker left; erasure requested' });
    expect(await endorsementOf(regulator.conn, profile.channel, erased.txId)).to.deep.equal({ validationCode: 0, endorsers: ['EnterpriseMSP'] });
    privateTxIds.push(erased.txId);
    expect(await regulator.evaluate('credential:GetWorker', { workerId: W2 })).to.include({ personalDataStored: false });
    const again = uniqueId('acc');
    await officer.submit('credential:LogPersonalDataAccess', { accessId: again, subject: { kind: 'worker', id: W2 }, purpose: 'After erasure' });
    await officer.evaluateRefused('NOT_FOUND', 'credential:ReadPersonalData', { accessId: again });
    await officer.refused(
      'NOT_FOUND',
      'credential:ErasePersonalData',
      { subject: { kind: 'worker', id: W2 }, reason: 'again' },
      { endorsingOrganizations: ['EnterpriseMSP'] },
    );
  });

  it('a gate check records the face match score, the device and a hash of the template, never the template', async () => {
    await admin.submit('device:Register', { deviceId: gateId, siteId: site, areaId: zone, address: gateKey.address, kind: 'gate' });
    await issuedConfinedSpace(
      { applicant, pic, analyst, approver },
      { permitNo, siteId: site, zoneId: zone, workUnit, worker: W1, personInCharge: PIC, guardian: GUARDIAN },
      { description: 'Inspect the valve pit', hazard: 'Oxygen deficiency', measure: 'Ventilate' },
    );
    const g = await gate.submit('credential:RecordGateCheck', {
      gateCheckId: uniqueId('gc'),
      permitNo,
      workerId: W1,
      qr: { passed: true },
      face: { scoreBp: 9250, deviceId: gateId, templateSha256: crypto.createHash('sha256').update(faceTemplate).digest('hex') },
      health: { passed: true },
    });
    expect(g.value.passed).to.equal(true);
    expect(g.value.methods.face).to.include({ scoreBp: 9250, deviceId: gateId, passed: true });
  });

  it('a gate check signed by the gate device records the worker code and hashes of the face match, no score and no photo', async () => {
    await admin.submit('device:Register', {
      deviceId: officeId,
      siteId: site,
      areaId: 'credential-office',
      address: office.address,
      kind: 'credential_office',
    });
    const code = await issueWorkerCode(officer, W1, { key: office, officeId }, DAY);
    const snapshot = await buildGateSnapshot(gate.conn.gateway.getNetwork(profile.channel), profile.chaincode, permitNo);
    const decision = decideAtGate(code, snapshot, { permitNo, role: 'worker', nowMs: Date.now(), maxSnapshotAgeMs: 60_000 });
    expect(decision).to.include({ pass: true });
    const matchRecord = `score=9310 photo-sha256=${crypto.createHash('sha256').update(gatePhoto).digest('hex')}`;
    const scan = { deviceId: gateId, permitNo, role: 'worker' as const, code, decision, faceMatched: true, healthDeclared: true, checkedAt: Date.now() };
    const input = await signGateCheck(gateKey, { ...scan, gateCheckId: uniqueId('sgc'), biometricRecord: matchRecord, offline: true });
    const g = await gate.submit<GateCheckRecord>('credential:RecordSignedGateCheck', input);
    expect(g.value.device).to.include({ ledgerDecision: 'pass', biometricSha256: `0x${crypto.createHash('sha256').update(matchRecord).digest('hex')}` });
    expect(g.value.methods.face.scoreBp).to.equal(null);
    signedGateCheckTx = g.txId;

    // The photo of the person at the gate (issue 19.5): its hash and CID are recorded, its bytes stay in the content store.
    const photoSha256 = crypto.createHash('sha256').update(personPhoto).digest('hex');
    const withPhoto = await signGateCheck(gateKey, {
      ...scan,
      gateCheckId: uniqueId('sgc-photo'),
      biometricRecord: 'score=9320',
      offline: false,
      photo: { bytes: personPhoto, mediaType: 'image/jpeg' },
    });
    // The CID is the gateway's to compute when it stores the bytes; the chaincode records it as given.
    const photo = {
      cid: `bafybei${'q'.repeat(52)}`,
      sha256: photoSha256,
      sizeBytes: personPhoto.length,
      mediaType: 'image/jpeg' as const,
    };
    const p = await gate.submit<GateCheckRecord>('credential:RecordSignedGateCheck', { ...withPhoto, photo });
    expect(p.value.device?.photo).to.deep.equal(photo);
    photoGateCheckTx = p.txId;
  });

  it('no name, ID number, phone, certificate number, salt or face data is anywhere in any block of the channel', async () => {
    const blocks = await readAllBlocks(regulator.conn, profile.channel);
    expect(blocks.length).to.be.above(10);
    const texts = (s: string) => [
      s,
      Buffer.from(s, 'utf8').toString('hex'),
      Buffer.from(s, 'utf8').toString('base64'),
      JSON.stringify(s)
        .slice(1, -1)
        .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    ];
    const needles = new Map<string, string>();
    for (const [i, p] of people.entries()) {
      for (const [field, value] of Object.entries(p)) for (const t of texts(value)) needles.set(t, `person ${i} ${field}`);
    }
    for (const t of texts(certificateNo.certificateNo)) needles.set(t, 'certificate number');
    for (const t of texts(certificateNo.salt)) needles.set(t, 'certificate salt');
    needles.set(faceTemplate.toString('hex'), 'face template (hex)');
    needles.set(faceTemplate.toString('base64'), 'face template (base64)');
    needles.set(gatePhoto.toString('hex'), 'gate photo (hex)');
    needles.set(gatePhoto.toString('base64'), 'gate photo (base64)');
    needles.set(crypto.createHash('sha256').update(gatePhoto).digest('hex'), 'gate photo hash (inside the match record, which stays on the gate)');
    needles.set('score=9310', 'face-match score');
    needles.set(personPhoto.toString('hex'), 'photo of the person at the gate (hex)');
    needles.set(personPhoto.toString('base64'), 'photo of the person at the gate (base64)');
    const faceRaw = faceTemplate.subarray(0, 64);

    let txCount = 0;
    // Positive control: the scan does see what is public (the pseudonymous id, the permit number).
    const seen = { worker: false, permit: false };
    for (const b of blocks) {
      const raw = Buffer.from(b.raw);
      const haystacks = [raw.toString('latin1'), raw.toString('utf8')];
      for (const tx of b.txs) {
        txCount++;
        expect(tx.transientKeys, `block ${b.number} tx ${tx.txId} kept a transient map`).to.deep.equal([]);
        haystacks.push(
          ...tx.args.map((a) => Buffer.from(a).toString('utf8')),
          ...tx.publicWrites.map((w) => `${w.key} ${Buffer.from(w.value).toString('utf8')}`),
          tx.event === null ? '' : Buffer.from(tx.event.payload).toString('utf8'),
          Buffer.from(tx.response).toString('utf8'),
        );
      }
      for (const h of haystacks) {
        for (const [n, what] of needles) expect(h.includes(n), `${what} found in block ${b.number}`).to.equal(false);
        seen.worker ||= h.includes(W1);
        seen.permit ||= h.includes(permitNo);
      }
      expect(raw.includes(faceRaw), `face template bytes found in block ${b.number}`).to.equal(false);
      expect(raw.includes(gatePhoto.subarray(0, 64)), `gate photo bytes found in block ${b.number}`).to.equal(false);
      expect(raw.includes(personPhoto.subarray(16, 80)), `bytes of the photo of the person at the gate found in block ${b.number}`).to.equal(false);
    }
    expect(txCount).to.be.at.least(blocks.length);
    // The device-signed gate check, with the worker code it scanned, is among the transactions searched.
    expect(blocks.some((b) => b.txs.some((t) => t.txId === signedGateCheckTx))).to.equal(true);
    expect(blocks.some((b) => b.txs.some((t) => t.txId === photoGateCheckTx))).to.equal(true);
    expect(seen).to.deep.equal({ worker: true, permit: true });

    // The private-only transactions are in the blocks as hashes only, with no public write.
    const byId = new Map(blocks.flatMap((b) => b.txs).map((t) => [t.txId, t]));
    const stored = [people[0], people[1], certificateNo];
    for (const [i, txId] of privateTxIds.entries()) {
      const tx = byId.get(txId)!;
      expect(tx, `transaction ${txId} is on the channel`).to.not.equal(undefined);
      expect(
        tx.publicWrites.filter((w) => w.namespace === profile.chaincode),
        'a private-only transaction wrote public state',
      ).to.deep.equal([]);
      expect(tx.privateWriteHashes.map((w) => w.collection)).to.deep.equal([ENTERPRISE_PRIVATE_COLLECTION]);
      const value = stored[i];
      if (value !== undefined) {
        // The block holds sha256 of exactly the canonical value (the purge in the erasure has no value hash).
        expect(Buffer.from(tx.privateWriteHashes[0]!.valueHash).equals(crypto.createHash('sha256').update(canonical(value)).digest())).to.equal(true);
      }
    }
  });
});
