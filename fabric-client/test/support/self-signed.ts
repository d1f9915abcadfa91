/**
 * Real X.509 for tests that need a certificate Fabric code would parse: a P-256 key and a
 * self-signed certificate made by openssl. Shared by the packages' tests (fabric-client, chaincode,
 * gateway), so it imports nothing but node's own modules.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface SelfSigned {
  keyFile: string;
  certFile: string;
  keyPem: string;
  certPem: Buffer;
}

/** `<dir>/<name>.key` and `<dir>/<name>.pem`; `extensions` are openssl -addext values. */
export function selfSignedCertificate(dir: string, name: string, o: { subject: string; days?: number; extensions?: string[] }): SelfSigned {
  const keyFile = path.join(dir, `${name}.key`);
  const certFile = path.join(dir, `${name}.pem`);
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile];
  args.push('-subj', o.subject, '-days', String(o.days ?? 1));
  for (const e of o.extensions ?? []) args.push('-addext', e);
  execFileSync('openssl', args, { stdio: 'ignore' });
  return { keyFile, certFile, keyPem: fs.readFileSync(keyFile, 'utf8'), certPem: fs.readFileSync(certFile) };
}
