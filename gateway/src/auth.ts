/**
 * Authentication: a Bearer JWT verified with keys from configuration (HS256 secret, or an RS256 /
 * ES256 public key), or an X-API-Key for machines (only its sha256 is configured). Either yields a
 * Principal: who (sub), which org, which ledger role, and the optional department and worker id
 * that the chaincode checks on sign-offs.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { formatZodIssues, ROLES, type Role, workerIdSchema } from '@compliance-ledger/schema';
import { decodeJwt, importSPKI, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { z } from 'zod';
import type { GatewayConfig } from './config.js';
import { ForbiddenError, UnauthenticatedError } from './errors.js';

export const ORGS = ['enterprise', 'regulator'] as const;
export type Org = (typeof ORGS)[number];

/** Enrollment ids at Fabric CA: staff numbers, not names. */
export const subjectSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'sub must be 1-64 characters of A-Z a-z 0-9 . _ -');
export const principalSchema = z.object({
  sub: subjectSchema,
  org: z.enum(ORGS),
  role: z.enum(ROLES),
  department: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
    .optional(),
  workerId: workerIdSchema.optional(),
});
export type PrincipalClaims = z.infer<typeof principalSchema>;
export interface Principal extends PrincipalClaims {
  via: 'jwt' | 'api_key';
  /** A JWT's `exp`, ms. */
  expiresAtMs?: number;
}

/**
 * What the sign-in limits count a presented credential by, before it is checked: its sha256
 * (`fingerprint`), and the subject it claims (`subject`: a JWT's unverified `sub`; an API key is
 * its own subject). Nothing here is trusted: it only names buckets.
 */
export interface PresentedCredential {
  kind: 'jwt' | 'api_key';
  fingerprint: string;
  subject: string;
}

/** The credential a request presents, as authenticate() would pick it; undefined when it presents none. */
export function presentedCredential(headers: {
  authorization?: string | undefined;
  'x-api-key'?: string | string[] | undefined;
}): PresentedCredential | undefined {
  const sha = (v: string) => crypto.createHash('sha256').update(v).digest('hex');
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.length > 0) {
    const fingerprint = sha(`api_key\n${apiKey}`);
    return { kind: 'api_key', fingerprint, subject: `api_key:${fingerprint}` };
  }
  const auth = headers.authorization;
  if (!auth) return undefined;
  const fingerprint = sha(`authorization\n${auth}`);
  let sub: unknown;
  try {
    sub = decodeJwt(auth.replace(/^Bearer /, '')).sub;
  } catch {
    /* not a JWT: counted by its fingerprint alone */
  }
  return { kind: 'jwt', fingerprint, subject: typeof sub === 'string' && subjectSchema.safeParse(sub).success ? `sub:${sub}` : `jwt:${fingerprint}` };
}

const apiKeyFileSchema = z.array(principalSchema.extend({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }));

/** How many verified tokens the gateway remembers; the oldest goes first. */
const VERIFIED_TOKENS_KEPT = 10_000;

export class Authenticator {
  private readonly hsKey: Uint8Array | undefined;
  private publicKey: Awaited<ReturnType<typeof importSPKI>> | undefined;
  private readonly publicKeyPem: string | undefined;
  private readonly apiKeys = new Map<string, PrincipalClaims>();
  /**
   * Tokens already verified, until their expiry: a client sends the same token with every request,
   * and verifying its HS256 signature through WebCrypto was about 5 % of the gateway's CPU under
   * load (bench/RESULTS.md, saturation). Only the signature, issuer, audience and claims are
   * cached; revocation is checked on every request elsewhere, as before.
   */
  private readonly verified = new Map<string, { principal: Principal; untilMs: number }>();

