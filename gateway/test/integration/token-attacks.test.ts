/**
 * Token attacks against a gateway of one org set up as a deployment is (RS256 public key, issuer
 * and audience of its own, no HS256 secret), on the real network: an expired token, a token signed
 * with another key, `alg: none`, HS256 signed with the gateway's public key (HS/RS confusion), a
 * token issued for the other org's gateway (its issuer and audience), and a token of a revoked
 * subject. Each is refused with 401 and its code on a read and on a write whose body is valid, and
 * the channel height is the same afterwards.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { type JWTPayload, SignJWT } from 'jose';
import type { PrincipalClaims } from '../../src/auth.js';
import type { RunningGateway } from '../../src/server.js';
import { Client, chainHeight, createDatabase, dropDatabase, requireNetwork, startTestGateway, uniqueId } from '../support/env.js';

const ISSUER = 'https://idp.enterprise.example';
const AUDIENCE = 'enterprise-gateway';
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('gateway: forged, expired, wrong-algorithm, other-org and revoked tokens are refused with 401 (real network)', function () {
  this.timeout(180_000);
  let gw: RunningGateway;
  let db: string | undefined;
  let heightBefore: number;
  const gatewayKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const attackerKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKeyPem = gatewayKey.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const tag = crypto.randomBytes(4).toString('hex');
  const officer: PrincipalClaims = { sub: `tok-officer-${tag}`, org: 'enterprise', role: 'safety_officer' };

  /** A token as the enterprise's identity provider issues them, with whatever is overridden. */
  function issued(claims: PrincipalClaims, o: { key?: crypto.KeyObject; iss?: string; aud?: string; exp?: number | string } = {}): Promise<string> {
    const { sub, ...rest } = claims;
    return new SignJWT({ ...rest })
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject(sub)
      .setIssuer(o.iss ?? ISSUER)
      .setAudience(o.aud ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(o.exp ?? '10m')
      .sign(o.key ?? gatewayKey.privateKey);
  }

  /** The read and the write an attacker would try; the write's body is valid, so only the token stands in its way. */
  async function attempts(tokenValue: string) {
    const c = new Client(gw.url).as(tokenValue);
    const read = await c.get('/v1/devices/tok-gate-1');
    const write = await c.post('/v1/devices/tok-gate-1/status', { status: 'disabled', reason: 'signing key may be compromised' });
    return [read, write];
  }

  before(async function () {
    requireNetwork(this);
    db = await createDatabase('gw_tokens');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-tokens-'));
    fs.writeFileSync(path.join(dir, 'jwt.pub.pem'), publicKeyPem);
    gw = await startTestGateway({
      GATEWAY_ORG: 'enterprise',
      GATEWAY_JWT_HS256_SECRET: undefined,
      GATEWAY_JWT_PUBLIC_KEY_FILE: path.join(dir, 'jwt.pub.pem'),
      GATEWAY_JWT_ISSUER: ISSUER,
      GATEWAY_JWT_AUDIENCE: AUDIENCE,
      // A wallet of its own: the revocation below is recorded in it.
      GATEWAY_WALLET_DIR: path.join(dir, 'wallet'),
      // Every attack here is a failed sign-in from one address: the sign-in limit is not under test.
      GATEWAY_AUTH_FAILURES_PER_WINDOW: '1000',
      DATABASE_URL: db,
      GATEWAY_OCR_ENABLED: '0',
    });
    heightBefore = await chainHeight();
  });
  after(async () => {
    await gw?.close();
    await dropDatabase(db);
  });

  it('accepts a token as the identity provider issues it (the control)', async () => {
    const r = await new Client(gw.url).as(await issued(officer)).get('/v1/devices/tok-gate-1');
    expect(r.status, r.text).to.equal(404);
  });

  const attacks: [string, () => Promise<string>, RegExp][] = [
    ['expired', () => issued(officer, { exp: Math.floor(Date.now() / 1000) - 60 }), /exp/],
    ['signed with another key', () => issued(officer, { key: attackerKey.privateKey }), /signature/],
    [
      'alg: none',
      async () => {
        const claims: JWTPayload = { ...officer, iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 };
        return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
      },
      /alg|none|not allowed|unsupported/i,
    ],
    [
      'HS256 signed with the public key (HS/RS confusion)',
      () =>
        new SignJWT({ org: officer.org, role: officer.role })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject(officer.sub)
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime('10m')
          .sign(new TextEncoder().encode(publicKeyPem)),
      /HS256/,
    ],
    ['issued for the other org (its issuer)', () => issued(officer, { iss: 'https://idp.regulator.example' }), /iss/],
    ['issued for the other org (its audience)', () => issued(officer, { aud: 'regulator-gateway' }), /aud/],
  ];
  for (const [name, make, reason] of attacks) {
    it(`refuses a token ${name}: 401 UNAUTHENTICATED, nothing written`, async () => {
      for (const r of await attempts(await make())) {
        expect(r.status, r.text).to.equal(401);
        expect(r.body.error.code).to.equal('UNAUTHENTICATED');
        expect(r.body.error.message).to.match(reason);
      }
    });
  }

  it('refuses the tokens of a revoked subject: 401 IDENTITY_REVOKED, also tokens issued after the revocation', async () => {
    const user: PrincipalClaims = { sub: uniqueId('tok-revoked').toLowerCase(), org: 'enterprise', role: 'safety_officer' };
    const before = await new Client(gw.url).as(await issued(user)).get('/v1/devices/tok-gate-1');
    expect(before.status, 'the user is enrolled and reads before the revocation').to.equal(404);
    const admin = new Client(gw.url).as(await issued({ sub: `tok-admin-${tag}`, org: 'enterprise', role: 'admin' }));
    const revoked = await admin.post(`/v1/identities/${user.sub}/revoke`, { reason: 'keycompromise' });
    expect(revoked.status, revoked.text).to.equal(200);
    for (const r of [...(await attempts(await issued(user))), ...(await attempts(await issued(user, { exp: '1h' })))]) {
      expect(r.status, r.text).to.equal(401);
      expect(r.body.error.code).to.equal('IDENTITY_REVOKED');
    }
    const other = await new Client(gw.url).as(await issued(officer)).get('/v1/devices/tok-gate-1');
    expect(other.status, 'another user of the org is not affected').to.equal(404);
  });

  it('wrote nothing to the ledger', async () => {
    expect(await chainHeight()).to.equal(heightBefore);
  });
});
