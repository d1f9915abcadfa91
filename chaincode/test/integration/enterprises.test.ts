/**
 * Many enterprises on one channel (real Fabric): four enterprises onboarded into the running network
 * with one scripts/org-add.sh command, each with its own CA, peer and chaincode server, so that five
 * transact. Each submits a permit that commits, endorsed by its own peer and the regulator's. For
 * every pair, the other enterprise neither reads nor writes the first one's records, and its peer's
 * endorsement does not count: a step on one enterprise's permit endorsed by another and the
 * regulator is committed INVALID (ENDORSEMENT_POLICY_FAILURE, the permit's key-level policy) and
 * changes nothing. Each one's personal data stays in its own implicit collection, on its own peer.
 * The regulator reads all five, and its indexer and KPIs span them. An enterprise
 * offboarded with scripts/org-remove.sh can no longer transact, and its earlier transactions still
 * verify with the verifier.
 */

import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type ConnectionProfile,
  connectionProfileSchema,
  defaultLedgerRunDir,
  implicitCollectionOf,
  type PermitRecord,
  REGULATOR_MSP,
  type WorkerRecord,
} from '@compliance-ledger/schema';
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

async function company(profile: ConnectionProfile, caOrg: string, tag: string): Promise<Company> {
  const cast = new Cast(profile, { enterprise: caOrg });
  const crew = {
    worker: workerIdOf(randomIdNumber()),
    guardian: workerIdOf(randomIdNumber()),
    personInCharge: workerIdOf(randomIdNumber()),
    confirmer: workerIdOf(randomIdNumber()),
  };
  const [officer, applicant, pic] = await Promise.all([
    cast.enrol(`${tag}-officer`, 'enterprise', 'credential_officer'),
    cast.enrol(`${tag}-applicant`, 'enterprise', 'applicant'),
    cast.enrol(`${tag}-pic`, 'enterprise', 'person_in_charge', { workerId: crew.personInCharge }),
  ]);
  return {
    msp: profile.organizations.enterprise.mspId,
    profile,
    cast,
    officer,
    applicant,
    pic,
    crew,
    siteId: uniqueId(`site-${tag}`),
    permitNo: uniqueId(`CS-${tag}`),
  };
}

function addedOrgProfile(name: string): ConnectionProfile {
  return connectionProfileSchema.parse(JSON.parse(fs.readFileSync(path.join(runDir, 'orgs', name, 'connection-profile.json'), 'utf8')));
}

/** Every ordered pair of different companies: [the records' owner, another enterprise]. */
function pairs(all: Company[]): [Company, Company][] {
  return all.flatMap((owner) => all.filter((other) => other !== owner).map((other): [Company, Company] => [owner, other]));
}

