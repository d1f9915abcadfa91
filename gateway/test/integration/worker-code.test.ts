/**
 * Worker codes through the API (issue 15), against the real network: served as JSON, PNG and SVG
 * to the worker and the officers only, read back by independent QR decoders, re-issued when a
 * certificate changes, and an old code refused by the chaincode behind POST /v1/gate-checks, where
 * the gate device's own signature is checked.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { computeCid } from '@compliance-ledger/content-store';
import { decideAtGate, type GateDecision, generateCredentialOfficeKey, signGateCheck } from '@compliance-ledger/gate-verifier';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import { decodeWithJsQr, decodeWithZbarimg, hasZbarimg } from '../../../gate-verifier/test/support/qr.js';
import type { RunningGateway } from '../../src/server.js';
import { Client, chainHeight, createDatabase, dropDatabase, requireNetwork, startTestGateway, token } from '../support/env.js';
import { applyBody, type Cast, iso, makeCast, registerCast, uniqueId } from '../support/scenario.js';
import { JPEG_HEAD } from '../support/tus.js';

describe('gateway: worker codes and device-signed gate checks (real network)', function () {
  this.timeout(180_000);
  let gw: RunningGateway;
  let cast: Cast;
  let welder: Client, helper: Client;
  let db: string | undefined;
  const officeKey = generateCredentialOfficeKey(uniqueId('office'));
  const gateKey = Wallet.createRandom();
  const gateId = uniqueId('gate-signed');
  const permitNo = uniqueId('HW-WC');
  const codePath = () => `/v1/workers/${cast.welder}/code`;

  before(async function () {
    requireNetwork(this);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'office-key-'));
    const keyFile = path.join(dir, 'office.json');
    fs.writeFileSync(keyFile, JSON.stringify(officeKey), { mode: 0o600 });
    db = await createDatabase('gw_workercode');
    gw = await startTestGateway({ DATABASE_URL: db, GATEWAY_CREDENTIAL_OFFICE_KEY_FILE: keyFile });
    const base = new Client(gw.url);
    cast = await makeCast(base);
    await registerCast(cast);
    welder = base.as(await token({ sub: `gw-welder-${cast.tag}`, org: 'enterprise', role: 'applicant', workerId: cast.welder }));
    helper = base.as(await token({ sub: `gw-helper-${cast.tag}`, org: 'enterprise', role: 'applicant', workerId: cast.helper }));
  });
  after(async () => {
    await gw?.close();
    await dropDatabase(db);
  });

  it('issues no code until the office key is registered on the ledger, then serves it as JSON, PNG and SVG that decoders read back', async () => {
    const before = await cast.clients.credential.get(codePath());
    expect(before.status, before.text).to.equal(503);
    expect(before.body.error.code).to.equal('CREDENTIAL_OFFICE_NOT_REGISTERED');
    expect(before.body.error.message).to.contain(officeKey.address);
    const reg = await cast.clients.safety.post('/v1/devices', {
      deviceId: officeKey.officeId,
      siteId: cast.siteId,
      areaId: 'credential-office',
      address: officeKey.address,
      kind: 'credential_office',
    });
    expect(reg.status, reg.text).to.equal(201);

    const json = await welder.get(codePath());
    expect(json.status, json.text).to.equal(200);
    expect(json.body).to.include({ workerId: cast.welder, officeId: officeKey.officeId, reissued: true });
    expect(json.body.certificates.map((c: { category: string }) => c.category)).to.deep.equal(['welding_cutting']);
    expect(json.text).not.to.match(/name|idNumber/);
    const again = await welder.get(codePath());
    expect(again.body).to.include({ code: json.body.code, reissued: false });

    const png = await welder.download(`${codePath()}.png`);
    expect(png.status).to.equal(200);
    expect(png.headers.get('content-type')).to.equal('image/png');
    expect(decodeWithJsQr(Buffer.from(png.bytes))).to.equal(json.body.code);
    const svg = await welder.download(`${codePath()}.svg`);
    expect(svg.headers.get('content-type')).to.match(/^image\/svg\+xml/);
    const svgText = new TextDecoder().decode(svg.bytes);
    expect(svgText.startsWith('<svg'), svgText.slice(0, 40)).to.equal(true);
    if (hasZbarimg()) {
      expect(decodeWithZbarimg(Buffer.from(png.bytes), 'png')).to.equal(json.body.code);
      expect(decodeWithZbarimg(Buffer.from(svg.bytes), 'svg')).to.equal(json.body.code);
    }
  });

  it('gives a code to the worker themselves and the officers only; another worker, other roles and the regulator get 403', async () => {
    expect((await cast.clients.safety.get(codePath())).status).to.equal(200);
    expect((await cast.clients.credential.get(codePath())).status).to.equal(200);
    for (const other of [helper, cast.clients.applicant, cast.clients.gate, cast.clients.regulator]) {
      const r = await other.get(codePath());
      expect(r.status, r.text).to.equal(403);
    }
    const forbidden = await helper.get(`${codePath()}.png`);
    expect(forbidden.body.error.message).to.match(/the worker themselves/);
    expect((await cast.clients.credential.get(`/v1/workers/${'0'.repeat(64)}/code`)).status).to.equal(404);
    expect((await cast.clients.credential.get('/v1/workers/not-a-worker-id/code')).status).to.equal(400);
  });

  it('re-issues the code when a certificate changes; the chaincode refuses the old one behind POST /v1/gate-checks and flags the offline gate', async () => {
    const c = cast.clients;
    const base = `/v1/permits/${permitNo}`;
    const ok = (r: { status: number; text: string }, status = 200) => expect(r.status, r.text).to.equal(status);
    ok(await c.applicant.post('/v1/permits', applyBody(cast, permitNo)), 201);
    ok(await c.pic.post(`${base}/risk-assessment`, { confirmations: ['m1', 'm2'].map((measureId) => ({ measureId, confirmedBy: cast.personInCharge })) }));
    ok(
      await c.analyst.post(`${base}/gas-tests`, {
        testId: `gt-${cast.tag}`,
        sampleTakenAt: iso(Date.now() - 60_000),
        lelClass: 'lel_ge_4',
        flammableVolPct: 0.1,
      }),
      201,
    );
    ok(await c.approver.post(`${base}/sign-offs`, { stepId: 'approval', atSite: true }), 201);
    ok(await c.approver.post(`${base}/issue`, {}));
    ok(await c.safety.post('/v1/devices', { deviceId: gateId, siteId: cast.siteId, areaId: 'zone-1', address: gateKey.address, kind: 'gate' }), 201);

    const old = (await welder.get(codePath())).body;
    ok(
      await c.credential.post('/v1/certificates', {
        certificateId: `cert-${cast.tag}-elec`,
        workerId: cast.welder,
        category: 'electrician',
        item: '低压电工作业',
        authority: '应急管理局',
        validFrom: iso(Date.now() - 86_400_000),
        validUntil: iso(Date.now() + 3 * 365 * 86_400_000),
        reviewDue: iso(Date.now() + 365 * 86_400_000),
        scanSha256: 'ab'.repeat(32),
      }),
      201,
    );
    const current = (await welder.get(codePath())).body;
    expect(current).to.include({ reissued: true });
    expect(current.epoch).to.equal(old.epoch + 1);
    expect(current.code).not.to.equal(old.code);
    expect(current.certificates.map((x: { category: string }) => x.category).sort()).to.deep.equal(['electrician', 'welding_cutting']);

    // A gate that syncs through the API refuses the old code and passes the current one.
    const snap = await c.gate.get(`${base}/gate-snapshot`);
    ok(snap);
    expect(snap.body.revocationEpochs[cast.welder]).to.equal(current.epoch);
    const online = { permitNo, role: 'worker' as const, nowMs: Date.now(), maxSnapshotAgeMs: 60_000 };
    expect(decideAtGate(old.code, snap.body, online)).to.include({ pass: false, code: 'REVOKED' });
    expect(decideAtGate(current.code, snap.body, online)).to.include({ pass: true, workerId: cast.welder });

    // An offline gate that has not synced passes the old code; it signs that, and the ledger disagrees.
    const offlinePass: GateDecision = { pass: true, workerId: cast.welder, certificateIds: [], epoch: old.epoch, snapshotHeight: 1, reason: 'ok' };
    const scan = (code: string, signer: Pick<Wallet, 'signTypedData'> = gateKey) =>
      signGateCheck(signer, {
        gateCheckId: uniqueId('gc'),
        deviceId: gateId,
        permitNo,
        role: 'worker',
        code,
        decision: offlinePass,
        faceMatched: true,
        healthDeclared: true,
        biometricRecord: `score=9250 ${uniqueId('photo')}`,
        offline: true,
        checkedAt: Date.now(),
      });
    const stale = await c.gate.post('/v1/gate-checks', await scan(old.code));
    ok(stale, 201);
    expect(stale.body.record.device).to.include({ gateDecision: 'pass', ledgerDecision: 'REVOKED', disagreement: true, offline: true });
    expect(stale.body.record.passed).to.equal(false);
    const fresh = await c.gate.post('/v1/gate-checks', await scan(current.code));
    ok(fresh, 201);
    expect(fresh.body.record.device).to.include({ ledgerDecision: 'pass', disagreement: false });
    expect(fresh.body.record.passed).to.equal(true);

    const forged = await c.gate.post('/v1/gate-checks', await scan(current.code, Wallet.createRandom()));
    expect(forged.status, forged.text).to.equal(401);
    expect(forged.body.error.code).to.equal('SIGNATURE_INVALID');
    const notGate = await c.safety.post('/v1/gate-checks', await scan(current.code));
    expect(notGate.status).to.equal(403);
    const bad = await c.gate.post('/v1/gate-checks', { ...(await scan(current.code)), signature: '0x12' });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.details.fields[0].path).to.equal('body.signature');
  });

  it('stores the gate photo in the content store, its signed sha256 on the ledger; only the safety roles and the regulator get it back', async () => {
    const c = cast.clients;
    const code = (await welder.get(codePath())).body.code as string;
    const pass: GateDecision = { pass: true, workerId: cast.welder, certificateIds: [], epoch: 0, snapshotHeight: 1, reason: 'ok' };
    // Larger than one 256 KiB chunk, so its CID is a DAG root and not simply its sha256.
    const photo = Buffer.concat([JPEG_HEAD, randomBytes(300_000)]);
    const sha256 = createHash('sha256').update(photo).digest('hex');
    const gateCheckId = uniqueId('gc-photo');
    const scan = { gateCheckId, deviceId: gateId, permitNo, role: 'worker' as const, code, decision: pass, faceMatched: true, healthDeclared: true };
    const signed = await signGateCheck(gateKey, {
      ...scan,
      biometricRecord: 'score=9400',
      offline: false,
      checkedAt: Date.now(),
      photo: { bytes: photo, mediaType: 'image/jpeg' },
    });
    const form = (input: unknown, bytes: Buffer, type: string) => {
      const f = new FormData();
      f.set('gateCheck', JSON.stringify(input));
      f.set('photo', new Blob([new Uint8Array(bytes)], { type }), 'gate.jpg');
      return f;
    };
    const send = (body: FormData) => c.gate.request('POST', '/v1/gate-checks', { body });

    // Refused before anything is stored or written: other bytes than the signed ones, another type than
    // the signed one, bytes that are not of the signed type, the signed photo left out, a photo record
    // claimed in JSON.
    const height = await chainHeight();
    const other = await send(form(signed, Buffer.concat([JPEG_HEAD, randomBytes(1000)]), 'image/jpeg'));
    expect(other.status, other.text).to.equal(400);
    expect(other.body.error.details.fields[0].message, other.text).to.match(/sha256 is [0-9a-f]{64}, not the 0x/);
    const otherType = await send(form(signed, photo, 'image/png'));
    expect(otherType.status, otherType.text).to.equal(400);
    const png = await signGateCheck(gateKey, {
      ...scan,
      gateCheckId: uniqueId('gc-png'),
      biometricRecord: 'x',
      offline: false,
      checkedAt: Date.now(),
      photo: { bytes: photo, mediaType: 'image/png' },
    });
    const notPng = await send(form(png, photo, 'image/png'));
    expect(notPng.status, notPng.text).to.equal(415);
    expect(notPng.body.error.code).to.equal('CONTENT_TYPE_MISMATCH');
    const withoutPhoto = await c.gate.post('/v1/gate-checks', signed);
    expect(withoutPhoto.status, withoutPhoto.text).to.equal(400);
    expect(withoutPhoto.body.error.details.fields[0].path).to.equal('body.check.photoSha256');
    const claimed = await c.gate.post('/v1/gate-checks', {
      ...signed,
      photo: { cid: `b${'a'.repeat(58)}`, sha256, sizeBytes: photo.length, mediaType: 'image/jpeg' },
    });
    expect(claimed.status, claimed.text).to.equal(400);
    expect(await chainHeight(), 'nothing written by the refused requests').to.equal(height);

    const recorded = await send(form(signed, photo, 'image/jpeg'));
    expect(recorded.status, recorded.text).to.equal(201);
    const cid = await computeCid(
      (async function* () {
        yield photo;
      })(),
    );
    expect(recorded.body.record.device.photo).to.deep.equal({ cid, sha256, sizeBytes: photo.length, mediaType: 'image/jpeg' });
    expect(recorded.body.record.passed).to.equal(true);
    const listed = (await c.safety.get(`/v1/permits/${permitNo}/gate-checks`)).body as { gateCheckId: string; device?: { photo?: { sha256: string } } }[];
    expect(listed.find((g) => g.gateCheckId === gateCheckId)?.device?.photo?.sha256).to.equal(sha256);

    const photoPath = `/v1/permits/${permitNo}/gate-checks/${gateCheckId}/photo`;
    for (const reader of [c.safety, c.regulator]) {
      const got = await reader.download(photoPath);
      expect(got.status, got.text).to.equal(200);
      expect(createHash('sha256').update(got.bytes).digest('hex'), 'the bytes served hash to the sha256 on the ledger').to.equal(sha256);
      expect(got.headers.get('content-type')).to.equal('image/jpeg');
      expect(got.headers.get('cache-control')).to.equal('no-store');
    }
    const range = await c.safety.request('GET', photoPath, { headers: { range: 'bytes=0-10' } });
    expect(range.status).to.equal(206);
    for (const other of [c.auditor, c.applicant, c.gate, welder]) {
      const refused = await other.get(photoPath);
      expect(refused.status, refused.text).to.equal(403);
    }
    const noPhoto = await c.safety.get(`/v1/permits/${permitNo}/gate-checks/${uniqueId('gc-none')}/photo`);
    expect(noPhoto.status).to.equal(404);
  });
});
