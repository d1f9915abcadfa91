import { SignerKeys } from '@compliance-ledger/gate-verifier/secp256k1';
import { canonicalJson } from '@compliance-ledger/schema';
import { type BaseWallet, hashMessage } from 'ethers';
import type { StandardMessage } from './message.js';

/**
 * Devices sign each standard message (EIP-191 over its canonical JSON without `sig`), so a reading
 * can be traced to a registered device before any alarm is built from it, and the alarm carries
 * this exact text and signature to the ledger. Ingest requires it unless a site opts out.
 */
export function signedText(message: Omit<StandardMessage, 'sig'> | StandardMessage): string {
  // A clip's bytes are left out: the signed detection carries their sha256, and the signed text
  // goes to the ledger, where clip bytes must never go.
  const { sig: _sig, clip: _clip, ...rest } = message as StandardMessage & { clip?: string };
  return canonicalJson(rest);
}

export async function signStandardMessage<T extends StandardMessage>(wallet: BaseWallet, message: T): Promise<T> {
  const sig = await wallet.signMessage(signedText(message));
  return { ...message, sig };
}

/** Without tables, every signature's signer is recovered. */
const RECOVERY_ONLY = new SignerKeys(0);

/**
 * Whether the device at `address` signed the message: against its key's table when `keys` holds one
 * (gate-verifier/src/secp256k1.ts: about 0.2 ms, against 1.3 ms for recovering the signer, which
 * every message cost before), else by recovery; false when unsigned or malformed.
 */
export function signedByDevice(message: StandardMessage, address: string, keys: SignerKeys = RECOVERY_ONLY): boolean {
  if (!message.sig) return false;
  try {
    return keys.signedBy(hashMessage(signedText(message)), message.sig, address);
  } catch {
    return false;
  }
}

/** The device's signed reading as an alarm carries it, or undefined for an unsigned message. */
export function deviceSignedReading(message: StandardMessage): { message: string; signature: string } | undefined {
  return message.sig === undefined ? undefined : { message: signedText(message), signature: message.sig };
}
