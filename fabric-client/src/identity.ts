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
 * The certificate and key of an enrolled MSP folder (`<dir>/msp/signcerts/cert.pem` and the one
 * `<dir>/msp/keystore/*_sk`), as fabric-ca-client and scripts/enroll-user.sh leave them.
 */
export function enrolledIdentityFiles(dir: string): IdentityFiles {
  const keystore = path.join(dir, 'msp', 'keystore');
  const certFile = path.join(dir, 'msp', 'signcerts', 'cert.pem');
  const key = fs.existsSync(keystore) ? fs.readdirSync(keystore).find((f) => f.endsWith('_sk')) : undefined;
  if (key === undefined || !fs.existsSync(certFile)) {
    throw new Error(`${dir} has no msp/signcerts/cert.pem and msp/keystore/*_sk; enrol the identity first (scripts/enroll-user.sh)`);
  }
  return { certFile, keyFile: path.join(keystore, key) };
}

/** The identity fabric-gateway sends as the creator: the MSP and the certificate, never the key. */
export function gatewayIdentity(id: { mspId: string; certificate: Buffer }): Identity {
  return { mspId: id.mspId, credentials: id.certificate };
}
