/**
 * The binding of a JWT subject to its Fabric identity, on the real network and the org's real
 * Fabric CA: the first request registers and enrols the subject with the token's claims as
 * certificate attributes; from then on the certificate decides, and a token whose role, department
 * or workerId differ is refused with 403 IDENTITY_MISMATCH naming the claim. An admin changes the
 * attributes at the CA and has the user re-enrolled; a subject registered at the CA before (a
 * lost wallet) keeps its registered attributes instead of taking the token's.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connectionProfileSchema } from '@compliance-ledger/schema';
import { expect } from 'chai';
import type { RunningGateway } from '../../src/server.js';
import { certificateAttributes } from '../../src/wallet.js';
import { Client, profilePath, requireNetwork, startTestGateway, token, uniqueId, workerId } from '../support/env.js';

describe('gateway: a JWT subject is bound to the attributes of its enrolled certificate (real Fabric CA)', function () {
  this.timeout(180_000);
  let gw: RunningGateway;
  let walletDir: string;
  const sub = uniqueId('gw-id').toLowerCase();
  const signer = workerId(`identity-${sub}`);
  const claims = { sub, org: 'enterprise' as const, role: 'approver' as const, department: 'maintenance', workerId: signer };

  before(async function () {
    requireNetwork(this);
    walletDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-identity-'));
    gw = await startTestGateway({ GATEWAY_WALLET_DIR: walletDir, GATEWAY_OCR_ENABLED: '0' });
  });
  after(async () => {
    await gw?.close();
  });

  /** A read that needs the caller's Fabric identity: 404 from the chaincode once the identity is in order. */
  const read = async (gateway: RunningGateway, c: Record<string, unknown>) => new Client(gateway.url).as(await token(c as never)).get('/v1/permits/NOPE-123');
  const certOf = (dir: string) => certificateAttributes(fs.readFileSync(path.join(dir, 'enterprise', sub, 'msp', 'signcerts', 'cert.pem')));

  /** fabric-ca-client as the enterprise CA's registrar the gateway enrolled (as an admin would). */
  function asRegistrar(args: string[]): void {
    const profile = connectionProfileSchema.parse(JSON.parse(fs.readFileSync(profilePath(), 'utf8')));
    const ca = profile.organizations.enterprise.ca!;
    execFileSync(
      gw.services.config.FABRIC_CA_CLIENT ?? 'fabric-ca-client',
      [...args, '-u', ca.url, '--caname', ca.caName, '--tls.certfiles', ca.tlsCaFile, '-H', path.join(walletDir, 'enterprise', '.registrar')],
      {
        stdio: 'pipe',
        env: { ...process.env, FABRIC_CA_CLIENT_HOME: '' },
      },
    );
  }

  it('enrols the subject on first use with the token claims as certificate attributes', async () => {
    const r = await read(gw, claims);
    expect(r.status, r.text).to.equal(404);
    expect(certOf(walletDir)).to.include({ 'ledger.role': 'approver', 'ledger.department': 'maintenance', 'ledger.workerId': signer });
  });

  it('refuses a token whose department, workerId or role differ from the certificate: 403 IDENTITY_MISMATCH naming each claim', async () => {
    const r = await read(gw, { ...claims, department: 'operations' });
    expect(r.status, r.text).to.equal(403);
    expect(r.body.error.code).to.equal('IDENTITY_MISMATCH');
    expect(r.body.error.message).to.contain('department (token: operations, certificate: maintenance)').and.to.contain('re-enrol');
    expect(r.body.error.details).to.deep.equal({
      sub,
      org: 'enterprise',
      differences: [{ claim: 'department', token: 'operations', certificate: 'maintenance' }],
    });
    const other = workerId('someone-else');
    const two = await read(gw, { ...claims, role: 'applicant', workerId: other });
    expect(two.status).to.equal(403);
    expect(two.body.error.details.differences).to.deep.equal([
      { claim: 'role', token: 'applicant', certificate: 'approver' },
      { claim: 'workerId', token: other, certificate: signer },
    ]);
    const { department: _omitted, ...withoutDepartment } = claims;
    const missing = await read(gw, withoutDepartment);
    expect(missing.body.error.details.differences).to.deep.equal([{ claim: 'department', token: null, certificate: 'maintenance' }]);
    // The identity itself is unchanged: the original claims still work.
    expect((await read(gw, claims)).status).to.equal(404);
  });

  it('reads the attributes from the certificate, not from the wallet copy', async () => {
    const meta = path.join(walletDir, 'enterprise', sub, 'identity.json');
    fs.writeFileSync(meta, JSON.stringify({ ...JSON.parse(fs.readFileSync(meta, 'utf8')), department: 'operations' }));
    const restarted = await startTestGateway({ GATEWAY_WALLET_DIR: walletDir, GATEWAY_OCR_ENABLED: '0' });
    try {
      expect((await read(restarted, claims)).status).to.equal(404);
      expect((await read(restarted, { ...claims, department: 'operations' })).body.error.code).to.equal('IDENTITY_MISMATCH');
    } finally {
      await restarted.close();
    }
  });

  it(
    'an admin changes the attributes at the CA and re-enrols the user (README): the new ' + 'department is bound, the old one refused, without a restart',
    async () => {
      asRegistrar(['identity', 'modify', sub, '--attrs', `ledger.role=approver:ecert,ledger.department=operations:ecert,ledger.workerId=${signer}:ecert`]);
      fs.rmSync(path.join(walletDir, 'enterprise', sub, 'identity.json'));
      const moved = await read(gw, { ...claims, department: 'operations' });
      expect(moved.status, moved.text).to.equal(404);
      expect(certOf(walletDir)).to.include({ 'ledger.department': 'operations' });
      const old = await read(gw, claims);
      expect(old.status).to.equal(403);
      expect(old.body.error.details.differences).to.deep.equal([{ claim: 'department', token: 'maintenance', certificate: 'operations' }]);
    },
  );

  it('a subject registered at the CA before (lost wallet) keeps its registered attributes: a token claiming others is refused, not re-registered', async () => {
    const freshWallet = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-identity-lost-'));
    const other = await startTestGateway({ GATEWAY_WALLET_DIR: freshWallet, GATEWAY_OCR_ENABLED: '0' });
    try {
      const r = await read(other, { ...claims, department: 'warehouse' });
      expect(r.status, r.text).to.equal(403);
      expect(r.body.error.code).to.equal('IDENTITY_MISMATCH');
      expect(r.body.error.details.differences).to.deep.equal([{ claim: 'department', token: 'warehouse', certificate: 'operations' }]);
      expect(certOf(freshWallet)).to.include({ 'ledger.department': 'operations' });
      expect((await read(other, { ...claims, department: 'operations' })).status).to.equal(404);
    } finally {
      await other.close();
    }
  });
});
