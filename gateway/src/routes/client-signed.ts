/**
 * Client-signed transactions: the user keeps the private key and signs; the gateway builds, sends
 * and watches. Three steps, each a digest the client signs with the key of the certificate it
 * named (fabric-gateway's offline signing):
 *
 *   prepare  { transaction, input, certificate } → the proposal digest (and the transaction id)
 *   endorse  { signature of the proposal digest } → the endorsed transaction's digest
 *   submit   { signature of the transaction digest } → committed: the block, the result
 *
 * The certificate decides who writes: it must be issued by this gateway's org's CA, name the
 * token's subject, be valid now, and carry a `ledger.role` the transaction admits (TX_ACCESS, the
 * chaincode's own table, which the chaincode then checks again against the same certificate).
 * The token only authenticates which identity this is.
 *
 * Pending transactions live in this process only (GATEWAY_CLIENT_SIGNED_TTL_MS): a restart or the
 * time limit drops them and the client prepares again; nothing was written until submit.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { answerOfEndorsed, handOver } from '@compliance-ledger/fabric-client';
import { allowedRoles, DEPARTMENT_ATTRIBUTE, ROLE_ATTRIBUTE, TX_ACCESS, TX_INPUT_SCHEMAS, type TxName, WORKER_ID_ATTRIBUTE } from '@compliance-ledger/schema';
import type { Gateway, Proposal, Transaction } from '@hyperledger/fabric-gateway';
import { z } from 'zod';
import type { Org, Principal } from '../auth.js';
import { ApiError, ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { RouteDef } from '../http.js';
import { txResultBody } from '../ledger.js';
import type { Services } from '../services.js';
import { certificateAttributes, type Wallet } from '../wallet.js';
import { txResultSchema } from './common.js';

const TAG = 'client-signed transactions';
const TX_NAMES = Object.keys(TX_INPUT_SCHEMAS) as [TxName, ...TxName[]];
const base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64 (standard alphabet)')
  .max(4096);
const transactionIdParam = z.strictObject({ transactionId: z.string().regex(/^[0-9a-f]{64}$/, 'the transactionId prepare returned (64 hex characters)') });

interface Pending {
  owner: string;
  org: Org;
  tx: TxName;
  gateway: Gateway;
  proposal: Proposal;
  transaction?: Transaction;
  /** The answer of a submit that completed: a repeat gets it again. */
  outcome?: unknown;
  submitting?: Promise<unknown>;
  expiresAt: number;
}

interface ParsedCertificate {
  issuedByOrg: boolean;
  validFrom: number;
  validTo: number;
  cn: string | undefined;
  attrs: Record<string, string>;
  /** The PEM as node re-encodes it: what goes into the proposal as the creator. */
  pem: Buffer;
}

/** What the certificate says about its holder, checked against this gateway's org and the token. */
export interface CertifiedSigner {
  org: Org;
  mspId: string;
  sub: string;
  role: string;
  department: string | null;
  workerId: string | null;
  certificate: Buffer;
}

export class ClientSignedTransactions {
  private readonly pending = new Map<string, Pending>();
  private readonly caCertificates = new Map<Org, crypto.X509Certificate>();
  private readonly certificates = new Map<string, ParsedCertificate>();

  constructor(
    private readonly s: Services,
    private readonly wallet: Wallet,
    private readonly ttlMs: number,
  ) {}

  /** The certificate's holder, or 403 CERTIFICATE_REFUSED saying what is wrong with it. */
  certify(principal: Principal, pem: string): CertifiedSigner {
    const org = principal.org;
    const c = this.parsed(pem, org);
    if (!c.issuedByOrg) throw refused(`the certificate is not issued by the ${org} org's CA (${this.caCertificate(org).subject.replace(/\n/g, ', ')})`);
    const now = Date.now();
    if (c.validFrom > now || c.validTo < now)
      throw refused(`the certificate is not valid now (${new Date(c.validFrom).toISOString()} to ${new Date(c.validTo).toISOString()})`);
    if (c.cn !== principal.sub)
      throw refused(`the certificate is ${c.cn ?? 'without a CN'}'s, the token is ${principal.sub}'s: sign with your own certificate`);
    return {
      org,
      mspId: this.s.ledger.mspId(org),
      sub: c.cn,
      role: c.attrs[ROLE_ATTRIBUTE] ?? '',
      department: c.attrs[DEPARTMENT_ATTRIBUTE] ?? null,
      workerId: c.attrs[WORKER_ID_ATTRIBUTE] ?? null,
      certificate: c.pem,
    };
  }

