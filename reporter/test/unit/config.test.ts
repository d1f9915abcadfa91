import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { helpText, loadConfig } from '../../src/config.js';

describe('reporter: configuration', () => {
  it('refuses a missing profile or an identity folder without a certificate and key, naming the variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reporter-config-'));
    expect(() => loadConfig({ REPORTER_FABRIC_CONNECTION_PROFILE: join(dir, 'none.json'), REPORTER_FABRIC_IDENTITY_DIR: dir })).to.throw(
      ConfigError,
      'REPORTER_FABRIC_CONNECTION_PROFILE',
    );
    expect(() => loadConfig({ REPORTER_FABRIC_IDENTITY_DIR: dir })).to.throw(ConfigError, 'REPORTER_FABRIC_CONNECTION_PROFILE');
    writeFileSync(join(dir, 'profile.json'), '{}');
    expect(() =>
      loadConfig({ REPORTER_FABRIC_CONNECTION_PROFILE: join(dir, 'profile.json'), REPORTER_FABRIC_IDENTITY_DIR: dir, REPORTER_SWEEP_PERIOD_MS: 'soon' }),
    ).to.throw(ConfigError, 'REPORTER_SWEEP_PERIOD_MS');
  });
  it('--help names every variable', () => {
    for (const v of ['REPORTER_FABRIC_CONNECTION_PROFILE', 'REPORTER_FABRIC_IDENTITY_DIR', 'REPORTER_SWEEP_PERIOD_MS', 'REPORTER_HTTP_PORT'])
      expect(helpText()).to.contain(v);
  });
});
