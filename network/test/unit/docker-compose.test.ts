/**
 * docker-compose.yml cannot run on machines without a Docker engine, so this checks what can be
 * checked without one: it parses, it has the native network's services, and its images, ports,
 * volumes and paths agree with scripts/lib.sh, scripts/network.sh and scripts/install-fabric.sh.
 */

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '..', '..', '..');
const read = (f: string) => fs.readFileSync(path.join(root, f), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  network_mode?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  entrypoint?: string[];
  command?: string;
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

/** The settings scripts/lib.sh gives a clean environment (no overrides, port offset 0). */
const defaults: Record<string, string> = Object.fromEntries(
  execFileSync('env', ['-i', `HOME=${os.homedir()}`, `PATH=${process.env.PATH}`, 'bash', '-c', 'source scripts/lib.sh && env'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const pinned = (name: string) => new RegExp(`^${name}=v?(\\S+)$`, 'm').exec(read('scripts/install-fabric.sh'))![1]!;
const entry = (s: Service) => (s.entrypoint ?? []).join(' ');

describe('docker-compose.yml agrees with the native network', () => {
  it('has exactly the native network’s processes, plus setup', () => {
    expect(Object.keys(compose.services).sort()).to.deep.equal(
      [
        'ca-enterprise',
        'ca-regulator',
        'chaincode-enterprise',
        'chaincode-regulator',
        'orderer0',
        'orderer1',
        'orderer2',
        'peer-enterprise',
        'peer-regulator',
        'setup',
      ].sort(),
    );
    for (const [name, s] of Object.entries(compose.services)) expect(s.network_mode, name).to.equal('host');
  });

  it('uses the official images of the pinned Fabric and Fabric CA releases', () => {
    const fabricMinor = pinned('FABRIC_RELEASE').split('.').slice(0, 2).join('.');
    const caMinor = pinned('FABRIC_CA_VERSION').split('.').slice(0, 2).join('.');
    for (const o of ['orderer0', 'orderer1', 'orderer2']) expect(compose.services[o]!.image, o).to.equal(`hyperledger/fabric-orderer:${fabricMinor}`);
    expect(compose.services['peer-enterprise']!.image).to.equal(`hyperledger/fabric-peer:${fabricMinor}`);
    expect(compose.services['peer-regulator']!.image).to.equal(`hyperledger/fabric-peer:${fabricMinor}`);
    expect(compose.services['ca-enterprise']!.image).to.equal(`hyperledger/fabric-ca:${caMinor}`);
    expect(compose.services['ca-regulator']!.image).to.equal(`hyperledger/fabric-ca:${caMinor}`);
    expect(read('network/docker/setup.Dockerfile')).to.contain(`hyperledger/fabric-tools:${fabricMinor}`);
  });

  it('uses the same ports as scripts/lib.sh', () => {
    const env = compose.services.setup!.environment!;
    const portVars = Object.keys(defaults).filter((k) => /^(ORDERER|ENTERPRISE|REGULATOR|CHAINCODE)_\w*PORT$/.test(k));
    expect(portVars.length).to.be.greaterThan(10);
    for (const k of portVars.filter((k) => !k.endsWith('CHAINCODE_STANDBY_PORT'))) expect(env[k], k).to.equal(defaults[k]);
    const ca = entry(compose.services['ca-enterprise']!);
    expect(ca).to.contain(`--port ${defaults.ENTERPRISE_CA_PORT}`);
    expect(ca).to.contain(`127.0.0.1:${defaults.ENTERPRISE_CA_OPS_PORT}`);
    const rca = entry(compose.services['ca-regulator']!);
    expect(rca).to.contain(`--port ${defaults.REGULATOR_CA_PORT}`);
    expect(rca).to.contain(`127.0.0.1:${defaults.REGULATOR_CA_OPS_PORT}`);
    expect(entry(compose.services['chaincode-enterprise']!)).to.contain(`--chaincode-address 127.0.0.1:${defaults.ENTERPRISE_CHAINCODE_PORT}`);
    expect(entry(compose.services['chaincode-regulator']!)).to.contain(`--chaincode-address 127.0.0.1:${defaults.REGULATOR_CHAINCODE_PORT}`);
    // Each org's server knows its peer's MSP id (the chaincode keeps personal data off other peers).
    expect(compose.services['chaincode-enterprise']!.environment).to.include({ CORE_PEER_LOCALMSPID: 'EnterpriseMSP' });
    expect(compose.services['chaincode-regulator']!.environment).to.include({ CORE_PEER_LOCALMSPID: 'RegulatorMSP' });
  });

  it('mounts one ledger volume at the run directory the configs are rendered for', () => {
    const runDir = compose.services.setup!.environment!.LEDGER_RUN_DIR!;
    expect(compose.volumes).to.have.property('ledger-run');
    for (const name of Object.keys(compose.services)) {
      expect(compose.services[name]!.volumes, name).to.include(`ledger-run:${runDir}`);
    }
    // network.sh renders orderer.yaml into <run>/orderers/orderer<i> and core.yaml into <run>/peers/<org>.
    const script = read('scripts/network.sh');
    expect(script).to.contain('"$LEDGER_RUN_DIR/orderers/orderer$i/orderer.yaml"');
    expect(script).to.contain('"$LEDGER_RUN_DIR/peers/$org/core.yaml"');
    for (const i of [0, 1, 2]) expect(compose.services[`orderer${i}`]!.environment!.FABRIC_CFG_PATH).to.equal(`${runDir}/orderers/orderer${i}`);
    expect(compose.services['peer-enterprise']!.environment!.FABRIC_CFG_PATH).to.equal(`${runDir}/peers/enterprise`);
    expect(compose.services['peer-regulator']!.environment!.FABRIC_CFG_PATH).to.equal(`${runDir}/peers/regulator`);
    expect(compose.services['peer-enterprise']!.environment!.CORE_VM_ENDPOINT).to.equal('');
    // The CA containers sign with the cryptogen roots that network.sh generates.
    expect(entry(compose.services['ca-enterprise']!)).to.contain('peerOrganizations/enterprise.ledger.local/ca');
  });

  it('lets the setup container drive the containers instead of starting nodes itself', () => {
    const setup = compose.services.setup!;
    expect(setup.environment).to.include({ LEDGER_NODES: 'external', LEDGER_CHAINCODE_SERVER: 'external' });
    expect(setup.environment!.FABRIC_CCAAS_BUILDER_DIR).to.equal('/opt/hyperledger/ccaas_builder');
    expect(setup.command).to.contain('scripts/network.sh up').and.to.contain('scripts/deploy-chaincode.sh');
    expect(read('scripts/network.sh')).to.contain('LEDGER_NODES:-local}" = external');
    expect(read('scripts/deploy-chaincode.sh')).to.contain('LEDGER_CHAINCODE_SERVER:-local}" = external');
  });
});
