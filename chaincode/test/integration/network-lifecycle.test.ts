/**
 * scripts/network.sh on the real network: `up` on a running network changes nothing, and `up`
 * after a process crashed restarts just that process on its existing ledger.
 */

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ConnectionProfile } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { processAlive as alive, connectAs, requireNetwork, runDirOf, uniqueId } from '../support/network';

const run = promisify(execFile);
const networkScript = path.resolve(__dirname, '..', '..', '..', 'scripts', 'network.sh');

const pidOf = (dir: string, name: string) => Number(fs.readFileSync(path.join(dir, 'pids', `${name}.pid`), 'utf8'));

describe('network: up is idempotent and recovers a crashed node (real Fabric)', function () {
  this.timeout(180_000);
  let profile: ConnectionProfile;
  let dir: string;

  before(function () {
    profile = requireNetwork(this);
    dir = runDirOf(profile);
  });

  it('leaves a running network as it is', async () => {
    const nodes = [...profile.orderers.map((_, i) => `orderer${i}`), 'peer-enterprise', 'peer-regulator'];
    const before = nodes.map((n) => pidOf(dir, n));
    const { stderr } = await run('bash', [networkScript, 'up'], { env: { ...process.env, LEDGER_RUN_DIR: dir } });
    for (const i of profile.orderers.keys()) expect(stderr).to.match(new RegExp(`orderer${i} already running`));
    expect(stderr).to.match(/enterprise peer already running/);
    expect(stderr).to.match(/regulator peer already in channel/);
    expect(nodes.map((n) => pidOf(dir, n))).to.deep.equal(before);
  });

  it('restarts a peer killed with SIGKILL, which then endorses again on its old ledger', async () => {
    const conn = connectAs(profile, 'enterprise');
    try {
      const heartbeat = conn.gateway.getNetwork(profile.channel).getContract(profile.chaincode, 'heartbeat');
      const id = uniqueId('hb-before-crash');
      await heartbeat.submitTransaction('Record', id, 'before the crash');

      const crashed = pidOf(dir, 'peer-regulator');
      process.kill(crashed, 'SIGKILL');
      for (let i = 0; i < 50 && alive(crashed); i++) await new Promise((r) => setTimeout(r, 100));
      expect(alive(crashed)).to.equal(false);

      const { stderr } = await run('bash', [networkScript, 'up'], { env: { ...process.env, LEDGER_RUN_DIR: dir } });
      expect(stderr).to.match(/starting regulator peer/);
      expect(stderr).to.match(/orderer0 already running/);
      const restarted = pidOf(dir, 'peer-regulator');
      expect(restarted).to.not.equal(crashed);
      expect(alive(restarted)).to.equal(true);

      // Both-org endorsement needs the restarted peer; its ledger still has the earlier record.
      await heartbeat.submitTransaction('Record', uniqueId('hb-after-crash'), 'after the crash');
      const regulator = connectAs(profile, 'regulator');
      try {
        const read = regulator.gateway.getNetwork(profile.channel).getContract(profile.chaincode, 'heartbeat');
        expect(JSON.parse(Buffer.from(await read.evaluateTransaction('Read', id)).toString()).note).to.equal('before the crash');
      } finally {
        regulator.close();
      }
    } finally {
      conn.close();
    }
  });
});
