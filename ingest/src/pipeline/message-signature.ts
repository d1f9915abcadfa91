import { canonicalJson } from '@compliance-ledger/schema';
import { type BaseWallet, verifyMessage } from 'ethers';
import type { StandardMessage } from './message.js';

/**
 * Devices may sign each standard message (EIP-191 over its canonical JSON without `sig`), so a
 * reading can be traced to a registered device before any alarm is built from it. Vendor
 * payloads cannot carry this signature; whether unsigned messages are accepted is configuration.
 */
function signedText(message: Omit<StandardMessage, 'sig'> | StandardMessage): string {
  const { sig: _ignored, ...rest } = message as StandardMessage;
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
