/**
 * A client certificate issued with an org's own CA key, as that org can issue any certificate: its
 * subject and Fabric CA's attribute extension (OID 1.2.3.4.5.6.7.8.1, the JSON fabric-shim reads
 * the `ledger.*` attributes from) are what the test writes, including text Fabric CA's tools would
 * not pass on. The CA's key and certificate are the ones `scripts/network.sh` starts the org's
 * Fabric CA with (`priv_sk` beside the CA certificate the profile names).
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SigningIdentity } from '@compliance-ledger/fabric-client';
import type { ConnectionProfile, OrganizationName } from '@compliance-ledger/schema';

export function issuedByOrgCa(profile: ConnectionProfile, org: OrganizationName, commonName: string, attrs: Record<string, string>): SigningIdentity {
  const o = profile.organizations[org];
  const caCert = o.ca?.tlsCaFile;
  const caKey = caCert && path.join(path.dirname(caCert), 'priv_sk');
  if (!caCert || !caKey || !fs.existsSync(caKey)) throw new Error(`the ${org} CA's key is not beside ${caCert} (priv_sk): run scripts/network.sh up`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'org-ca-'));
  const f = (name: string) => path.join(dir, name);
  const extension = Buffer.from(JSON.stringify({ attrs: { 'hf.EnrollmentID': commonName, 'hf.Type': 'client', ...attrs } }), 'utf8');
  fs.writeFileSync(
    f('ext.cnf'),
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n1.2.3.4.5.6.7.8.1=DER:${extension.toString('hex').toUpperCase()}\n`,
  );
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('k.pem')], { stdio: 'ignore' });
  execFileSync('openssl', ['req', '-new', '-key', f('k.pem'), '-subj', `/OU=client/CN=${commonName}`, '-out', f('r.csr')], { stdio: 'ignore' });
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      f('r.csr'),
      '-CA',
      caCert,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      f('ext.cnf'),
      '-out',
      f('c.pem'),
    ],
    { stdio: 'ignore' },
  );
  const identity = { mspId: o.mspId, certificate: fs.readFileSync(f('c.pem')), privateKey: crypto.createPrivateKey(fs.readFileSync(f('k.pem'))) };
  fs.rmSync(dir, { recursive: true, force: true });
  return identity;
}
