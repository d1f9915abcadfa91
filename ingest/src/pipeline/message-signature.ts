import { canonicalJson } from '@compliance-ledger/schema';
import { type BaseWallet, verifyMessage } from 'ethers';
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

/** The address that signed the message, or undefined when unsigned or unrecoverable. */
export function messageSigner(message: StandardMessage): string | undefined {
  if (!message.sig) return undefined;
  try {
    return verifyMessage(signedText(message), message.sig);
  } catch {
    return undefined;
  }
}

/** The device's signed reading as an alarm carries it, or undefined for an unsigned message. */
export function deviceSignedReading(message: StandardMessage): { message: string; signature: string } | undefined {
  return message.sig === undefined ? undefined : { message: signedText(message), signature: message.sig };
}