  /**
   * A certificate as parsed and checked against the org's CA once: a key holder sends the same one
   * with every transaction, and the signature check is the costly part. Revocation is not decided
   * here but by the peers, so keeping the result cannot let a revoked certificate through.
   */
  private parsed(pem: string, org: Org): ParsedCertificate {
    const key = `${org}\n${pem}`;
    let c = this.certificates.get(key);
    if (!c) {
      let cert: crypto.X509Certificate;
      try {
        cert = new crypto.X509Certificate(pem);
      } catch {
        throw new ValidationError([{ path: 'body.certificate', message: 'not a PEM X.509 certificate' }]);
      }
      c = {
        issuedByOrg: cert.verify(this.caCertificate(org).publicKey),
        validFrom: Date.parse(cert.validFrom),
        validTo: Date.parse(cert.validTo),
        cn: /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1],
        attrs: certificateAttributes(pem),
        pem: Buffer.from(cert.toString()),
      };
      if (this.certificates.size >= 10_000) this.certificates.clear();
      this.certificates.set(key, c);
    }
    return c;
  }

  private caCertificate(org: Org): crypto.X509Certificate {
    let c = this.caCertificates.get(org);
    if (!c) {
      const ca = this.s.ledger.profile.organizations[org].ca;
      if (!ca) throw new ApiError('NOT_CONFIGURED', `the ${org} org has no Fabric CA in the connection profile`);
      c = new crypto.X509Certificate(fs.readFileSync(ca.tlsCaFile));
      this.caCertificates.set(org, c);
    }
    return c;
  }

  prepare(
    principal: Principal,
    tx: TxName,
    input: unknown,
    pem: string,
  ): { transactionId: string; proposalDigest: string; expiresAt: string; signer: Omit<CertifiedSigner, 'certificate'> } {
    const checked = TX_INPUT_SCHEMAS[tx].safeParse(input);
    if (!checked.success) throw ValidationError.fromZod(checked.error, 'body');
    const signer = this.certify(principal, pem);
    // The role is the certificate's: the same attribute the chaincode reads from the creator.
    const allowed = allowedRoles(TX_ACCESS[tx], signer.mspId) ?? [];
    if (!(allowed as readonly string[]).includes(signer.role)) {
      throw refused(
        `the certificate's ${ROLE_ATTRIBUTE} is ${signer.role || 'missing'}; ${tx} needs one of: ${allowed.join(', ') || `none of ${signer.mspId}`}`,
      );
    }
    this.sweep();
    const gateway = this.s.ledger.offlineGateway(signer.org, signer.mspId, signer.certificate);
    const proposal = this.s.ledger.newUnsignedProposal(gateway, tx, input);
    const expiresAt = Date.now() + this.ttlMs;
    this.pending.set(proposal.getTransactionId(), { owner: owner(principal), org: signer.org, tx, gateway, proposal, expiresAt });
    const { certificate: _c, ...shown } = signer;
    return {
      transactionId: proposal.getTransactionId(),
      proposalDigest: b64(proposal.getDigest()),
      expiresAt: new Date(expiresAt).toISOString(),
      signer: shown,
    };
  }

  async endorse(principal: Principal, txId: string, signature: string): Promise<{ transactionId: string; transactionDigest: string }> {
    const p = this.find(principal, txId);
    if (p.transaction) throw new ConflictError('INVALID_STATE', `transaction ${txId} is endorsed already; sign its transactionDigest and submit it`);
    const signed = p.gateway.newSignedProposal(p.proposal.getBytes(), Buffer.from(signature, 'base64'));
    try {
      p.transaction = await signed.endorse();
    } catch (e) {
      // A refusal by the other org's peer alone (it is behind) is a 503: endorse again with the same signature.
      throw this.s.ledger.translate(e, txId, this.s.ledger.mspId(p.org));
    }
    return { transactionId: txId, transactionDigest: b64(p.transaction.getDigest()) };
  }

  async submit(principal: Principal, txId: string, signature: string): Promise<unknown> {
    const p = this.find(principal, txId);
    if (p.outcome) return p.outcome;
    if (!p.transaction) throw new ConflictError('INVALID_STATE', `transaction ${txId} is not endorsed yet; sign its proposalDigest and call endorse first`);
    // A repeat while the first submit runs waits for the same outcome instead of sending it twice.
    p.submitting ??= this.send(p, txId, signature).finally(() => (p.submitting = undefined));
    return p.submitting;
  }

  private async send(p: Pending, txId: string, signature: string): Promise<unknown> {
    const signed = p.gateway.newSignedTransaction(p.transaction!.getBytes(), Buffer.from(signature, 'base64'));
    let answer: Uint8Array;
    try {
      // As submit() reads it, before anything is ordered (fabric-client answerOf).
      answer = answerOfEndorsed(p.transaction!, this.s.ledger.chaincode);
      // An unanswered hand-over is repeated with the same signed transaction before it counts as unknown.
      await handOver(() => signed.submit(), txId, p.gateway.getIdentity().mspId);
    } catch (e) {
      throw this.s.ledger.translate(e, txId);
    }
    // The user's signed transaction is handed over again if its status is slow to come (fabric-client committedBlock).
    const committed = await this.s.ledger.awaitCommit(await this.wallet.serviceIdentity(p.org), txId, answer, () => signed.submit());
    this.s.metrics.ledgerTx.inc({ tx: p.tx });
    p.outcome = txResultBody(committed);
    return p.outcome;
  }

  private find(principal: Principal, txId: string): Pending {
    this.sweep();
    const p = this.pending.get(txId);
    if (!p || p.owner !== owner(principal))
      throw new NotFoundError(
        `no pending transaction ${txId} of yours (prepared ones expire after ${this.ttlMs} ms and with a gateway restart); prepare it again`,
      );
    return p;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, p] of this.pending) {
      if (p.expiresAt < now && !p.submitting) {
        p.gateway.close();
        this.pending.delete(id);
      }
    }
  }

  close(): void {
    for (const p of this.pending.values()) p.gateway.close();
    this.pending.clear();
  }
}

