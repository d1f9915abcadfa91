/**
 * The ordering service survives a node failure, on the real network: under a steady load of
 * permit applications one orderer is killed with SIGKILL (first a follower, then the leader), the
 * chain goes on without it, `network.sh up` restarts it and it catches up to the others' height,
 * and every application that was answered with a commit is on the ledger afterwards. It runs
 * against whichever ordering the network was created with (three Raft or four SmartBFT orderers);
 * both tolerate one failed node.
 */

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ConnectionProfile, PermitRecord } from '@compliance-ledger/schema';
import { common } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import {
  Cast,
  confinedSpaceApplication,
  endorsementOf,
  guardianCertificate,
  heightOf,
  type Party,
  randomIdNumber,
  workerIdOf,
} from '../../../chaincode/test/support/ledger';
import { processAlive as alive, requireNetwork, runDirOf, uniqueId } from '../../../chaincode/test/support/network';

const run = promisify(execFile);
const networkScript = path.resolve(__dirname, '..', '..', '..', 'scripts', 'network.sh');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Applications committed while the killed orderer is down, before it is restarted. */
const COMMITTED_WHILE_DOWN = 10;
const CONCURRENT_APPLICANTS = 3;

interface Orderer {
  index: number;
  operationsUrl: string;
  pidFile: string;
}

