import { readFileSync } from 'node:fs';
import { Wallet } from 'ethers';

/**
 * The credential office's signing key as a file (format version 1): `{version, officeId, address,
 * privateKey}`. The address is registered on the ledger as a device of kind `credential_office`
 * under `officeId`; the key signs worker codes and nothing else.
 */
export interface CredentialOfficeKeyFile {
  version: 1;
  officeId: string;
  address: string;
  privateKey: string;
}

export interface CredentialOfficeKey {
  officeId: string;
  wallet: Wallet;
}

export function generateCredentialOfficeKey(officeId: string): CredentialOfficeKeyFile {
  const w = Wallet.createRandom();
  return { version: 1, officeId, address: w.address, privateKey: w.privateKey };
}

/** Reads and checks a key file; the message says which field is wrong. */
export function loadCredentialOfficeKey(path: string): CredentialOfficeKey {
  const f = JSON.parse(readFileSync(path, 'utf8')) as Partial<CredentialOfficeKeyFile>;
  if (f.version !== 1) throw new Error(`${path}: version must be 1`);
  if (typeof f.officeId !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(f.officeId)) throw new Error(`${path}: officeId must be a device id`);
  if (typeof f.privateKey !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(f.privateKey)) throw new Error(`${path}: privateKey must be 0x and 64 hex digits`);
  const wallet = new Wallet(f.privateKey);
  if (typeof f.address !== 'string' || wallet.address.toLowerCase() !== f.address.toLowerCase()) {
    throw new Error(`${path}: the address does not belong to the private key of ${f.officeId}`);
  }
  return { officeId: f.officeId, wallet };
}
