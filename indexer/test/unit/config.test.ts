import { expect } from 'chai';
import { parseConfig } from '../../src/config.js';

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
    expect(() => parseConfig({ DATABASE_URL: 'nope', INDEXER_ORG: 'hacker', INDEXER_HTTP_PORT: '70000' })).to.throw(/DATABASE_URL.*INDEXER_ORG.*INDEXER_HTTP_PORT/);
  });
});