  constructor(private readonly cfg: GatewayConfig) {
    this.hsKey = cfg.GATEWAY_JWT_HS256_SECRET ? new TextEncoder().encode(cfg.GATEWAY_JWT_HS256_SECRET) : undefined;
    this.publicKeyPem = cfg.GATEWAY_JWT_PUBLIC_KEY_FILE ? fs.readFileSync(cfg.GATEWAY_JWT_PUBLIC_KEY_FILE, 'utf8') : undefined;
    if (cfg.GATEWAY_API_KEYS_FILE) {
      const parsed = apiKeyFileSchema.safeParse(JSON.parse(fs.readFileSync(cfg.GATEWAY_API_KEYS_FILE, 'utf8')));
      if (!parsed.success) throw new Error(`GATEWAY_API_KEYS_FILE: ${formatZodIssues(parsed.error)}`);
      for (const { sha256, ...claims } of parsed.data) this.apiKeys.set(sha256, claims);
    }
  }

  async authenticate(headers: { authorization?: string | undefined; 'x-api-key'?: string | string[] | undefined }): Promise<Principal> {
    const apiKey = headers['x-api-key'];
    if (typeof apiKey === 'string' && apiKey.length > 0) {
      const digest = crypto.createHash('sha256').update(apiKey).digest('hex');
      const claims = this.apiKeys.get(digest);
      if (!claims) throw new UnauthenticatedError('unknown API key');
      return { ...claims, via: 'api_key' };
    }
    const auth = headers.authorization;
    if (!auth) throw new UnauthenticatedError(undefined, false);
    const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(auth);
    if (!m) throw new UnauthenticatedError('the Authorization header must be "Bearer <JWT>"');
    const known = this.verified.get(m[1]!);
    if (known !== undefined && Date.now() < known.untilMs) return { ...known.principal };
    let payload: Record<string, unknown>;
    try {
      payload = (
        await jwtVerify(m[1]!, this.keyResolver(), {
          algorithms: ['HS256', 'RS256', 'ES256'],
          ...(this.cfg.GATEWAY_JWT_ISSUER ? { issuer: this.cfg.GATEWAY_JWT_ISSUER } : {}),
          ...(this.cfg.GATEWAY_JWT_AUDIENCE ? { audience: this.cfg.GATEWAY_JWT_AUDIENCE } : {}),
          requiredClaims: ['sub', 'exp'],
        })
      ).payload as Record<string, unknown>;
    } catch (e) {
      throw new UnauthenticatedError(`invalid token: ${(e as Error).message}`);
    }
    const claims = principalSchema.safeParse({
      sub: payload.sub,
      org: payload.org,
      role: payload.role,
      department: payload.department,
      workerId: payload.workerId,
    });
    if (!claims.success) throw new UnauthenticatedError(`invalid token claims: ${formatZodIssues(claims.error)}`);
    const principal: Principal = { ...claims.data, via: 'jwt', ...(typeof payload.exp === 'number' ? { expiresAtMs: payload.exp * 1000 } : {}) };
    if (typeof payload.exp === 'number') {
      if (this.verified.size >= VERIFIED_TOKENS_KEPT) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(m[1]!, { principal, untilMs: payload.exp * 1000 });
    }
    return { ...principal };
  }

  private keyResolver(): JWTVerifyGetKey {
    return async (header) => {
      if (header.alg === 'HS256') {
        if (!this.hsKey) throw new Error('HS256 tokens are not accepted');
        return this.hsKey;
      }
      if (!this.publicKeyPem) throw new Error(`${header.alg} tokens are not accepted`);
      this.publicKey ??= await importSPKI(this.publicKeyPem, header.alg);
      return this.publicKey;
    };
  }
}

/** Whether the principal's org and role are among the allowed. */
export function mayAccess(p: Pick<PrincipalClaims, 'org' | 'role'>, allowed: Partial<Record<Org, readonly Role[] | 'any'>>): boolean {
  const roles = allowed[p.org];
  return roles === 'any' || (roles?.includes(p.role) ?? false);
}

/** Role and org check the gateway makes itself, before the chaincode makes its own. */
export function requireRole(p: Principal, allowed: Partial<Record<Org, readonly Role[] | 'any'>>): void {
  if (!mayAccess(p, allowed)) {
    const who = Object.entries(allowed)
      .map(([org, r]) => `${org}: ${r === 'any' ? 'any role' : (r as readonly Role[]).join(', ')}`)
      .join('; ');
    throw new ForbiddenError(`role ${p.role} of ${p.org} may not do this (allowed: ${who})`);
  }
}
