/**
 * Each party holds its own keys (real network, real Fabric CAs):
 * - an enterprise gateway (GATEWAY_ORG=enterprise) has no regulator key or CA secret, so it cannot
 *   act as a regulator: regulator tokens are refused before anything else, its wallet never gets a
 *   regulator entry, and a regulator certificate is refused for client signing;
 * - the org's admin onboards a user at the org's CA with the role in the certificate; the user
 *   enrols, keeps the key and signs a permit application; it commits, and the block's creator is
 *   the user's own certificate;
 * - the role is the certificate's: a token claiming another role changes nothing.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { common, msp, peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { signDigest, submitClientSigned } from '../../src/client-signing.js';
import type { RunningGateway } from '../../src/server.js';
import { certificateAttributes } from '../../src/wallet.js';
import { Client, createDatabase, dropDatabase, requireNetwork, runDir, scratchDir, startTestGateway, token, uniqueId } from '../support/env.js';
import { applyBody, type Cast, makeCast, registerCast } from '../support/scenario.js';

const execFileAsync = promisify(execFile);

/** fabric-ca-client enroll, as the user does on their own machine: the key never leaves `dir`. */
export function enrollAtCa(
  gw: RunningGateway,
  org: 'enterprise' | 'regulator',
  sub: string,
  secret: string,
  dir: string,
): { certificatePem: string; privateKeyPem: Buffer } {
  const ca = gw.services.ledger.profile.organizations[org].ca!;
  const u = new URL(ca.url);
  u.username = sub;
  u.password = secret;
  execFileSync(gw.services.config.FABRIC_CA_CLIENT!, ['enroll', '--caname', ca.caName, '--tls.certfiles', ca.tlsCaFile, '-H', dir], {
    stdio: 'pipe',
    env: { ...process.env, FABRIC_CA_CLIENT_HOME: '', FABRIC_CA_CLIENT_URL: `${u.protocol}//${u.username}:${u.password}@${u.host}` },
  });
  const keystore = path.join(dir, 'msp', 'keystore');
  return {
    certificatePem: fs.readFileSync(path.join(dir, 'msp', 'signcerts', 'cert.pem'), 'utf8'),
    privateKeyPem: fs.readFileSync(path.join(keystore, fs.readdirSync(keystore).find((f) => f.endsWith('_sk'))!)),
  };
}

