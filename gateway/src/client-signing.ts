/**
 * The client side of client-signed transactions (routes/client-signed.ts), for users who keep their
 * own key: sign a digest with a PEM key, and the whole prepare → endorse → submit exchange with a
 * gateway. It imports nothing of the gateway's server: with @compliance-ledger/fabric-client (the
 * signer) it is all a client needs.
 * gateway/tools/ledger-sign.ts is its command line.
 */
import { signDigest } from '@compliance-ledger/fabric-client';

/** The signature Fabric expects over a digest the gateway gave (fabric-client's offline signer). */
export { signDigest };

export interface ClientSignedRequest {
  gatewayUrl: string;
  /** The user's JWT: says who is asking; the certificate says what they may do. */
  token: string;
  certificatePem: string;
  privateKeyPem: string | Buffer;
  /** Chaincode transaction, e.g. `permit:Apply`, and its full input. */
  transaction: string;
  input: unknown;
}

/** The answer of a step as JSON: its result on success, the coded error body otherwise. */
export interface ClientSignedBody {
  transactionId?: string;
  proposalDigest?: string;
  transactionDigest?: string;
  error?: { code: string; status: number; message: string; details?: Record<string, unknown> };
  [field: string]: unknown;
}

export interface ClientSignedResult {
  status: number;
  body: ClientSignedBody;
}

/** Prepare, sign, endorse, sign, submit. Returns the first non-2xx answer, or submit's. */
export async function submitClientSigned(r: ClientSignedRequest): Promise<ClientSignedResult> {
  const call = async (path: string, body: unknown): Promise<ClientSignedResult> => {
    const res = await fetch(r.gatewayUrl + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${r.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: ClientSignedBody;
    try {
      parsed = JSON.parse(text) as ClientSignedBody;
    } catch {
      parsed = { text }; // not JSON: passed on as text
    }
    return { status: res.status, body: parsed };
  };
  const prepared = await call('/v1/transactions/prepare', { transaction: r.transaction, input: r.input, certificate: r.certificatePem });
  if (prepared.status !== 200) return prepared;
  const id = prepared.body.transactionId as string;
  const endorsed = await call(`/v1/transactions/${id}/endorse`, { signature: await signDigest(r.privateKeyPem, String(prepared.body.proposalDigest)) });
  if (endorsed.status !== 200) return endorsed;
  return call(`/v1/transactions/${id}/submit`, { signature: await signDigest(r.privateKeyPem, String(endorsed.body.transactionDigest)) });
}
