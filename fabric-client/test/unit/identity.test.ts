import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { enrolledIdentityFiles, signingIdentityFromFiles } from '../../src/identity.js';
import { selfSignedCertificate } from '../support/self-signed.js';

/** A key and a certificate for it, as PEM text. */
function keyAndCertificate(dir: string, name: string): { keyPem: string; certPem: string } {
  const made = selfSignedCertificate(dir, name, { subject: `/CN=${name}` });
  return { keyPem: made.keyPem, certPem: made.certPem.toString('utf8') };
}

describe('enrolled identity folders (fabric-client/identity)', () => {
  let dir: string;
  let msp: string;
  let older: { keyPem: string; certPem: string };
  let newer: { keyPem: string; certPem: string };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'identity-test-'));
    older = keyAndCertificate(dir, 'older');
    newer = keyAndCertificate(dir, 'newer');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    msp = fs.mkdtempSync(path.join(dir, 'user-'));
    fs.mkdirSync(path.join(msp, 'msp', 'keystore'), { recursive: true });
    fs.mkdirSync(path.join(msp, 'msp', 'signcerts'), { recursive: true });
  });

  it('takes the key that belongs to the certificate when an enrolment left an earlier key beside it', () => {
    // File names sort the earlier key first, as a re-enrolment's SKI-named keys may.
    fs.writeFileSync(path.join(msp, 'msp', 'keystore', '00aa_sk'), older.keyPem);
    fs.writeFileSync(path.join(msp, 'msp', 'keystore', 'ffbb_sk'), newer.keyPem);
    fs.writeFileSync(path.join(msp, 'msp', 'signcerts', 'cert.pem'), newer.certPem);
    const files = enrolledIdentityFiles(msp);
    expect(path.basename(files.keyFile)).to.equal('ffbb_sk');
    const id = signingIdentityFromFiles('EnterpriseMSP', files);
    const signature = crypto.sign('sha256', Buffer.from('proposal'), id.privateKey);
    expect(crypto.verify('sha256', Buffer.from('proposal'), new crypto.X509Certificate(id.certificate).publicKey, signature)).to.equal(true);
  });

  it('skips a key file cut short and refuses a folder with no key of the certificate, naming the folder', () => {
    fs.writeFileSync(path.join(msp, 'msp', 'keystore', '00aa_sk'), older.keyPem);
    fs.writeFileSync(path.join(msp, 'msp', 'keystore', '11cc_sk'), newer.keyPem.slice(0, 40));
    fs.writeFileSync(path.join(msp, 'msp', 'signcerts', 'cert.pem'), newer.certPem);
    expect(() => enrolledIdentityFiles(msp)).to.throw(msp);
    expect(() => enrolledIdentityFiles(msp)).to.throw(/none of the 2 keys/);
    fs.writeFileSync(path.join(msp, 'msp', 'keystore', '22dd_sk'), newer.keyPem);
    expect(path.basename(enrolledIdentityFiles(msp).keyFile)).to.equal('22dd_sk');
  });

  it('refuses a folder without a certificate or without a key, saying how to enrol', () => {
    expect(() => enrolledIdentityFiles(msp)).to.throw(/enrol the identity first/);
    fs.writeFileSync(path.join(msp, 'msp', 'signcerts', 'cert.pem'), older.certPem);
    expect(() => enrolledIdentityFiles(msp)).to.throw(/enrol the identity first/);
  });
});
