import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeEnvironment } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { ConfigError, configHelp, environmentSchema, loadConfig } from '../../src/config.js';
import { DeviceRegistry, generateKeyFile, publicRegistry } from '../../src/pipeline/device-keys.js';
import { tempDir } from '../support/temp.js';

const KEYS = { INGEST_DEVICE_REGISTRY_FILE: 'devices.json', INGEST_SERVICE_KEY_FILE: 'ingest-key.json' };

describe('config', () => {
  it('applies documented defaults and freezes the result', () => {
    const c = loadConfig(KEYS);
    expect(c.mqtt.url).to.equal(undefined);
    expect(c.mqtt.clientId).to.equal('compliance-ingest');
    expect(c.dedupWindowMs).to.equal(60_000);
    expect(c.rules).to.deep.equal({ o2LowVolPct: 19.5, o2NeverAboveVolPct: 23.5, o2ConfinedMaxVolPct: 21, h2sLimitPpm: 7, coLimitPpm: 26 });
    expect(c.fabric).to.equal(undefined);
    expect(c.requireSignedMessages).to.equal(true);
    expect(Object.isFrozen(c)).to.equal(true);
    expect(Object.isFrozen(c.mqtt)).to.equal(true);
    expect(Reflect.set(c.mqtt, 'clientId', 'x')).to.equal(false);
    expect(c.mqtt.clientId).to.equal('compliance-ingest');
  });

  it('parses numbers and booleans from strings and treats empty strings as unset', () => {
    const c = loadConfig({ ...KEYS, INGEST_DEDUP_WINDOW_MS: '30000', INGEST_REQUIRE_SIGNED_MESSAGES: 'true', INGEST_MQTT_URL: '' });
    expect(c.dedupWindowMs).to.equal(30_000);
    expect(c.requireSignedMessages).to.equal(true);
    expect(c.mqtt.url).to.equal(undefined);
  });

  it('refuses bad values with the variable name', () => {
    expect(() => loadConfig({})).to.throw(ConfigError, /INGEST_DEVICE_REGISTRY_FILE/);
    expect(() => loadConfig({ INGEST_DEVICE_REGISTRY_FILE: 'devices.json' })).to.throw(ConfigError, /INGEST_SERVICE_KEY_FILE/);
    expect(() => loadConfig({ ...KEYS, INGEST_DEDUP_WINDOW_MS: 'soon' })).to.throw(ConfigError, /INGEST_DEDUP_WINDOW_MS/);
    expect(() => loadConfig({ ...KEYS, INGEST_REQUIRE_SIGNED_MESSAGES: 'yes' })).to.throw(ConfigError);
    expect(() => loadConfig({ ...KEYS, INGEST_O2_LOW_VOL_PCT: '24' })).to.throw(ConfigError, /INGEST_O2_LOW_VOL_PCT/);
    expect(() => loadConfig({ ...KEYS, INGEST_O2_CONFINED_MAX_VOL_PCT: '24' })).to.throw(ConfigError, /INGEST_O2_CONFINED_MAX_VOL_PCT/);
    expect(() => loadConfig({ ...KEYS, INGEST_O2_CONFINED_MAX_VOL_PCT: '19.5' })).to.throw(ConfigError, /INGEST_O2_CONFINED_MAX_VOL_PCT/);
  });

  it('needs TLS and identity files once a Fabric peer is named', () => {
    expect(() => loadConfig({ ...KEYS, INGEST_FABRIC_PEER_ENDPOINT: 'localhost:7051' })).to.throw(ConfigError, /INGEST_FABRIC_TLS_CA_CERT/);
    const c = loadConfig({
      ...KEYS,
      INGEST_FABRIC_PEER_ENDPOINT: 'localhost:7051',
      INGEST_FABRIC_TLS_CA_CERT: 'ca.pem',
      INGEST_FABRIC_CERT: 'cert.pem',
      INGEST_FABRIC_KEY: 'key.pem',
    });
    expect(c.fabric).to.deep.include({ peerEndpoint: 'localhost:7051', channel: 'compliance', chaincode: 'compliance', mspId: 'EnterpriseMSP' });
  });

  it('takes the peer, TLS, MSP, channel and chaincode from a connection profile and the identity from an enroll-user.sh folder', () => {
    const dir = tempDir('ingest-config-');
    try {
      const org = (name: string, msp: string, port: number) => ({
        mspId: msp,
        peer: { endpoint: `127.0.0.1:${port}`, hostAlias: `peer0.${name}.ledger.local`, tlsCaFile: `/run/${name}/tls-ca.pem` },
        admin: { certFile: '/a.pem', keyFile: '/a_sk' },
        client: { certFile: '/c.pem', keyFile: '/c_sk' },
        ca: { url: 'https://127.0.0.1:7054', tlsCaFile: '/ca.pem', caName: `ca-${name}` },
      });
      const profile = join(dir.path, 'connection-profile.json');
      writeFileSync(
        profile,
        JSON.stringify({
          channel: 'ch1',
          chaincode: 'cc1',
          ordering: 'raft',
          orderer: { endpoint: '127.0.0.1:7050', hostAlias: 'orderer0', tlsCaFile: '/o.pem' },
          orderers: [{ endpoint: '127.0.0.1:7050', hostAlias: 'orderer0', tlsCaFile: '/o.pem', operationsUrl: 'http://127.0.0.1:8443' }],
          organizations: { enterprise: org('enterprise', 'EnterpriseMSP', 37051), regulator: org('regulator', 'RegulatorMSP', 39051) },
        }),
      );
      const user = join(dir.path, 'user');
      mkdirSync(join(user, 'msp', 'signcerts'), { recursive: true });
      mkdirSync(join(user, 'msp', 'keystore'), { recursive: true });
      writeFileSync(join(user, 'msp', 'signcerts', 'cert.pem'), 'cert');
      writeFileSync(join(user, 'msp', 'keystore', 'abc_sk'), 'key');
      const c = loadConfig({ ...KEYS, INGEST_FABRIC_CONNECTION_PROFILE: profile, INGEST_FABRIC_IDENTITY_DIR: user });
      expect(c.fabric).to.deep.equal({
        peerEndpoint: '127.0.0.1:37051',
        peerHostAlias: 'peer0.enterprise.ledger.local',
        tlsCaCertPath: '/run/enterprise/tls-ca.pem',
        mspId: 'EnterpriseMSP',
        certPath: join(user, 'msp', 'signcerts', 'cert.pem'),
        keyPath: join(user, 'msp', 'keystore', 'abc_sk'),
        channel: 'ch1',
        chaincode: 'cc1',
        timeoutMs: 15_000,
        commitStreamFallbackMs: 5_000,
      });
      const o = loadConfig({
        ...KEYS,
        INGEST_FABRIC_CONNECTION_PROFILE: profile,
        INGEST_FABRIC_IDENTITY_DIR: user,
        INGEST_FABRIC_PEER_ENDPOINT: 'peer.example:443',
        INGEST_FABRIC_CHANNEL: 'other',
      });
      expect(o.fabric).to.deep.include({ peerEndpoint: 'peer.example:443', channel: 'other', tlsCaCertPath: '/run/enterprise/tls-ca.pem' });
      expect(() => loadConfig({ ...KEYS, INGEST_FABRIC_CONNECTION_PROFILE: profile })).to.throw(ConfigError, /INGEST_FABRIC_CERT/);
      expect(() => loadConfig({ ...KEYS, INGEST_FABRIC_CONNECTION_PROFILE: join(dir.path, 'missing.json'), INGEST_FABRIC_IDENTITY_DIR: user })).to.throw(
        ConfigError,
        /INGEST_FABRIC_CONNECTION_PROFILE/,
      );
      expect(() => loadConfig({ ...KEYS, INGEST_FABRIC_CONNECTION_PROFILE: profile, INGEST_FABRIC_IDENTITY_DIR: dir.path })).to.throw(
        ConfigError,
        /INGEST_FABRIC_IDENTITY_DIR/,
      );
    } finally {
      dir.remove();
    }
  });

  it('documents every variable, and --help lists each with its default', () => {
    const vars = describeEnvironment(environmentSchema);
    expect(vars.filter((v) => v.description.trim() === '').map((v) => v.name)).to.deep.equal([]);
    expect(vars.find((v) => v.name === 'INGEST_DEVICE_REGISTRY_FILE')).to.include({ required: true, default: undefined });
    expect(vars.find((v) => v.name === 'INGEST_SERVICE_KEY_FILE')).to.include({ required: true, default: undefined });
    expect(vars.find((v) => v.name === 'INGEST_REQUIRE_SIGNED_MESSAGES')).to.include({ default: 'true' });
    const help = configHelp();
    expect(help).to.match(/INGEST_HTTP_PORT \(default 9465\)/);
    expect(help).to.match(/INGEST_DEVICE_REGISTRY_FILE \(required\)\n\s+The devices' public addresses/);
    expect(help).to.match(/INGEST_RETRY_MIN_MS \(default 200\)/);
    expect(help).to.match(/LOG_LEVEL \(default info\)/);
  });

  it('refuses the settings that gave ingest device private keys, saying what replaces them', () => {
    expect(() => loadConfig({ ...KEYS, INGEST_KEY_FILE: 'keys.json' })).to.throw(
      ConfigError,
      /INGEST_KEY_FILE is no longer read: ingest holds no device keys.*INGEST_DEVICE_REGISTRY_FILE/,
    );
    expect(() => loadConfig({ ...KEYS, INGEST_GATEWAY_DEVICE_ID: 'gw' })).to.throw(ConfigError, /INGEST_GATEWAY_DEVICE_ID is no longer read/);
  });

  it('the device registry file holds public addresses only: a file with a private key is refused', () => {
    const dir = tempDir();
    try {
      const keys = generateKeyFile(['gas-a', 'cam-a']);
      writeFileSync(join(dir.path, 'devices.json'), JSON.stringify(publicRegistry(keys)));
      writeFileSync(join(dir.path, 'keys.json'), JSON.stringify(keys));
      expect(DeviceRegistry.load(join(dir.path, 'devices.json')).addresses().get('gas-a')).to.equal(keys.devices['gas-a']!.address.toLowerCase());
      expect(() => DeviceRegistry.load(join(dir.path, 'keys.json'))).to.throw(/holds device private keys; ingest takes only the devices' public addresses/);
    } finally {
      dir.remove();
    }
  });

  it("defaults its HTTP port to 9465, beside the indexer's 9464, and takes durations with units", () => {
    const c = loadConfig({ ...KEYS, INGEST_DEDUP_WINDOW_MS: '2m', INGEST_RETRY_MIN_MS: '1s' });
    expect(c.http.port).to.equal(9465);
    expect(c.dedupWindowMs).to.equal(120_000);
    expect(c.retry.initialBackoffMs).to.equal(1000);
  });
});
