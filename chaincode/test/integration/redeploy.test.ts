/**
 * Redeploying a changed chaincode: scripts/deploy-chaincode.sh installs the new package, approves
 * and commits the next sequence for both orgs, and restarts the chaincode server; the ledger keeps
 * everything written before.
 */

import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ConnectionProfile } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { connectAs, type OrgConnection, requireNetwork, uniqueId } from '../support/network';

const run = promisify(execFile);
const deployScript = path.resolve(__dirname, '..', '..', '..', 'scripts', 'deploy-chaincode.sh');

/** The sequence now committed and the package label (one per code build; each org has its own package id). */
async function deploy(salt: string): Promise<{ sequence: number; label: string }> {
  const { stderr } = await run('bash', [deployScript], { env: { ...process.env, LEDGER_CHAINCODE_SALT: salt } });
  const done = /deployed \S+ sequence (\d+) \(([^)]+)\)|sequence (\d+) already runs this code \(([^)]+)\)/.exec(stderr);
  if (!done) throw new Error(`unexpected deploy output:\n${stderr}`);
  return { sequence: Number(done[1] ?? done[3]), label: (done[2] ?? done[4])! };
}

describe('network: redeploying a changed chaincode (real Fabric)', function () {
  this.timeout(300_000);
  let profile: ConnectionProfile;
  let enterprise: OrgConnection;

  before(function () {
    profile = requireNetwork(this);
    enterprise = connectAs(profile, 'enterprise');
  });
  after(async () => {
    enterprise?.close();
  });

  it('commits the next sequence and keeps the ledger', async () => {
    const heartbeat = () => enterprise.gateway.getNetwork(profile.channel).getContract(profile.chaincode, 'heartbeat');
    const id = uniqueId('hb-before-redeploy');
    await heartbeat().submitTransaction('Record', id, 'written before the upgrade');

    const current = await deploy('');
    const changed = await deploy(`redeploy-test-${Date.now()}`);
    expect(changed.sequence).to.equal(current.sequence + 1);
    expect(changed.label).to.not.equal(current.label);

    const read = JSON.parse(Buffer.from(await heartbeat().evaluateTransaction('Read', id)).toString('utf8'));
    expect(read.note).to.equal('written before the upgrade');
    // The upgraded chaincode takes writes too.
    await heartbeat().submitTransaction('Record', uniqueId('hb-after-redeploy'), 'after');

    // Back to the package built from the working tree, as the next sequence.
    const back = await deploy('');
    expect(back.sequence).to.equal(changed.sequence + 1);
    expect(back.label).to.equal(current.label);
  });
});
