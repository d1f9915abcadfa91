import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type ConnectionProfile, ERROR_CODES, ERROR_HTTP_STATUS } from '@compliance-ledger/schema';
import * as grpc from '@grpc/grpc-js';
import { GatewayError } from '@hyperledger/fabric-gateway';
import { expect } from 'chai';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { Authenticator, requireRole } from '../../src/auth.js';
import { parseConfig } from '../../src/config.js';
import { ChaincodeError, ERROR_STATUS, GATEWAY_ERROR_CODES, UnavailableError } from '../../src/errors.js';
import { LedgerClient } from '../../src/ledger.js';
import { RateLimiter } from '../../src/rate-limit.js';

describe('gateway: errors', () => {
  it('every chaincode code is a gateway code with the status schema/src/errors.ts suggests', () => {
    for (const c of ERROR_CODES) {
      expect(GATEWAY_ERROR_CODES as readonly string[]).to.include(c);
      expect(ERROR_STATUS[c]).to.equal(ERROR_HTTP_STATUS[c]);
    }
  });
  /** An endorsement refused by one peer, as fabric-gateway throws it. */
  const refusedBy = (mspId: string, message: string) =>
    new GatewayError({
      code: grpc.status.ABORTED,
      details: [{ address: 'peer0:7051', mspId, message }],
      cause: Object.assign(new Error('10 ABORTED: failed to endorse'), { code: grpc.status.ABORTED, details: '', metadata: new grpc.Metadata() }),
      message: '10 ABORTED: failed to endorse',
    });
  const ledger = new LedgerClient({
    profile: {} as ConnectionProfile,
    evaluateTimeoutMs: 1,
    endorseTimeoutMs: 1,
    submitTimeoutMs: 1,
    commitTimeoutMs: 1,
    retryAfterSeconds: 5,
    endorseRetry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
  });

  it("the own peer's refusal is the chaincode's answer: its CODE with the reason alone as the message (fabric-client's classification)", () => {
    const e = ledger.translate(
      refusedBy('EnterpriseMSP', 'chaincode response 500, INVALID_STATE: permit P-1 is applied; issue needs signed_off'),
      'tx1',
      'EnterpriseMSP',
    );
    expect(e).to.be.instanceOf(ChaincodeError);
    expect(e.status).to.equal(409);
    expect(e.message).to.equal('permit P-1 is applied; issue needs signed_off');
    expect(e.toJSON('r1').error).to.include({ code: 'INVALID_STATE', requestId: 'r1' });
    const dispatcher = ledger.translate(
      refusedBy('EnterpriseMSP', 'chaincode response 500, Expected 1 parameters, but 2 have been supplied'),
      'tx1',
      'EnterpriseMSP',
    );
    expect(dispatcher.code).to.equal('VALIDATION_FAILED');
    expect(dispatcher.message).to.equal('Expected 1 parameters, but 2 have been supplied');
  });

  it("the other org's peer refusing alone (it is behind) is a 503 naming it, not the chaincode's answer", () => {
    const e = ledger.translate(refusedBy('RegulatorMSP', 'chaincode response 500, NOT_FOUND: worker w-1 does not exist'), 'tx1', 'EnterpriseMSP');
    expect(e).to.be.instanceOf(UnavailableError);
    expect(e).to.not.be.instanceOf(ChaincodeError);
    expect(e).to.deep.include({ code: 'LEDGER_UNAVAILABLE', status: 503, retryAfterSeconds: 5, mayHaveCommitted: false });
    expect(e.details).to.deep.equal({ refusingOrgs: ['RegulatorMSP'], code: 'NOT_FOUND' });
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
  it('remembers a verified token only until its exp, and never one that failed', async () => {
    const secret = 'k'.repeat(40);
    const auth = new Authenticator(parseConfig({ GATEWAY_JWT_HS256_SECRET: secret }));
    const refused = async (h: { authorization: string }) => {
      try {
        await auth.authenticate(h);
        expect.fail('accepted');
      } catch (e) {
        expect((e as { code: string }).code).to.equal('UNAUTHENTICATED');
      }
    };
    const exp = Math.floor(Date.now() / 1000) + 2;
    const short = await new SignJWT({ org: 'enterprise', role: 'applicant' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u2')
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(secret));
    const first = await auth.authenticate({ authorization: `Bearer ${short}` });
    expect(first).to.include({ sub: 'u2', via: 'jwt', expiresAtMs: exp * 1000 });
    // The remembered answer is a copy: a caller changing it changes nothing for the next request.
    (first as { role: string }).role = 'admin';
    expect(await auth.authenticate({ authorization: `Bearer ${short}` })).to.include({ role: 'applicant' });
    // The same claims under a signature changed in one character: a different token, verified anew.
    const forged = `${short.slice(0, -2)}${short.at(-2) === 'A' ? 'B' : 'A'}${short.at(-1)}`;
    await refused({ authorization: `Bearer ${forged}` });
    await refused({ authorization: `Bearer ${forged}` });
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 50));
    await refused({ authorization: `Bearer ${short}` });
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
  it('a burst of failed sign-ins, each with a new credential, keeps the limiter bounded, and the burst’s own address blocked', () => {
    let now = 0;
    const rl = new RateLimiter(3, 600_000, () => now, 1000);
    for (let i = 0; i < 20_000; i++) {
      rl.charge(`api_key:${i}`);
      rl.charge('10.0.0.66');
      now += 1;
    }
    expect(rl.size).to.be.at.most(1000);
    expect(rl.retryAfterSeconds('10.0.0.66')).to.be.greaterThan(0);
    // The last keys charged are still counted: a credential used again is not forgotten.
    rl.charge('api_key:19999');
    rl.charge('api_key:19999');
    expect(rl.retryAfterSeconds('api_key:19999')).to.be.greaterThan(0);
    // A fresh key charged when the map is full keeps its charge (it is not swept as a full bucket).
    rl.charge('api_key:fresh');
    rl.charge('api_key:fresh');
    rl.charge('api_key:fresh');
    expect(rl.retryAfterSeconds('api_key:fresh')).to.be.greaterThan(0);
  });
});