const owner = (p: Principal) => `${p.org}/${p.sub}`;
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
const refused = (message: string) => new ApiError('CERTIFICATE_REFUSED', message);

const signerSchema = z.object({
  org: z.string(),
  mspId: z.string(),
  sub: z.string(),
  role: z.string(),
  department: z.string().nullable(),
  workerId: z.string().nullable(),
});

export function clientSignedRoutes(cs: ClientSignedTransactions): RouteDef[] {
  const ANY = { enterprise: 'any', regulator: 'any' } as const;
  return [
    {
      method: 'post',
      path: '/v1/transactions/prepare',
      operationId: 'prepareClientSignedTransaction',
      summary: 'Build a transaction for your own certificate and key: returns the proposal digest to sign',
      description:
        'The body names the chaincode transaction and its full input (as the route that writes it ' +
        'takes it, with the key from the path inside), and the PEM certificate you enrolled at ' +
        "your org's CA. The role check reads `ledger.role` from that certificate. Sign " +
        '`proposalDigest` (ECDSA P-256 over the SHA-256 digest given, DER, low-S; ' +
        '`gateway/tools/ledger-sign.ts`) and call endorse. Nothing is written.',
      tags: [TAG],
      auth: true,
      access: ANY,
      sideEffectFree: true,
      body: z.strictObject({ transaction: z.enum(TX_NAMES), input: z.unknown(), certificate: z.string().min(100).max(16_384) }),
      responses: [
        {
          status: 200,
          description: 'the proposal to sign',
          schema: z.object({ transactionId: z.string(), proposalDigest: z.string(), expiresAt: z.string(), signer: signerSchema }),
        },
      ],
      errors: ['CERTIFICATE_REFUSED', 'NOT_CONFIGURED'],
      handler: async (ctx) => {
        const b = ctx.body as { transaction: TxName; input: unknown; certificate: string };
        return { body: cs.prepare(ctx.principal, b.transaction, b.input, b.certificate) };
      },
    },
    {
      method: 'post',
      path: '/v1/transactions/{transactionId}/endorse',
      operationId: 'endorseClientSignedTransaction',
      summary: "Send the signed proposal to both orgs' peers: returns the transaction digest to sign",
      tags: [TAG],
      auth: true,
      access: ANY,
      sideEffectFree: true,
      params: transactionIdParam,
      body: z.strictObject({ signature: base64.describe('base64 DER ECDSA signature of proposalDigest') }),
      responses: [
        { status: 200, description: 'endorsed; sign transactionDigest', schema: z.object({ transactionId: z.string(), transactionDigest: z.string() }) },
      ],
      errors: ['NOT_FOUND', 'INVALID_STATE', 'RULE_VIOLATION', 'ALREADY_EXISTS', 'CONFLICT', 'FORBIDDEN'],
      handler: async (ctx) => ({ body: await cs.endorse(ctx.principal, ctx.params.transactionId!, (ctx.body as { signature: string }).signature) }),
    },
    {
      method: 'post',
      path: '/v1/transactions/{transactionId}/submit',
      operationId: 'submitClientSignedTransaction',
      summary: 'Send the signed transaction to the orderer and wait for its commit',
      description:
        'Answers like the write routes once the transaction is committed. Repeating the call ' +
        'returns the same outcome; the transaction id, fixed by your signature, cannot be written ' +
        'twice, so no Idempotency-Key is needed.',
      tags: [TAG],
      auth: true,
      access: ANY,
      selfIdempotent: true,
      params: transactionIdParam,
      body: z.strictObject({ signature: base64.describe('base64 DER ECDSA signature of transactionDigest') }),
      responses: [{ status: 200, description: 'committed', schema: txResultSchema }],
      errors: ['NOT_FOUND', 'INVALID_STATE', 'CONFLICT'],
      handler: async (ctx) => ({ body: await cs.submit(ctx.principal, ctx.params.transactionId!, (ctx.body as { signature: string }).signature) }),
    },
  ];
}