describe('gateway: one gateway per org, user-held keys, roles from certificates (real network and CAs)', function () {
  this.timeout(240_000);
  let enterprise: RunningGateway;
  let regulator: RunningGateway;
  let walletDir: string;
  let cast: Cast;
  let adminToken: string;
  let db: string;

  before(async function () {
    requireNetwork(this);
    db = await createDatabase('gw_orgs');
    walletDir = scratchDir('gw-org-');
    enterprise = await startTestGateway({
      GATEWAY_ORG: 'enterprise',
      GATEWAY_WALLET_DIR: path.join(walletDir, 'enterprise-gateway'),
      // Not even readable: the enterprise gateway must never need it.
      GATEWAY_CA_REGULATOR_REGISTRAR_SECRET_FILE: path.join(walletDir, 'no-such-file'),
      DATABASE_URL: db,
      GATEWAY_OCR_ENABLED: '0',
    });
    regulator = await startTestGateway({
      GATEWAY_ORG: 'regulator',
      GATEWAY_WALLET_DIR: path.join(walletDir, 'regulator-gateway'),
      GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE: path.join(walletDir, 'no-such-file'),
      DATABASE_URL: db,
      GATEWAY_OCR_ENABLED: '0',
    });
    const tag = crypto.randomBytes(4).toString('hex');
    adminToken = await token({ sub: `org-admin-${tag}`, org: 'enterprise', role: 'admin' });
    cast = await makeCast(new Client(enterprise.url));
    await registerCast(cast);
  });
  after(async () => {
    await enterprise?.close();
    await regulator?.close();
    await dropDatabase(db);
  });

  it('the enterprise gateway cannot act as a regulator: it refuses regulator tokens and holds no regulator key or CA secret', async () => {
    const asRegulator = new Client(enterprise.url).as(await token({ sub: uniqueId('reg'), org: 'regulator', role: 'regulator' }));
    for (const r of [
      await asRegulator.get('/v1/permits/NOPE-1'),
      await asRegulator.post('/v1/templates/hot_work/2', {}),
      await asRegulator.get('/v1/regulator/kpis'),
    ]) {
      expect(r.status, r.text).to.equal(403);
      expect(r.body.error.code).to.equal('ORG_NOT_SERVED');
      expect(r.body.error.message).to.contain("use the regulator org's own gateway");
    }
    expect(fs.existsSync(path.join(walletDir, 'enterprise-gateway', 'regulator'))).to.equal(false);
    // The regulator's own gateway serves the same token (a 404 from the chaincode: the identity works).
    const atOwn = await asRegulator.at(regulator.url).get('/v1/permits/NOPE-1');
    expect(atOwn.status, atOwn.text).to.equal(404);
    expect(fs.existsSync(path.join(walletDir, 'regulator-gateway', 'regulator'))).to.equal(true);
    // ... and refuses the enterprise's users the same way.
    const enterpriseAtRegulator = await new Client(regulator.url).as(adminToken).get('/v1/permits/NOPE-1');
    expect(enterpriseAtRegulator.body.error.code).to.equal('ORG_NOT_SERVED');
  });

  it('a regulator certificate cannot be used for client signing at the enterprise gateway', async () => {
    const onboard = await new Client(regulator.url)
      .as(await token({ sub: uniqueId('reg-admin'), org: 'regulator', role: 'regulator' }))
      .post('/v1/identities', { sub: uniqueId('reg-user'), role: 'regulator' });
    expect(onboard.status, onboard.text).to.equal(201);
    const { certificatePem } = enrollAtCa(
      regulator,
      'regulator',
      onboard.body.sub,
      onboard.body.enrollmentSecret,
      fs.mkdtempSync(path.join(os.tmpdir(), 'reg-user-')),
    );
    // Presented with an enterprise token of the same name: the CA that issued it is not the enterprise's.
    const r = await new Client(enterprise.url)
      .as(await token({ sub: onboard.body.sub, org: 'enterprise', role: 'safety_officer' }))
      .post('/v1/transactions/prepare', {
        transaction: 'permit:Issue',
        input: { permitNo: uniqueId('HW') },
        certificate: certificatePem,
      });
    expect(r.status, r.text).to.equal(403);
    expect(r.body.error.code).to.equal('CERTIFICATE_REFUSED');
    expect(r.body.error.message).to.contain("not issued by the enterprise org's CA");
  });

  it('onboarding needs the org admin, and the role is written into the certificate', async () => {
    const applicantToken = await token({ sub: uniqueId('not-admin'), org: 'enterprise', role: 'applicant' });
    const refused = await new Client(enterprise.url).as(applicantToken).post('/v1/identities', { sub: uniqueId('u'), role: 'approver' });
    expect(refused.status, refused.text).to.equal(403);
    expect(refused.body.error.code).to.equal('FORBIDDEN');
    const unknown = await new Client(enterprise.url).as(adminToken).post(`/v1/identities/${uniqueId('nobody')}/revoke`, {});
    expect(unknown.status, unknown.text).to.equal(404);
    const registrar = await new Client(enterprise.url).as(adminToken).post('/v1/identities/admin/revoke', {});
    expect(registrar.status, registrar.text).to.equal(403);
    const bad = await new Client(enterprise.url).as(adminToken).post('/v1/identities', { sub: 'no spaces allowed', role: 'boss' });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.details.fields.map((d: { path: string }) => d.path)).to.include.members(['body.sub', 'body.role']);
  });

  it('custodial onboarding: the gateway enrols the user with the registered attributes, and tokens must match them', async () => {
    const sub = uniqueId('custodial').toLowerCase();
    const worker = 'e'.repeat(64);
    const r = await new Client(enterprise.url)
      .as(adminToken)
      .post('/v1/identities', { sub, role: 'approver', department: 'maintenance', workerId: worker, custodial: true });
    expect(r.status, r.text).to.equal(201);
    expect(r.body).to.not.have.property('enrollmentSecret');
    const cert = fs.readFileSync(path.join(walletDir, 'enterprise-gateway', 'enterprise', sub, 'msp', 'signcerts', 'cert.pem'));
    expect(certificateAttributes(cert)).to.include({ 'ledger.role': 'approver', 'ledger.department': 'maintenance', 'ledger.workerId': worker });
    const matching = await new Client(enterprise.url)
      .as(await token({ sub, org: 'enterprise', role: 'approver', department: 'maintenance', workerId: worker }))
      .get('/v1/permits/NOPE-1');
    expect(matching.status, matching.text).to.equal(404);
    const promoted = await new Client(enterprise.url)
      .as(await token({ sub, org: 'enterprise', role: 'safety_officer', department: 'maintenance', workerId: worker }))
      .get('/v1/permits/NOPE-1');
    expect(promoted.status).to.equal(403);
    expect(promoted.body.error.code).to.equal('IDENTITY_MISMATCH');
    // Registering the same enrolment id again is refused: attributes are changed by a new registration only.
    const again = await new Client(enterprise.url).as(adminToken).post('/v1/identities', { sub, role: 'safety_officer' });
    expect(again.status, again.text).to.equal(409);
    expect(again.body.error.code).to.equal('ALREADY_EXISTS');
  });

  describe('a user who keeps the key', () => {
    let sub: string;
    let userToken: string;
    let key: Buffer;
    let certificatePem: string;
    let keyDir: string;

    before(async () => {
      sub = uniqueId('applicant').toLowerCase();
      const onboard = await new Client(enterprise.url).as(adminToken).post('/v1/identities', { sub, role: 'applicant' });
      expect(onboard.status, onboard.text).to.equal(201);
      expect(onboard.body).to.include({ sub, org: 'enterprise', mspId: 'EnterpriseMSP', custodial: false });
      expect(onboard.body.enrollmentSecret).to.match(/^[0-9a-f]{36}$/);
      keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'user-key-'));
      ({ certificatePem, privateKeyPem: key } = enrollAtCa(enterprise, 'enterprise', sub, onboard.body.enrollmentSecret, keyDir));
      // The token claims a role the certificate does not carry: the token only names the identity.
      userToken = await token({ sub, org: 'enterprise', role: 'safety_officer' });
    });

    it("a client-signed permit application commits, and the block's creator is the user's own certificate", async () => {
      const permitNo = uniqueId('HW');
      const r = await submitClientSigned({
        gatewayUrl: enterprise.url,
        token: userToken,
        certificatePem,
        privateKeyPem: key,
        transaction: 'permit:Apply',
        input: applyBody(cast, permitNo),
      });
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body.record).to.include({ permitNo, status: 'applied' });
      expect(r.body.blockNumber).to.be.a('number');
      // The committed transaction as the regulator's peer has it: its creator is the user's certificate.
      const creator = await creatorOf(r.body.transactionId!);
      expect(creator.mspId).to.equal('EnterpriseMSP');
      expect(new crypto.X509Certificate(creator.certificate).fingerprint256).to.equal(new crypto.X509Certificate(certificatePem).fingerprint256);
      // The gateway holds no key of this user.
      expect(fs.existsSync(path.join(walletDir, 'enterprise-gateway', 'enterprise', sub))).to.equal(false);
    });

    it('the command line (tools/ledger-sign.ts submit) signs with the key in the enrolment directory and the transaction commits', async () => {
      const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
      const permitNo = uniqueId('HW');
      fs.writeFileSync(path.join(scratch, 'token.jwt'), userToken);
      fs.writeFileSync(path.join(scratch, 'apply.json'), JSON.stringify(applyBody(cast, permitNo)));
      // Asynchronously: the gateway runs in this process and must keep answering.
      const { stdout: out } = await execFileAsync(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(import.meta.dirname, '..', '..', 'tools', 'ledger-sign.ts'),
          'submit',
          '--gateway',
          enterprise.url,
          '--token-file',
          path.join(scratch, 'token.jwt'),
          '--msp',
          keyDir,
          '--transaction',
          'permit:Apply',
          '--input',
          path.join(scratch, 'apply.json'),
        ],
        { encoding: 'utf8' },
      );
      const answer = JSON.parse(out);
      expect(answer.record).to.include({ permitNo, status: 'applied' });
      expect(answer.blockNumber).to.be.a('number');
      // `digest` alone: the signature verifies with the certificate's public key over the digest as given.
      const digest = crypto.createHash('sha256').update('any proposal bytes').digest();
      const keyFile = path.join(keyDir, 'msp', 'keystore', fs.readdirSync(path.join(keyDir, 'msp', 'keystore')).find((f) => f.endsWith('_sk'))!);
      const signature = (
        await execFileAsync(
          process.execPath,
          ['--import', 'tsx', path.join(import.meta.dirname, '..', '..', 'tools', 'ledger-sign.ts'), 'digest', '--key', keyFile, digest.toString('base64')],
          { encoding: 'utf8' },
        )
      ).stdout.trim();
      const publicKey = new crypto.X509Certificate(certificatePem).publicKey;
      expect(crypto.verify(null, Buffer.from('any proposal bytes'), publicKey, Buffer.from(signature, 'base64'))).to.equal(true);
    });

    it("the role is the certificate's: a safety officer's transaction is refused for an applicant certificate, whatever the token says", async () => {
      const issue = await new Client(enterprise.url)
        .as(userToken)
        .post('/v1/transactions/prepare', { transaction: 'permit:Issue', input: { permitNo: uniqueId('HW') }, certificate: certificatePem });
      expect(issue.status, issue.text).to.equal(403);
      expect(issue.body.error.code).to.equal('CERTIFICATE_REFUSED');
      expect(issue.body.error.message).to.contain('ledger.role is applicant').and.to.contain('approver, safety_officer');
    });

    it("refuses another user's certificate, a wrong signature, and an unknown transaction id", async () => {
      const other = await new Client(enterprise.url)
        .as(await token({ sub: 'someone-else', org: 'enterprise', role: 'applicant' }))
        .post('/v1/transactions/prepare', {
          transaction: 'permit:Apply',
          input: applyBody(cast, uniqueId('HW')),
          certificate: certificatePem,
        });
      expect(other.status, other.text).to.equal(403);
      expect(other.body.error.message).to.contain(`the certificate is ${sub}'s`);
      const c = new Client(enterprise.url).as(userToken);
      const prepared = await c.post('/v1/transactions/prepare', {
        transaction: 'permit:Apply',
        input: applyBody(cast, uniqueId('HW')),
        certificate: certificatePem,
      });
      expect(prepared.status, prepared.text).to.equal(200);
      // Signed with a key that is not the certificate's: the peer refuses the proposal.
      const stranger = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
      const forged = await c.post(`/v1/transactions/${prepared.body.transactionId}/endorse`, {
        signature: await signDigest(stranger, prepared.body.proposalDigest),
      });
      expect(forged.status, forged.text).to.equal(403);
      expect(forged.body.error.code).to.equal('CERTIFICATE_REFUSED');
      const unknown = await c.post(`/v1/transactions/${'0'.repeat(64)}/submit`, { signature: 'AAAA' });
      expect(unknown.status).to.equal(404);
      // Submitting before endorsing is refused with what to do instead.
      const early = await c.post(`/v1/transactions/${prepared.body.transactionId}/submit`, { signature: 'AAAA' });
      expect(early.status, early.text).to.equal(409);
    });
  });

  describe('a role change and a revocation take effect through the certificate only', () => {
    it('a revoked user is refused by the revoking gateway (401) and at the peer; the same person with a new certificate has the new role', async () => {
      const admin = new Client(enterprise.url).as(adminToken);
      const sub = uniqueId('revoked').toLowerCase();
      const onboard = await admin.post('/v1/identities', { sub, role: 'applicant' });
      expect(onboard.status, onboard.text).to.equal(201);
      const old = enrollAtCa(enterprise, 'enterprise', sub, onboard.body.enrollmentSecret, fs.mkdtempSync(path.join(os.tmpdir(), 'revoked-key-')));
      // Whatever the token says, this user is an applicant: the certificate says so.
      const userToken = await token({ sub, org: 'enterprise', role: 'safety_officer' });
      const permitNo = uniqueId('HW');
      const applied = await submitClientSigned({
        gatewayUrl: enterprise.url,
        token: userToken,
        ...old,
        transaction: 'permit:Apply',
        input: applyBody(cast, permitNo),
      });
      expect(applied.status, JSON.stringify(applied.body)).to.equal(200);

      const revoked = await admin.post(`/v1/identities/${sub}/revoke`, { reason: 'superseded' });
      expect(revoked.status, revoked.text).to.equal(200);
      expect(revoked.body.crl).to.contain('BEGIN X509 CRL');
      const crlFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'crl-')), 'crl.pem');
      fs.writeFileSync(crlFile, revoked.body.crl);
      // The org's operator puts the CRL into the channel configuration with the org admin's key.
      execFileSync('bash', [path.join(import.meta.dirname, '..', '..', '..', 'scripts', 'publish-crl.sh'), 'enterprise', crlFile], { stdio: 'pipe' });

      // The gateway that revoked the user refuses its tokens at once, before the peer is asked.
      const refused = await new Client(enterprise.url).as(userToken).post('/v1/transactions/prepare', { transaction: 'permit:Apply', input: {} });
      expect(refused.status, refused.text).to.equal(401);
      expect(refused.body.error.code).to.equal('IDENTITY_REVOKED');
      // A gateway with a wallet of its own has not heard of the revocation: the peer is what refuses.
      const unaware = await startTestGateway({
        GATEWAY_ORG: 'enterprise',
        GATEWAY_WALLET_DIR: fs.mkdtempSync(path.join(walletDir, 'unaware-gateway-')),
        GATEWAY_CA_REGULATOR_REGISTRAR_SECRET_FILE: path.join(walletDir, 'no-such-file'),
        DATABASE_URL: db,
        GATEWAY_OCR_ENABLED: '0',
      });
      const again = await submitClientSigned({
        gatewayUrl: unaware.url,
        token: userToken,
        ...old,
        transaction: 'permit:Apply',
        input: applyBody(cast, uniqueId('HW')),
      }).finally(() => unaware.close());
      expect(again.status, JSON.stringify(again.body)).to.equal(403);
      expect(again.body.error!.code).to.equal('CERTIFICATE_REFUSED');
      expect(again.body.error!.message).to.contain('the peer refused');
      // The peer does not tell the client why; its log says it was the revocation.
      const peerLog = fs.readFileSync(path.join(runDir(), 'logs', 'peer-enterprise.log'), 'utf8');
      const txId = String(again.body.error!.details!.transactionId).slice(0, 8);
      expect(peerLog.split('\n').some((l) => l.includes(`txID=${txId}`) && l.includes('The certificate has been revoked'))).to.equal(true);

      // The role change: a new registration with the new role, a new certificate.
      const promoted = await admin.post('/v1/identities', { sub: `${sub}-2`, role: 'safety_officer' });
      expect(promoted.status, promoted.text).to.equal(201);
      const fresh = enrollAtCa(enterprise, 'enterprise', `${sub}-2`, promoted.body.enrollmentSecret, fs.mkdtempSync(path.join(os.tmpdir(), 'promoted-key-')));
      const rejected = await submitClientSigned({
        gatewayUrl: enterprise.url,
        token: await token({ sub: `${sub}-2`, org: 'enterprise', role: 'applicant' }),
        ...fresh,
        transaction: 'permit:Reject',
        input: { permitNo, reason: 'Scope unclear; apply again with the bracket drawing' },
      });
      expect(rejected.status, JSON.stringify(rejected.body)).to.equal(200);
      expect(rejected.body.record).to.include({ permitNo, status: 'rejected' });
    });
  });

  /** The creator of a committed transaction, read from the regulator's peer with the regulator gateway's own service identity. */
  async function creatorOf(txId: string): Promise<{ mspId: string; certificate: string }> {
    const bytes = await regulator.services.ledger.qscc(await regulator.wallet.serviceIdentity('regulator'), 'GetTransactionByID', txId);
    const processed = peer.ProcessedTransaction.deserializeBinary(bytes);
    const payload = common.Payload.deserializeBinary(processed.getTransactionenvelope()!.getPayload_asU8());
    const sh = common.SignatureHeader.deserializeBinary(payload.getHeader()!.getSignatureHeader_asU8());
    const creator = msp.SerializedIdentity.deserializeBinary(sh.getCreator_asU8());
    return { mspId: creator.getMspid(), certificate: Buffer.from(creator.getIdBytes_asU8()).toString('utf8') };
  }
});