/** One Prometheus sample of the orderer's channel, or null when the node does not answer. */
async function metric(o: Orderer, name: string, channel: string): Promise<number | null> {
  try {
    const text = await (await fetch(`${o.operationsUrl}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
    const m = new RegExp(`^${name}\\{channel="${channel}"\\} (\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

interface Committed {
  permitNo: string;
  txId: string;
  blockNumber: bigint;
  at: number;
}

/** Permit applications, CONCURRENT_APPLICANTS at a time, until stopped: what committed, and what failed. */
class ApplicationLoad {
  readonly committed: Committed[] = [];
  readonly failures: string[] = [];
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(apply: (permitNo: string) => Promise<{ txId: string; blockNumber: bigint }>) {
    this.loops = Array.from({ length: CONCURRENT_APPLICANTS }, async (_, lane) => {
      while (this.running) {
        const permitNo = uniqueId(`OF-${lane}`);
        try {
          const r = await apply(permitNo);
          this.committed.push({ permitNo, ...r, at: Date.now() });
        } catch (err) {
          // An ordering hiccup (no leader yet, the killed node's connection) refuses or times out a
          // submission; it says nothing about the others, and the load goes on.
          this.failures.push((err as Error).message);
          await sleep(200);
        }
      }
    });
  }

  /** Resolves once `n` more applications have committed, or fails after `timeoutMs`. */
  async committedMore(n: number, timeoutMs: number, what: string): Promise<void> {
    const target = this.committed.length + n;
    const until = Date.now() + timeoutMs;
    while (this.committed.length < target) {
      if (Date.now() > until) {
        throw new Error(
          `${what}: only ${this.committed.length - (target - n)} of ${n} applications committed in ${timeoutMs / 1000} s; ` +
            `last failures: ${this.failures.slice(-3).join(' | ')}`,
        );
      }
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

describe('ordering: one orderer killed under load, the chain goes on and the node catches up (real Fabric)', function () {
  this.timeout(600_000);
  let profile: ConnectionProfile;
  let runDir: string;
  let orderers: Orderer[];
  let cast: Cast;
  let applicant: Party;
  let regulator: Party;
  let load: ApplicationLoad | undefined;
  const pic = workerIdOf(randomIdNumber());
  const worker = workerIdOf(randomIdNumber());
  const guardian = workerIdOf(randomIdNumber());
  const site = uniqueId('site-of');

  before(async function () {
    profile = requireNetwork(this);
    runDir = runDirOf(profile);
    orderers = profile.orderers.map((o, index) => ({ index, operationsUrl: o.operationsUrl, pidFile: path.join(runDir, 'pids', `orderer${index}.pid`) }));
    expect(orderers.length).to.equal(profile.ordering === 'bft' ? 4 : 3);
    cast = new Cast(profile);
    const officer = cast.person('of-officer', 'enterprise', 'credential_officer');
    applicant = cast.person('of-applicant', 'enterprise', 'applicant');
    regulator = cast.person('of-regulator', 'regulator', 'regulator');
    for (const w of [pic, worker, guardian]) await officer.submit('credential:RegisterWorker', { workerId: w });
    await officer.submit('credential:AddCertificate', guardianCertificate(uniqueId('of-guard'), guardian));
  });
  after(async () => {
    await load?.stop();
    cast?.close();
    // Leave the network whole for the suites that follow, whatever happened here.
    if (runDir) await run('bash', [networkScript, 'up'], { env: { ...process.env, LEDGER_RUN_DIR: runDir } });
  });

  /** A confined-space application of the one crew, each permit in its own zone. */
  async function apply(permitNo: string) {
    const crew = { permitNo, siteId: site, zoneId: `zone-${permitNo}`, workUnit: 'unit-of', worker, personInCharge: pic, guardian };
    const r = await applicant.submit(
      'permit:Apply',
      confinedSpaceApplication(crew, { description: 'Inspect the tank', hazard: 'Low oxygen', measure: 'Ventilate' }),
    );
    return { txId: r.txId, blockNumber: r.blockNumber };
  }

  /** The orderer that leads now: Raft's leader reports is_leader 1; SmartBFT nodes report the leader's consenter id (1-based). */
  async function leader(): Promise<Orderer> {
    for (let i = 0; i < 150; i++) {
      if (profile.ordering === 'bft') {
        const ids = new Set(
          (await Promise.all(orderers.map((o) => metric(o, 'consensus_smartbft_view_leader_id', profile.channel)))).filter((v) => v !== null),
        );
        const [id] = [...ids];
        if (ids.size === 1 && id! > 0) return orderers[id! - 1]!;
      } else {
        for (const o of orderers) if ((await metric(o, 'consensus_etcdraft_is_leader', profile.channel)) === 1) return o;
      }
      await sleep(200);
    }
    throw new Error('no orderer leads the channel');
  }

  async function heights(): Promise<(number | null)[]> {
    return Promise.all(orderers.map((o) => metric(o, 'ledger_blockchain_height', profile.channel)));
  }

  /**
   * Kills `victim` with SIGKILL under load, requires COMMITTED_WHILE_DOWN commits while it is dead,
   * restarts it with `network.sh up` and requires the load to go on. Returns the victim's height just
   * before the kill.
   */
  async function killAndRestart(victim: Orderer): Promise<number> {
    await load!.committedMore(5, 120_000, 'before the kill');
    const before = (await metric(victim, 'ledger_blockchain_height', profile.channel))!;
    const pid = Number(fs.readFileSync(victim.pidFile, 'utf8'));
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
    expect(alive(pid), `orderer${victim.index} (pid ${pid}) still runs after SIGKILL`).to.equal(false);
    const killedAt = Date.now();

    await load!.committedMore(COMMITTED_WHILE_DOWN, 180_000, `with orderer${victim.index} killed`);
    const whileDown = load!.committed.filter((c) => c.at > killedAt);
    expect(whileDown.length).to.be.at.least(COMMITTED_WHILE_DOWN);
    expect(alive(pid)).to.equal(false);
    expect(await metric(victim, 'ledger_blockchain_height', profile.channel), 'the killed orderer answers').to.equal(null);
    // The chain grew past the killed node's last block without it.
    expect(Number(whileDown.at(-1)!.blockNumber)).to.be.at.least(before);

    const { stderr } = await run('bash', [networkScript, 'up'], { env: { ...process.env, LEDGER_RUN_DIR: runDir } });
    expect(stderr).to.match(new RegExp(`starting orderer${victim.index} `));
    for (const o of orderers.filter((o) => o !== victim)) expect(stderr).to.match(new RegExp(`orderer${o.index} already running`));
    const restarted = Number(fs.readFileSync(victim.pidFile, 'utf8'));
    expect(restarted).to.not.equal(pid);
    expect(alive(restarted)).to.equal(true);
    await load!.committedMore(5, 120_000, `after orderer${victim.index} restarted`);
    return before;
  }

  it('kills a follower, then the leader: commits go on each time, and each restarted orderer catches up to the same height', async () => {
    load = new ApplicationLoad(apply);
    const firstLeader = await leader();
    const follower = orderers.find((o) => o !== firstLeader)!;
    const followerBefore = await killAndRestart(follower);

    const secondLeader = await leader();
    const leaderBefore = await killAndRestart(secondLeader);
    const thirdLeader = await leader();
    expect(thirdLeader.index, 'a new leader took over from the killed one').to.not.equal(secondLeader.index);

    await load.stop();
    // Every orderer, the two restarted ones included, reaches the peers' height and stays there.
    const peerHeight = async () => Number(await heightOf(regulator.conn, profile.channel));
    let last: (number | null)[] = [];
    for (let i = 0; i < 300; i++) {
      last = await heights();
      const target = await peerHeight();
      if (last.every((h) => h === target)) break;
      await sleep(200);
    }
    const target = await peerHeight();
    expect(last, `orderer heights ${JSON.stringify(last)}, peer height ${target}`).to.deep.equal(orderers.map(() => target));
    expect(target).to.be.greaterThan(Math.max(followerBefore, leaderBefore));

    // No application that was answered with a commit is lost: each is on the ledger, VALID, in the
    // block it was reported in, and the permit reads back.
    expect(load.committed.length).to.be.at.least(2 * COMMITTED_WHILE_DOWN + 20);
    const qscc = regulator.conn.gateway.getNetwork(profile.channel).getContract('qscc');
    for (const c of load.committed) {
      expect(await endorsementOf(regulator.conn, profile.channel, c.txId), c.txId).to.deep.include({ validationCode: 0 });
      const block = common.Block.deserializeBinary(await qscc.evaluateTransaction('GetBlockByTxID', profile.channel, c.txId));
      expect(BigInt(block.getHeader()!.getNumber()), c.txId).to.equal(c.blockNumber);
      const permit = await regulator.evaluate<PermitRecord>('permit:Get', { permitNo: c.permitNo });
      expect(permit.permitNo).to.equal(c.permitNo);
      expect(permit.status).to.equal('applied');
    }
  });
});
