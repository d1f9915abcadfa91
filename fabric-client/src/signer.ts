/**
 * Signatures as Fabric expects them: ECDSA P-256 over the SHA-256 digest, DER, with a low S (peers
 * refuse a high S; fabric-gateway's private key signer normalises it).
 */
import * as crypto from 'node:crypto';
import { type Signer, signers } from '@hyperledger/fabric-gateway';

export type { Signer } from '@hyperledger/fabric-gateway';

export function newSigner(privateKey: crypto.KeyObject | string | Buffer): Signer {
  return signers.newPrivateKeySigner(privateKey instanceof crypto.KeyObject ? privateKey : crypto.createPrivateKey(privateKey));
}

/** The offline half of client-signed transactions: the signature over a digest someone else built (base64 in, base64 out). */
export async function signDigest(privateKey: crypto.KeyObject | string | Buffer, digestBase64: string): Promise<string> {
  return Buffer.from(await newSigner(privateKey)(Buffer.from(digestBase64, 'base64'))).toString('base64');
}
