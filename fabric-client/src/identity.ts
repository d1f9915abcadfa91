/**
 * Who a connection acts as. Custodial: this process holds the certificate and its private key (a
 * cryptogen identity, or a folder `scripts/enroll-user.sh` or fabric-ca-client enrolled). Offline:
 * only the certificate; the key's holder signs each digest elsewhere (signer.ts).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Identity } from '@hyperledger/fabric-gateway';

/** An identity whose private key this process holds. */
export interface SigningIdentity {
  mspId: string;
  /** PEM. */
  certificate: Buffer;
  privateKey: crypto.KeyObject;
}

export interface IdentityFiles {
  certFile: string;
  keyFile: string;
}

export function signingIdentityFromFiles(mspId: string, files: IdentityFiles): SigningIdentity {
  return { mspId, certificate: fs.readFileSync(files.certFile), privateKey: crypto.createPrivateKey(fs.readFileSync(files.keyFile)) };
}

/**
 * The certificate and key of an enrolled MSP folder (`<dir>/msp/signcerts/cert.pem` and its key in
 * `<dir>/msp/keystore/*_sk`), as fabric-ca-client and scripts/enroll-user.sh leave them. A folder
 * enrolled again keeps the earlier keys beside the new one (fabric-ca-client adds, never removes),
 * so the key is the one whose public key is the certificate's, never merely the first file.
 */
export function enrolledIdentityFiles(dir: string): IdentityFiles {
  const keystore = path.join(dir, 'msp', 'keystore');
  const certFile = path.join(dir, 'msp', 'signcerts', 'cert.pem');
  const keys = fs.existsSync(keystore) ? fs.readdirSync(keystore).filter((f) => f.endsWith('_sk')) : [];
  if (keys.length === 0 || !fs.existsSync(certFile)) {
    throw new Error(`${dir} has no msp/signcerts/cert.pem and msp/keystore/*_sk; enrol the identity first (scripts/enroll-user.sh)`);
  }
  if (keys.length === 1) return { certFile, keyFile: path.join(keystore, keys[0]!) };
  const certified = new crypto.X509Certificate(fs.readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  for (const k of keys) {
    const keyFile = path.join(keystore, k);
    let publicKey: Buffer;
    try {
      publicKey = crypto.createPublicKey(crypto.createPrivateKey(fs.readFileSync(keyFile))).export({ type: 'spki', format: 'der' });
    } catch {
      continue; // a key file cut short by a crash is not the certificate's
    }
    if (publicKey.equals(certified)) return { certFile, keyFile };
  }
  throw new Error(`${dir}: none of the ${keys.length} keys in msp/keystore belongs to msp/signcerts/cert.pem; enrol the identity again`);
}

/** The identity fabric-gateway sends as the creator: the MSP and the certificate, never the key. */
export function gatewayIdentity(id: { mspId: string; certificate: Buffer }): Identity {
  return { mspId: id.mspId, credentials: id.certificate };
}
