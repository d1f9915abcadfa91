/** Names of Fabric's transaction validation codes (peer.TxValidationCode), for messages and for the retry decision. */
import { peer } from '@hyperledger/fabric-protos';

const NAMES: Readonly<Record<number, string>> = Object.freeze(
  Object.fromEntries(Object.entries(peer.TxValidationCode).map(([name, code]) => [code as number, name])),
);

export function validationCodeName(code: number): string {
  return NAMES[code] ?? String(code);
}
