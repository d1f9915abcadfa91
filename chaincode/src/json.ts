import { canonicalJson } from '@compliance-ledger/schema';

// One canonical JSON for the chaincode, the services and the verifier: see schema/src/canonical-json.ts.
export { canonicalJson };

export function toBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
