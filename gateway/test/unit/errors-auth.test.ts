import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ERROR_CODES, ERROR_HTTP_STATUS } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { Authenticator, requireRole } from '../../src/auth.js';
import { parseConfig } from '../../src/config.js';
import { ChaincodeError, chaincodeErrorFrom, ERROR_STATUS, GATEWAY_ERROR_CODES } from '../../src/errors.js';
import { RateLimiter } from '../../src/rate-limit.js';

describe('gateway: errors', () => {
  it('every chaincode code is a gateway code with the status schema/src/errors.ts suggests', () => {
    for (const c of ERROR_CODES) {
      expect(GATEWAY_ERROR_CODES as readonly string[]).to.include(c);
      expect(ERROR_STATUS[c]).to.equal(ERROR_HTTP_STATUS[c]);
    }
  });
  it("finds the chaincode's CODE: reason inside Fabric's wrapping text; the message is the reason, without the code", () => {
    const e = chaincodeErrorFrom(
      ['10 ABORTED: failed to endorse', 'chaincode response 500, INVALID_STATE: permit P-1 is applied; issue needs signed_off'],
      'tx1',
    );
    expect(e).to.be.instanceOf(ChaincodeError);
    expect(e!.status).to.equal(409);
    expect(e!.message).to.equal('permit P-1 is applied; issue needs signed_off');
    expect(e!.toJSON('r1').error).to.include({ code: 'INVALID_STATE', requestId: 'r1' });
    expect(chaincodeErrorFrom(['connection refused'])).to.equal(undefined);
    const dispatcher = chaincodeErrorFrom(['10 ABORTED: failed to endorse', 'chaincode response 500, Expected 1 parameters, but 2 have been supplied']);
    expect(dispatcher!.code).to.equal('VALIDATION_FAILED');
    expect(dispatcher!.message).to.equal('Expected 1 parameters, but 2 have been supplied');
  });
});

describe('gateway: authentication', () => {
  it('accepts HS256 and ES256 JWTs with valid claims, API keys by hash; refuses the rest', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-auth-'));
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    fs.writeFileSync(path.join(dir, 'pub.pem'), await exportSPKI(publicKey));
    const apiKey = crypto.randomBytes(24).toString('hex');
    fs.writeFileSync(
      path.join(dir, 'keys.json'),
      JSON.stringify([{ sha256: crypto.createHash('sha256').update(apiKey).digest('hex'), sub: 'gate-01', org: 'enterprise', role: 'device_gateway' }]),
    );
    const secret = 'h'.repeat(40);
    const auth = new Authenticator(
      parseConfig({
        GATEWAY_JWT_HS256_SECRET: secret,
        GATEWAY_JWT_PUBLIC_KEY_FILE: path.join(dir, 'pub.pem'),
        GATEWAY_API_KEYS_FILE: path.join(dir, 'keys.json'),
        GATEWAY_JWT_ISSUER: 'idp',
      }),
    );
    const hs = await new SignJWT({ org: 'enterprise', role: 'approver', department: 'safety' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setIssuer('idp')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret));
    expect(await auth.authenticate({ authorization: `Bearer ${hs}` })).to.include({ sub: 'u1', role: 'approver', department: 'safety', via: 'jwt' });
    const es = await new SignJWT({ org: 'regulator', role: 'auditor' })
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject('a1')
      .setIssuer('idp')
      .setExpirationTime('5m')
      .sign(privateKey);
    expect(await auth.authenticate({ authorization: `Bearer ${es}` })).to.include({ org: 'regulator', role: 'auditor' });
    expect(await auth.authenticate({ 'x-api-key': apiKey })).to.include({ sub: 'gate-01', via: 'api_key' });
    const wrongIss = await new SignJWT({ org: 'enterprise', role: 'approver' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setIssuer('other')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret));
    for (const h of [{ authorization: `Bearer ${wrongIss}` }, { 'x-api-key': 'nope' }, {}, { authorization: 'Basic abc' }]) {
      try {
        await auth.authenticate(h);
        expect.fail('accepted');
      } catch (e) {
        expect((e as { code: string }).code).to.equal('UNAUTHENTICATED');
      }
    }
  });
  it('checks roles per org', () => {
    const p = { sub: 'u', org: 'enterprise' as const, role: 'applicant' as const, via: 'jwt' as const };
    expect(() => requireRole(p, { enterprise: ['applicant'] })).to.not.throw();
    expect(() => requireRole(p, { enterprise: ['approver'] })).to.throw(/may not/);
    expect(() => requireRole(p, { regulator: 'any' })).to.throw(/may not/);
  });
});

describe('gateway: per-user rate limit', () => {
  it('counts failures after the fact: check never takes a token, charge never throws', () => {
    let now = 0;
    const rl = new RateLimiter(2, 2000, () => now);
    rl.check('10.0.0.1');
    rl.check('10.0.0.1');
    rl.charge('10.0.0.1');
    rl.charge('10.0.0.1');
    rl.charge('10.0.0.1'); // past empty: stays at zero
    expect(() => rl.check('10.0.0.1'))
      .to.throw()
      .with.property('code', 'RATE_LIMITED');
    rl.check('10.0.0.2');
    now = 1000; // one token back
    rl.check('10.0.0.1');
  });
  it('allows the window capacity per user, then answers RATE_LIMITED with Retry-After, and refills', () => {
    let now = 0;
    const rl = new RateLimiter(3, 3000, () => now);
    for (let i = 0; i < 3; i++) rl.take('a');
    expect(() => rl.take('a'))
      .to.throw()
      .with.property('retryAfterSeconds', 1);
    rl.take('b');
    now = 1000;
    rl.take('a');
    expect(() => rl.take('a'))
      .to.throw()
      .with.property('code', 'RATE_LIMITED');
  });
});
