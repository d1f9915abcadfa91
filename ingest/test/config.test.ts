import { expect } from 'chai';
import { ConfigError, describeEnvironment, loadConfig } from '../src/config.js';

describe('config', () => {
  it('applies documented defaults and freezes the result', () => {
    const c = loadConfig({ INGEST_KEY_FILE: 'keys.json' });
    expect(c.mqtt.url).to.equal(undefined);
    expect(c.mqtt.clientId).to.equal('compliance-ingest');
    expect(c.dedupWindowMs).to.equal(60_000);
    expect(c.rules).to.deep.equal({ o2LowVolPct: 19.5, o2NeverAboveVolPct: 23.5, h2sLimitPpm: 7, coLimitPpm: 26 });
    expect(c.fabric).to.equal(undefined);
    expect(Object.isFrozen(c)).to.equal(true);
    expect(Object.isFrozen(c.mqtt)).to.equal(true);
    expect(Reflect.set(c.mqtt, 'clientId', 'x')).to.equal(false);
    expect(c.mqtt.clientId).to.equal('compliance-ingest');
  });

  it('parses numbers and booleans from strings and treats empty strings as unset', () => {
    const c = loadConfig({ INGEST_KEY_FILE: 'k', INGEST_DEDUP_WINDOW_MS: '30000', INGEST_REQUIRE_SIGNED_MESSAGES: 'true', INGEST_MQTT_URL: '' });
    expect(c.dedupWindowMs).to.equal(30_000);
    expect(c.requireSignedMessages).to.equal(true);
    expect(c.mqtt.url).to.equal(undefined);
  });

  it('refuses bad values with the variable name', () => {
    expect(() => loadConfig({})).to.throw(ConfigError, /INGEST_KEY_FILE/);
    expect(() => loadConfig({ INGEST_KEY_FILE: 'k', INGEST_DEDUP_WINDOW_MS: 'soon' })).to.throw(ConfigError, /INGEST_DEDUP_WINDOW_MS/);
    expect(() => loadConfig({ INGEST_KEY_FILE: 'k', INGEST_REQUIRE_SIGNED_MESSAGES: 'yes' })).to.throw(ConfigError);
    expect(() => loadConfig({ INGEST_KEY_FILE: 'k', INGEST_O2_LOW_VOL_PCT: '24' })).to.throw(ConfigError, /INGEST_O2_LOW_VOL_PCT/);
  });

  it('needs TLS and identity files once a Fabric peer is named', () => {
    expect(() => loadConfig({ INGEST_KEY_FILE: 'k', INGEST_FABRIC_PEER_ENDPOINT: 'localhost:7051' })).to.throw(ConfigError, /INGEST_FABRIC_TLS_CA_CERT/);
    const c = loadConfig({
      INGEST_KEY_FILE: 'k',
      INGEST_FABRIC_PEER_ENDPOINT: 'localhost:7051',
      INGEST_FABRIC_TLS_CA_CERT: 'ca.pem',
      INGEST_FABRIC_CERT: 'cert.pem',
      INGEST_FABRIC_KEY: 'key.pem',
    });
    expect(c.fabric).to.deep.include({ peerEndpoint: 'localhost:7051', channel: 'compliance', chaincode: 'compliance', mspId: 'EnterpriseMSP' });
  });

  it('documents every variable', () => {
    const text = describeEnvironment();
    for (const name of ['INGEST_MQTT_URL', 'INGEST_KEY_FILE', 'INGEST_FABRIC_PEER_ENDPOINT', 'INGEST_CO_LIMIT_PPM']) expect(text).to.contain(name);
    expect(text.split('\n').filter((l) => l.startsWith('INGEST_')).length).to.be.greaterThan(30);
  });
});
