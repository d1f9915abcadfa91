import { ConfigError } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { configHelp, parseConfig } from '../../src/config.js';

describe('gateway: configuration', () => {
  const base = { GATEWAY_JWT_HS256_SECRET: 's'.repeat(40), LEDGER_RUN_DIR: '/run/x' };

  it('fills defaults from LEDGER_RUN_DIR and freezes the result', () => {
    const c = parseConfig(base);
    expect(c.GATEWAY_PORT).to.equal(8080);
    expect(c.LEDGER_CONNECTION_PROFILE).to.equal('/run/x/connection-profile.json');
    expect(c.GATEWAY_WALLET_DIR).to.equal('/run/x/gateway/wallet');
    expect(c.GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE).to.equal('/run/x/ca/enterprise/bootstrap-password');
    expect(c.GATEWAY_EVIDENCE_MEDIA_TYPES).to.include('video/mp4');
    expect(Object.isFrozen(c)).to.equal(true);
    expect(Object.isFrozen(c.GATEWAY_EVIDENCE_MEDIA_TYPES)).to.equal(true);
  });

  it('names every bad variable in one error', () => {
    expect(() => parseConfig({ ...base, GATEWAY_PORT: 'eighty', IPFS_API_URL: 'not a url', GATEWAY_OCR_ENABLED: 'maybe' })).to.throw(
      /GATEWAY_PORT.*IPFS_API_URL.*GATEWAY_OCR_ENABLED/,
    );
  });

  it('refuses to start without any way to authenticate, and a short HS256 secret', () => {
    expect(() => parseConfig({ LEDGER_RUN_DIR: '/x' })).to.throw(/no way to authenticate/);
    expect(() => parseConfig({ GATEWAY_JWT_HS256_SECRET: 'short' })).to.throw(/GATEWAY_JWT_HS256_SECRET/);
  });

  it('releases unknown idempotency keys after twice the commit deadline unless told otherwise', () => {
    expect(parseConfig(base).GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS).to.equal(120_000);
    expect(parseConfig({ ...base, GATEWAY_COMMIT_TIMEOUT_MS: '5000' }).GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS).to.equal(10_000);
    expect(parseConfig({ ...base, GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS: '900000' }).GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS).to.equal(900_000);
    expect(() => parseConfig({ ...base, GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS: '0' })).to.throw(/GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS/);
  });

  it('gives the hand-over to the orderer the endorsement deadline unless told otherwise', () => {
    expect(parseConfig({ ...base, GATEWAY_ENDORSE_TIMEOUT_MS: '7000' }).GATEWAY_SUBMIT_TIMEOUT_MS).to.equal(7000);
    expect(parseConfig({ ...base, GATEWAY_SUBMIT_TIMEOUT_MS: '2500' }).GATEWAY_SUBMIT_TIMEOUT_MS).to.equal(2500);
  });

  it('takes durations with units, and --help lists every variable with its default and description', () => {
    expect(parseConfig({ ...base, GATEWAY_COMMIT_TIMEOUT_MS: '90s', GATEWAY_RATE_LIMIT_WINDOW_MS: '1m' })).to.include({
      GATEWAY_COMMIT_TIMEOUT_MS: 90_000,
      GATEWAY_RATE_LIMIT_WINDOW_MS: 60_000,
    });
    expect(() => parseConfig({ ...base, GATEWAY_COMMIT_TIMEOUT_MS: 'a while' })).to.throw(ConfigError, /GATEWAY_COMMIT_TIMEOUT_MS: expected a duration/);
    const help = configHelp();
    expect(help).to.match(/GATEWAY_PORT \(default 8080\)\n\s+Port of the HTTP API/);
    expect(help).to.match(/GATEWAY_SUBMIT_TIMEOUT_MS \(unset\)/);
    expect(help).to.match(/LOG_LEVEL \(default info\)/);
    expect(help).to.not.contain('no description');
  });

  it('trusts no proxy by default, and takes only IP addresses and CIDR blocks as proxies', () => {
    expect(parseConfig(base).GATEWAY_TRUSTED_PROXIES).to.deep.equal([]);
    expect(parseConfig({ ...base, GATEWAY_TRUSTED_PROXIES: '10.0.0.5, 10.1.0.0/16,::1,fd00::/8' }).GATEWAY_TRUSTED_PROXIES).to.deep.equal([
      '10.0.0.5',
      '10.1.0.0/16',
      '::1',
      'fd00::/8',
    ]);
    for (const bad of ['proxy.internal', '10.0.0.0/33', '::1/129', '10.0.0.1/8/1', 'loopback']) {
      expect(() => parseConfig({ ...base, GATEWAY_TRUSTED_PROXIES: `127.0.0.1,${bad}` }), bad).to.throw(
        /GATEWAY_TRUSTED_PROXIES.*is not an IP address or CIDR block/,
      );
    }
  });

  it('parses lists and booleans', () => {
    const c = parseConfig({ ...base, GATEWAY_EVIDENCE_MEDIA_TYPES: 'image/png, video/mp4', GATEWAY_OCR_ENABLED: 'false' });
    expect(c.GATEWAY_EVIDENCE_MEDIA_TYPES).to.deep.equal(['image/png', 'video/mp4']);
    expect(c.GATEWAY_OCR_ENABLED).to.equal(false);
  });
});

describe('gateway: README documents every configuration variable', () => {
  it('names each variable config.ts reads', async () => {
    const fs = await import('node:fs');
    const { CONFIG_VARIABLES } = await import('../../src/config.js');
    const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(CONFIG_VARIABLES.filter((v) => !readme.includes(`\`${v}\``))).to.deep.equal([]);
  });
});