/** Runs bash code with scripts/lib.sh and channel-config.sh loaded, as org-add.sh does; its stderr on failure. */
function channelAdmin(code: string, env: Record<string, string> = {}): { ok: boolean; stderr: string } {
  try {
    execFileSync('bash', ['-c', `set -euo pipefail; source scripts/lib.sh; source scripts/channel-config.sh; ${code}`], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { ok: true, stderr: '' };
  } catch (err) {
    return { ok: false, stderr: (err as { stderr?: string }).stderr ?? String(err) };
  }
}

interface SignaturePolicyJson {
  identities: { principal: { msp_identifier: string; role: string } }[];
  rule: { n_out_of: { n: number; rules: { signed_by?: number; n_out_of?: { n: number; rules: { signed_by: number }[] } }[] } };
}

/** The channel's Application governance policies, as the regulator's admin reads the current config. */
function governancePolicies(): Record<'Admins' | 'LifecycleEndorsement' | 'Endorsement', { type: number; value: SignaturePolicyJson }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'governance-'));
  try {
    const r = channelAdmin('fetch_channel_config regulator "$W/config.json"', { W: dir });
    if (!r.ok) throw new Error(`could not read the channel config: ${r.stderr}`);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const p = config.channel_group.groups.Application.policies;
    return { Admins: p.Admins.policy, LifecycleEndorsement: p.LifecycleEndorsement.policy, Endorsement: p.Endorsement.policy };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Requires each governance policy to be "the regulator AND `majority` of exactly these enterprises":
 * a signature policy whose first rule is the regulator's and whose second counts the enterprises.
 */
function expectRegulatorAndMajority(enterprises: string[], majority: number): void {
  for (const [name, policy] of Object.entries(governancePolicies())) {
    const role = name === 'Admins' ? 'ADMIN' : 'PEER';
    expect(policy.type, `${name} is a signature policy`).to.equal(1);
    const ids = policy.value.identities.map((i) => i.principal);
    const rule = policy.value.rule.n_out_of;
    expect(rule.n, `${name}: both parts`).to.equal(2);
    expect(ids[rule.rules[0]!.signed_by!], `${name}: the regulator's part`).to.deep.equal({ msp_identifier: REGULATOR_MSP, role });
    const counted = rule.rules[1]!.n_out_of!;
    expect(counted.n, `${name}: a majority of the enterprises`).to.equal(majority);
    expect(counted.rules.map((r) => ids[r.signed_by]!.msp_identifier).sort(), `${name}: the enterprises counted`).to.deep.equal([...enterprises].sort());
    for (const r of counted.rules) expect(ids[r.signed_by]!.role).to.equal(role);
  }
}

describe('network: five enterprises, four onboarded into the running network, isolated from each other (real Fabric)', function () {
  this.timeout(900_000);
  const run = Math.random().toString(16).slice(2, 8);
  const names = ['b', 'c', 'd', 'e'].map((letter) => `${letter}${run}`);
  const cName = names[1]!;
  let profile: ConnectionProfile;
  let all: Company[];
  let c: Company;
  let regulatorCast: Cast;
  const onboarded: string[] = [];
  let regulator: Party;
  let auditor: Party;

  before(async function () {
    profile = requireNetwork(this);
    // One command for the four: one channel update and one chaincode definition for all of them.
    try {
      script('org-add.sh', ...names);
    } finally {
      onboarded.push(...names.filter((n) => fs.existsSync(path.join(runDir, 'orgs', `${n}.env`))));
    }
    regulatorCast = new Cast(profile);
    // Everyone enrolled at once: five CAs, seventeen people.
    [all, regulator, auditor] = await Promise.all([
      Promise.all([company(profile, 'enterprise', 'a'), ...names.map((n) => company(addedOrgProfile(n), n, n[0]!))]),
      regulatorCast.enrol('ent-regulator', 'regulator', 'regulator'),
      regulatorCast.enrol('ent-auditor', 'regulator', 'auditor'),
    ]);
    c = all[2]!;
  });
  after(() => {
    for (const x of all ?? []) x.cast.close();
    regulatorCast?.close();
    // The network stays as lean as it was: the enterprises this suite added leave again, in one command.
    const members = onboarded.filter((name) => !/_STATUS=removed$/m.test(fs.readFileSync(path.join(runDir, 'orgs', `${name}.env`), 'utf8')));
    if (members.length > 0) script('org-remove.sh', ...members);
  });

  it('onboards four enterprises at once, each with its own MSP, CA and peer, each named in the chaincode definition', () => {
    expect(all.map((x) => x.msp)).to.deep.equal(['EnterpriseMSP', ...['B', 'C', 'D', 'E'].map((l) => `${l}${run}MSP`)]);
    const peers = all.map((x) => x.profile.organizations.enterprise.peer.endpoint);
    const cas = all.map((x) => x.profile.organizations.enterprise.ca?.url);
    expect(new Set(peers).size, peers.join(' ')).to.equal(5);
    expect(new Set(cas).size, cas.join(' ')).to.equal(5);
    const policy = fs.readFileSync(path.join(runDir, 'chaincode', 'committed-policy'), 'utf8').trim();
    for (const x of all) expect(policy).to.contain(`AND('${x.msp}.peer','${REGULATOR_MSP}.peer')`);
    for (const name of names) {
      expect(addedOrgProfile(name).organizations.regulator).to.deep.equal(profile.organizations.regulator);
      expect(fs.readFileSync(path.join(runDir, 'orgs', `${name}.env`), 'utf8')).to.match(/_STATUS=member$/m);
      const gatewayEnv = fs.readFileSync(path.join(runDir, 'orgs', name, 'gateway.env'), 'utf8');
      expect(gatewayEnv)
        .to.contain('GATEWAY_ORG=enterprise')
        .and.to.contain(`LEDGER_CONNECTION_PROFILE=${path.join(runDir, 'orgs', name, 'connection-profile.json')}`);
    }
  });

  it('the channel and the chaincode need the regulator: the enterprises together cannot expel one of them without it', () => {
    // Admins, LifecycleEndorsement and Endorsement: the regulator AND 3 of the 5 enterprises.
    expectRegulatorAndMajority(
      all.map((x) => x.msp),
      3,
    );
    // Under Fabric's MAJORITY of the six orgs, four enterprises' admins would be enough to remove the
    // fifth (or the regulator). Here all four sign, the last submits, and the orderer refuses it.
    const victim = all[3]!; // names[2]'s company: `all` is the first enterprise, then names in order
    const others = ['enterprise', ...names.filter((_, i) => i !== 2)];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'governance-'));
    try {
      const r = channelAdmin(
        `fetch_channel_config regulator "$W/config.json"
         jq --arg m "$VICTIM" 'del(.channel_group.groups.Application.groups[$m])' "$W/config.json" >"$W/without.json"
         set_governance_policies "$W/without.json" "$W/updated.json"
         config_update_envelope "$W/config.json" "$W/updated.json" "$W/update.pb"
         sign_and_submit_config "$W/update.pb" ${others.join(' ')}`,
        { W: dir, VICTIM: victim.msp },
      );
      expect(r.ok, 'an update without the regulator is refused').to.equal(false);
      expect(r.stderr).to.match(/could not submit the config update/);
      expect(r.stderr).to.match(/error authorizing update: .*not satisfied: signature set did not satisfy policy/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // Nothing changed: the victim is still a member, with the same policies.
    expectRegulatorAndMajority(
      all.map((x) => x.msp),
      3,
    );
  });

  it('each of the five enterprises submits a permit that commits, endorsed by its own peer and the regulator, all at once', async () => {
    await Promise.all(
      all.map(async (x) => {
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
        expect(e.endorsers, x.msp).to.deep.equal([x.msp, REGULATOR_MSP].sort());
      }),
    );
  });

  it("for every pair, one enterprise can neither read nor write the other's records: they read as missing", async () => {
    await Promise.all(
      pairs(all).map(async ([owner, other]) => {
        const missing = `permit ${owner.permitNo} does not exist`;
        const who = `${other.msp} on ${owner.msp}'s records`;
        expect(await other.applicant.evaluateRefused('NOT_FOUND', 'permit:Get', { permitNo: owner.permitNo }), who).to.contain(missing);
        expect(await other.applicant.evaluateRefused('NOT_FOUND', 'permit:GetHistory', { permitNo: owner.permitNo }), who).to.contain(missing);
        expect(await other.officer.evaluateRefused('NOT_FOUND', 'credential:GetWorker', { workerId: owner.crew.worker }), who).to.contain('does not exist');
        await other.pic.refused('NOT_FOUND', 'permit:AssessRisk', {
          permitNo: owner.permitNo,
          confirmations: [{ measureId: 'm1', confirmedBy: other.crew.confirmer }],
        });
        await other.officer.refused('NOT_FOUND', 'credential:SetWorkerStatus', { workerId: owner.crew.worker, status: 'suspended', reason: 'not ours' });
        // Nor can it put the owner's workers on a permit of its own.
        const borrowed = await other.applicant.refused(
          'NOT_FOUND',
          'permit:Apply',
          confinedSpaceApplication(
            { permitNo: uniqueId('CS-borrow'), siteId: other.siteId, zoneId: 'tank-2', workUnit: 'unit-storage', ...owner.crew },
            { description: 'Borrowed crew', hazard: 'Oxygen deficiency', measure: 'Ventilation' },
          ),
        );
        expect(borrowed, who).to.contain('does not exist');
      }),
    );
    for (const x of all) {
      expect((await x.applicant.evaluate<PermitRecord>('permit:Get', { permitNo: x.permitNo })).status, x.msp).to.equal('applied');
      expect((await x.officer.evaluate<WorkerRecord>('credential:GetWorker', { workerId: x.crew.worker })).status, x.msp).to.equal('active');
    }
  });

  it("each enterprise's personal data goes to its own implicit collection on its own peer alone; no other enterprise reaches it", async () => {
    await Promise.all(
      all.map(async (x, i) => {
        const neighbour = all[(i + 1) % all.length]!;
        const idNumber = randomIdNumber();
        const workerId = workerIdOf(idNumber);
        const personal = { idNumber, name: `${x.msp} worker`, phone: `139${crypto.randomInt(1e7, 1e8)}`, salt: crypto.randomBytes(24).toString('base64') };
        await x.officer.submit('credential:RegisterWorker', { workerId });
        // Another enterprise's peer refuses to hold it, even when the owner's client asks it to.
        await x.officer.refused(
          'FORBIDDEN',
          'credential:StoreWorkerPersonalData',
          { workerId },
          {
            transient: { personal },
            endorsingOrganizations: [neighbour.msp],
          },
        );
        const stored = await x.officer.submit('credential:StoreWorkerPersonalData', { workerId }, { transient: { personal } });
        expect(stored.value).to.deep.equal({ workerId, collection: implicitCollectionOf(x.msp) });
        expect(await endorsementOf(x.officer.conn, profile.channel, stored.txId)).to.deep.equal({ validationCode: 0, endorsers: [x.msp] });
        const accessId = uniqueId('acc');
        await x.officer.submit('credential:LogPersonalDataAccess', { accessId, subject: { kind: 'worker', id: workerId }, purpose: 'Identity check' });
        expect(await x.officer.evaluate('credential:ReadPersonalData', { accessId })).to.deep.equal(personal);
        expect(await regulator.evaluate('credential:GetWorker', { workerId })).to.include({ personalDataStored: true });
        for (const other of all.filter((o) => o !== x)) {
          await other.officer.refused('NOT_FOUND', 'credential:LogPersonalDataAccess', {
            accessId: uniqueId('acc'),
            subject: { kind: 'worker', id: workerId },
            purpose: 'Not ours',
          });
        }
      }),
    );
  });

  it("for every pair, a step on one enterprise's permit endorsed by the other and the regulator is committed INVALID and changes nothing", async () => {
    const stepOf = (x: Company) => ({ permitNo: x.permitNo, confirmations: [{ measureId: 'm1', confirmedBy: x.crew.confirmer }] });
    await Promise.all(
      pairs(all).map(async ([owner, other]) => {
        const forged = await owner.pic.committed('permit:AssessRisk', stepOf(owner), { endorsingOrganizations: [other.msp, REGULATOR_MSP] });
        expect(forged.status.code, `${owner.msp}'s permit endorsed by ${other.msp}`).to.equal(peer.TxValidationCode.ENDORSEMENT_POLICY_FAILURE);
        expect((await endorsementOf(owner.pic.conn, profile.channel, forged.txId)).endorsers).to.deep.equal([other.msp, REGULATOR_MSP].sort());
      }),
    );
    for (const x of all) expect((await regulator.evaluate<PermitRecord>('permit:Get', { permitNo: x.permitNo })).status, x.msp).to.equal('applied');
    // The same step with the owner's own peer and the regulator's commits.
    await Promise.all(
      all.map(async (x) => {
        const valid = await x.pic.submit<PermitRecord>('permit:AssessRisk', stepOf(x));
        expect(valid.value.status).to.equal('risk_assessed');
        expect((await endorsementOf(x.pic.conn, profile.channel, valid.txId)).endorsers).to.deep.equal([x.msp, REGULATOR_MSP].sort());
      }),
    );
  });

  it("the regulator and the auditor read every enterprise's permit", async () => {
    for (const x of all) {
      for (const reader of [regulator, auditor]) {
        const p = await reader.evaluate<PermitRecord>('permit:Get', { permitNo: x.permitNo });
        expect(p.history[0]?.actor.mspId).to.equal(x.msp);
        expect(p.status).to.equal('risk_assessed');
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
        for (const x of all) {
          // Its own site: a channel that served other suites holds more of this org's permits than a page.
          const page = await repo.listPermits({ org: x.msp, site: x.siteId, sort: 'applied_at', order: 'asc', limit: 100, offset: 0 });
          expect(page.items.map((p) => p.permitNo)).to.include(x.permitNo);
          expect(new Set(page.items.map((p) => p.orgMsp))).to.deep.equal(new Set([x.msp]));
        }
        const kpis = await repo.kpis(new Date(Date.now() - 86_400_000).toISOString(), new Date(Date.now() + 60_000).toISOString());
        for (const x of all) {
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

  it('offboards enterprise C: its members can no longer transact, the four others go on, and its earlier transactions still verify', async () => {
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
    // The channel's governance no longer counts C: the regulator AND 3 of the 4 staying enterprises.
    expectRegulatorAndMajority(
      all.filter((x) => x !== c).map((x) => x.msp),
      3,
    );
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
    // The four others go on: each writes a record of its own under the new definition.
    await Promise.all(
      all
        .filter((x) => x !== c)
        .map(async (x) => {
          const w = await x.officer.submit('credential:RegisterWorker', { workerId: workerIdOf(randomIdNumber()) });
          expect((await endorsementOf(x.officer.conn, profile.channel, w.txId)).endorsers).to.deep.equal([x.msp, REGULATOR_MSP].sort());
        }),
    );
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
