/**
 * Many enterprises on one channel (real Fabric): two enterprises onboarded into the running network
 * with scripts/org-add.sh, each with its own CA, peer and chaincode server. Each submits a permit
 * that commits, endorsed by its own peer and the regulator's. Another enterprise neither reads nor
 * writes them, and its peer's endorsement does not count: a step on the first enterprise's permit
 * endorsed by the second enterprise and the regulator is committed INVALID
 * (ENDORSEMENT_POLICY_FAILURE, the permit's key-level policy) and changes nothing. The regulator
 * reads all three. An enterprise offboarded with scripts/org-remove.sh can no longer transact, and
 * its earlier transactions still verify with the verifier.
 */

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ConnectionProfile, connectionProfileSchema, defaultLedgerRunDir, type PermitRecord, REGULATOR_MSP } from '@compliance-ledger/schema';
import { decodeBlock, headerHash, toHex, verifyBundle } from '@compliance-ledger/verifier';
import { common, peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import pg from 'pg';
import { buildBundle } from '../../../gateway/src/bundle-builder';
import { RegulatorRepository } from '../../../gateway/src/regulator-repository';
import { startIndexer } from '../../../gateway/test/support/indexer';
import { createTestDatabase } from '../../../indexer/test/support/database';
import { Cast, confinedSpaceApplication, endorsementOf, errorText, guardianCertificate, type Party, randomIdNumber, workerIdOf } from '../support/ledger';
import { connectAs, type OrgConnection, requireNetwork, uniqueId } from '../support/network';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const runDir = defaultLedgerRunDir(process.env);

function script(name: string, ...args: string[]): string {
  try {
    return execFileSync('bash', [path.join(repoRoot, 'scripts', name), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${name} ${args.join(' ')} failed: ${e.stderr?.split('\n').slice(-15).join('\n') ?? e.message}`);
  }
}

/** One enterprise: its people, enrolled at its own CA and connected to its own peer. */
interface Company {
  msp: string;
  profile: ConnectionProfile;
  cast: Cast;
  officer: Party;
  applicant: Party;
  pic: Party;
  crew: { worker: string; guardian: string; personInCharge: string; confirmer: string };
  siteId: string;
  permitNo: string;
  applyTxId?: string;
}

function company(profile: ConnectionProfile, caOrg: string, tag: string): Company {
  const cast = new Cast(profile, { enterprise: caOrg });
  const crew = {
    worker: workerIdOf(randomIdNumber()),
    guardian: workerIdOf(randomIdNumber()),
    personInCharge: workerIdOf(randomIdNumber()),
    confirmer: workerIdOf(randomIdNumber()),
  };
  return {
    msp: profile.organizations.enterprise.mspId,
    profile,
    cast,
    officer: cast.person(`${tag}-officer`, 'enterprise', 'credential_officer'),
    applicant: cast.person(`${tag}-applicant`, 'enterprise', 'applicant'),
    pic: cast.person(`${tag}-pic`, 'enterprise', 'person_in_charge', { workerId: crew.personInCharge }),
    crew,
    siteId: uniqueId(`site-${tag}`),
    permitNo: uniqueId(`CS-${tag}`),
  };
}

function addedOrgProfile(name: string): ConnectionProfile {
  return connectionProfileSchema.parse(JSON.parse(fs.readFileSync(path.join(runDir, 'orgs', name, 'connection-profile.json'), 'utf8')));
}

describe('network: enterprises onboarded into the running network, isolated from each other (real Fabric)', function () {
  this.timeout(900_000);
  const run = Math.random().toString(16).slice(2, 8);
  const bName = `b${run}`;
  const cName = `c${run}`;
  const onboarded: string[] = [];
  let profile: ConnectionProfile;
  let a: Company, b: Company, c: Company;
  let regulatorCast: Cast;
  let regulator: Party;
  let auditor: Party;

  before(function () {
    profile = requireNetwork(this);
    for (const name of [bName, cName]) {
      script('org-add.sh', name);
      onboarded.push(name);
    }
    a = company(profile, 'enterprise', 'a');
    b = company(addedOrgProfile(bName), bName, 'b');
    c = company(addedOrgProfile(cName), cName, 'c');
    regulatorCast = new Cast(profile);
    regulator = regulatorCast.person('ent-regulator', 'regulator', 'regulator');
    auditor = regulatorCast.person('ent-auditor', 'regulator', 'auditor');
  });
  after(() => {
    for (const x of [a, b, c]) x?.cast.close();
    regulatorCast?.close();
    // The network stays as lean as it was: the enterprises this suite added leave again.
    for (const name of onboarded) {
      const entry = fs.readFileSync(path.join(runDir, 'orgs', `${name}.env`), 'utf8');
      if (!/_STATUS=removed$/m.test(entry)) script('org-remove.sh', name);
    }
  });

  it('onboards two enterprises with their own MSP, CA and peer, each named in the chaincode definition', () => {
    expect([b.msp, c.msp]).to.deep.equal([`B${run}MSP`, `C${run}MSP`]);
    expect(b.profile.organizations.enterprise.peer.endpoint).to.not.equal(profile.organizations.enterprise.peer.endpoint);
    expect(b.profile.organizations.enterprise.ca?.url).to.not.equal(c.profile.organizations.enterprise.ca?.url);
    expect(b.profile.organizations.regulator).to.deep.equal(profile.organizations.regulator);
    const policy = fs.readFileSync(path.join(runDir, 'chaincode', 'committed-policy'), 'utf8').trim();
    for (const msp of ['EnterpriseMSP', b.msp, c.msp]) expect(policy).to.contain(`AND('${msp}.peer','${REGULATOR_MSP}.peer')`);
    const gatewayEnv = fs.readFileSync(path.join(runDir, 'orgs', bName, 'gateway.env'), 'utf8');
    expect(gatewayEnv)
      .to.contain('GATEWAY_ORG=enterprise')
      .and.to.contain(`LEDGER_CONNECTION_PROFILE=${path.join(runDir, 'orgs', bName, 'connection-profile.json')}`);
  });

  it('each of the three enterprises submits a permit that commits, endorsed by its own peer and the regulator', async () => {
    for (const x of [a, b, c]) {
      for (const w of Object.values(x.crew)) await x.officer.submit('credential:RegisterWorker', { workerId: w });
      await x.officer.submit('credential:AddCertificate', guardianCertificate(uniqueId('cert-guardian'), x.crew.guardian));
      const applied = await x.applicant.submit<PermitRecord>(
        'permit:Apply',
        confinedSpaceApplication(
          { permitNo: x.permitNo, siteId: x.siteId, zoneId: 'tank-1', workUnit: 'unit-storage', ...x.crew },
          { description: 'Inspect the tank', hazard: 'Oxygen deficiency', measure: 'Forced ventilation before entry' },
        ),
      );
      expect(applied.value.status).to.equal('applied');
      x.applyTxId = applied.txId;
      const e = await endorsementOf(x.applicant.conn, profile.channel, applied.txId);
      expect(e.validationCode).to.equal(peer.TxValidationCode.VALID);
      expect(e.endorsers).to.deep.equal([x.msp, REGULATOR_MSP].sort());
    }
  });

  it("enterprise B can neither read nor write A's records: they read as missing", async () => {
    const missing = `permit ${a.permitNo} does not exist`;
    expect(await b.applicant.evaluateRefused('NOT_FOUND', 'permit:Get', { permitNo: a.permitNo })).to.contain(missing);
    expect(await b.applicant.evaluateRefused('NOT_FOUND', 'permit:GetHistory', { permitNo: a.permitNo })).to.contain(missing);
    expect(await b.officer.evaluateRefused('NOT_FOUND', 'credential:GetWorker', { workerId: a.crew.worker })).to.contain('does not exist');
    await b.pic.refused('NOT_FOUND', 'permit:AssessRisk', { permitNo: a.permitNo, confirmations: [{ measureId: 'm1', confirmedBy: b.crew.confirmer }] });
    await b.officer.refused('NOT_FOUND', 'credential:SetWorkerStatus', { workerId: a.crew.worker, status: 'suspended', reason: 'not ours' });
    // Nor can B put A's workers on a permit of its own.
    const borrowed = await b.applicant.refused(
      'NOT_FOUND',
      'permit:Apply',
      confinedSpaceApplication(
        { permitNo: uniqueId('CS-borrow'), siteId: b.siteId, zoneId: 'tank-2', workUnit: 'unit-storage', ...a.crew },
        { description: 'Borrowed crew', hazard: 'Oxygen deficiency', measure: 'Ventilation' },
      ),
    );
    expect(borrowed).to.contain('does not exist');
    expect((await a.applicant.evaluate<PermitRecord>('permit:Get', { permitNo: a.permitNo })).status).to.equal('applied');
  });

  it("a step on A's permit endorsed by B and the regulator is committed INVALID (ENDORSEMENT_POLICY_FAILURE) and changes nothing", async () => {
    const step = { permitNo: a.permitNo, confirmations: [{ measureId: 'm1', confirmedBy: a.crew.confirmer }] };
    const commit = await a.pic
      .contract('permit')
      .submitAsync('AssessRisk', { arguments: [JSON.stringify(step)], endorsingOrganizations: [b.msp, REGULATOR_MSP] });
    const status = await commit.getStatus();
    expect(status.code).to.equal(peer.TxValidationCode.ENDORSEMENT_POLICY_FAILURE);
    const e = await endorsementOf(a.pic.conn, profile.channel, commit.getTransactionId());
    expect(e.endorsers).to.deep.equal([b.msp, REGULATOR_MSP].sort());
    expect((await regulator.evaluate<PermitRecord>('permit:Get', { permitNo: a.permitNo })).status).to.equal('applied');
    // The same step with A's own peer and the regulator's commits.
    const valid = await a.pic.submit<PermitRecord>('permit:AssessRisk', step);
    expect(valid.value.status).to.equal('risk_assessed');
    expect((await endorsementOf(a.pic.conn, profile.channel, valid.txId)).endorsers).to.deep.equal(['EnterpriseMSP', REGULATOR_MSP].sort());
  });

  it("the regulator and the auditor read every enterprise's permit; each enterprise only its own", async () => {
    for (const x of [a, b, c]) {
      for (const reader of [regulator, auditor]) {
        const p = await reader.evaluate<PermitRecord>('permit:Get', { permitNo: x.permitNo });
        expect(p.history[0]?.actor.mspId).to.equal(x.msp);
      }
      for (const other of [a, b, c].filter((o) => o !== x)) {
        await other.applicant.evaluateRefused('NOT_FOUND', 'permit:Get', { permitNo: x.permitNo });
      }
    }
  });

  it(
    "the regulator's view spans the enterprises: the indexer mirrors each one's permits, " + 'filtered by enterprise, with KPIs per enterprise and site',
    async () => {
      const database = await createTestDatabase('enterprises', { runMigrations: false });
      const indexer = startIndexer(database.url);
      const pool = new pg.Pool({ connectionString: database.url, max: 2 });
      const conn = connectAs(profile, 'regulator', 'admin');
      try {
        await indexer.waitForBlock((await blockSource(conn, profile.channel).height()) - 1, 300_000);
        const repo = new RegulatorRepository(pool, 5);
        for (const x of [a, b, c]) {
          // Its own site: a channel that served other suites holds more of this org's permits than a page.
          const page = await repo.listPermits({ org: x.msp, site: x.siteId, sort: 'applied_at', order: 'asc', limit: 100, offset: 0 });
          expect(page.items.map((p) => p.permitNo)).to.include(x.permitNo);
          expect(new Set(page.items.map((p) => p.orgMsp))).to.deep.equal(new Set([x.msp]));
        }
        const kpis = await repo.kpis(new Date(Date.now() - 86_400_000).toISOString(), new Date(Date.now() + 60_000).toISOString());
        for (const x of [a, b, c]) {
          expect(kpis.byEnterprise.find((e) => e.orgMsp === x.msp)?.permits, x.msp).to.be.greaterThan(0);
          expect(kpis.bySite.find((e) => e.orgMsp === x.msp && e.siteId === x.siteId)).to.include({ permits: 1, livePermits: 0, alarms: 0 });
        }
        const total = kpis.permitsByTypeAndState.reduce((n, p) => n + p.count, 0);
        expect(kpis.byEnterprise.reduce((n, e) => n + e.permits, 0)).to.equal(total);
      } finally {
        conn.close();
        await pool.end();
        await indexer.stop();
        await database.drop();
      }
    },
  );

  it('offboards enterprise C: its members can no longer transact, and its earlier transactions still verify', async () => {
    // A member of C who will turn to the regulator's peer once C's own peer is gone.
    const viaRegulator: ConnectionProfile = {
      ...c.profile,
      organizations: { ...c.profile.organizations, enterprise: { ...c.profile.organizations.enterprise, peer: profile.organizations.regulator.peer } },
    };
    const stranded = new Cast(viaRegulator, { enterprise: cName });
    const member = stranded.person('c-reader', 'enterprise', 'applicant');
    expect((await member.evaluate<PermitRecord>('permit:Get', { permitNo: c.permitNo })).permitNo).to.equal(c.permitNo);

    script('org-remove.sh', cName);
    const entry = fs.readFileSync(path.join(runDir, 'orgs', `${cName}.env`), 'utf8');
    expect(entry).to.match(/_STATUS=removed$/m);
    expect(fs.existsSync(path.join(runDir, 'pids', `peer-${cName}.pid`))).to.equal(false);
    const policy = fs.readFileSync(path.join(runDir, 'chaincode', 'committed-policy'), 'utf8');
    expect(policy).to.not.contain(c.msp);
    // The same member, through the same peer as before, is now refused by the channel.
    let text = '';
    try {
      await member.evaluate('permit:Get', { permitNo: c.permitNo });
    } catch (err) {
      text = errorText(err);
    } finally {
      stranded.close();
    }
    expect(text, 'a removed org is no member of the channel').to.match(/access denied|creator|not .*member|unknown/i);
    // Its records stay on the ledger, for the regulator to read.
    expect((await regulator.evaluate<PermitRecord>('permit:Get', { permitNo: c.permitNo })).history[0]?.actor.mspId).to.equal(c.msp);

    // The auditor's check: a bundle of C's application from the regulator's peer verifies against the newest block.
    const conn = connectAs(profile, 'regulator', 'admin');
    try {
      // One height for the bundle and the trusted block, whatever other clients commit meanwhile.
      const live = blockSource(conn, profile.channel);
      const height = await live.height();
      const source = { ...live, height: async () => height };
      const built = await buildBundle({ source, channel: profile.channel, chaincode: profile.chaincode, subject: { kind: 'transaction', txId: c.applyTxId! } });
      const top = decodeBlock(await source.block(height - 1));
      const report = await verifyBundle(built.archive, { blockHash: toHex(await headerHash(top.header)) });
      expect(report.checks.filter((k) => k.status === 'fail')).to.deep.equal([]);
      expect(report.ok).to.equal(true);
      const endorsed = report.checks.filter((k) => k.id.startsWith(`tx.${c.applyTxId}.endorsement`)).map((k) => k.detail);
      expect(endorsed.join(' ')).to.contain(c.msp);
    } finally {
      conn.close();
    }
  });
});

function blockSource(conn: OrgConnection, channel: string) {
  const qscc = conn.gateway.getNetwork(channel).getContract('qscc');
  return {
    async height() {
      return common.BlockchainInfo.deserializeBinary(await qscc.evaluateTransaction('GetChainInfo', channel)).getHeight();
    },
    block: (n: number) => qscc.evaluateTransaction('GetBlockByNumber', channel, String(n)),
  };
}
