import { ConfigError } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { configHelp, parseConfig } from '../../src/config.js';

describe('config: environment parsed once, validated, frozen (unit)', () => {
  it('defaults to PGlite, the regulator client and the run directory profile', () => {
    const c = parseConfig({ LEDGER_RUN_DIR: '/run/x' });
    expect(c.DATABASE_URL).to.equal(undefined);
    expect(c.PGLITE_DIR).to.equal('/run/x/indexer-pglite');
    expect(c.LEDGER_CONNECTION_PROFILE).to.equal('/run/x/connection-profile.json');
    expect(c).to.include({ INDEXER_ORG: 'regulator', INDEXER_IDENTITY: 'client', INDEXER_HTTP_PORT: 9464, LOG_LEVEL: 'info' });
    expect(Object.isFrozen(c)).to.equal(true);
  });

  it('coerces numbers and rejects bad values with every problem named', () => {
    expect(parseConfig({ INDEXER_BATCH_MAX_BLOCKS: '7', INDEXER_STOP_AT_BLOCK: '0' })).to.include({ INDEXER_BATCH_MAX_BLOCKS: 7, INDEXER_STOP_AT_BLOCK: 0 });
    expect(() => parseConfig({ DATABASE_URL: 'nope', INDEXER_ORG: 'hacker', INDEXER_HTTP_PORT: '70000' })).to.throw(
      /DATABASE_URL.*INDEXER_ORG.*INDEXER_HTTP_PORT/,
    );
  });

  it("takes PGlite's shared_buffers as a Postgres size and refuses anything else", () => {
    expect(parseConfig({}).INDEXER_PGLITE_SHARED_BUFFERS).to.equal('16MB');
    expect(parseConfig({ INDEXER_PGLITE_SHARED_BUFFERS: '128MB' }).INDEXER_PGLITE_SHARED_BUFFERS).to.equal('128MB');
    for (const bad of ['16', '16 MB', 'lots', '0MB', '16mb; DROP']) {
      expect(() => parseConfig({ INDEXER_PGLITE_SHARED_BUFFERS: bad }), bad).to.throw(ConfigError, /INDEXER_PGLITE_SHARED_BUFFERS: expected a size/);
    }
  });

  it('takes durations with a unit and refuses one that is not a duration', () => {
    expect(parseConfig({ INDEXER_RETRY_MIN_MS: '2s', INDEXER_RETRY_MAX_MS: '1m', INDEXER_CHAIN_POLL_MS: '1500' })).to.include({
      INDEXER_RETRY_MIN_MS: 2000,
      INDEXER_RETRY_MAX_MS: 60_000,
      INDEXER_CHAIN_POLL_MS: 1500,
    });
    expect(() => parseConfig({ INDEXER_RETRY_MAX_MS: 'soon' })).to.throw(ConfigError, /INDEXER_RETRY_MAX_MS: expected a duration/);
  });

  it('--help lists every variable with its default and description', () => {
    const help = configHelp();
    expect(help).to.match(/INDEXER_HTTP_PORT \(default 9464\)\n\s+HTTP port of \/healthz/);
    expect(help).to.match(/DATABASE_URL \(unset\)\n\s+PostgreSQL URL/);
    expect(help).to.match(/LOG_LEVEL \(default info\)/);
    expect(help).to.not.contain('no description');
  });
});
