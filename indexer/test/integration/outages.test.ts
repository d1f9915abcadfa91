/**
 * Outages while indexing: PostgreSQL stopped and started, and the peer connection cut (through a
 * TCP proxy the test controls, so the shared peers keep running). The indexer backs off, resumes
 * from its checkpoint and ends with exactly the rows an uninterrupted run produces.
 */

import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { expect } from 'chai';
import { loadProfile } from '../../src/fabric-source.js';
import { createPglite, createTestDatabase, type TestDatabase, testDatabaseUrl } from '../support/database.js';
import { chainHeight, expectSameAsUninterrupted, indexerDir, lastIndexedBlock, startIndexer, waitFor } from '../support/indexer.js';
import { connectionProfilePath, requireNetwork } from '../support/network.js';

const runDir = process.env.LEDGER_RUN_DIR ?? path.dirname(connectionProfilePath());
const scriptsDir = path.join(indexerDir, '..', 'scripts');
const servicesScript = path.join(scriptsDir, 'services.sh');

/**
 * Stops only PostgreSQL (services.sh stop would stop Mosquitto too, which others use), through
 * scripts/pg-cluster.sh, which knows where the tests' cluster lives (elsewhere when run as root).
 */
function stopPostgres(): void {
  const script = `source '${scriptsDir}/lib.sh' && source '${scriptsDir}/pg-cluster.sh' && pg_cluster_stop tests`;
  execFileSync('bash', ['-c', script], { env: { ...process.env, LEDGER_RUN_DIR: runDir }, stdio: 'ignore' });
}

function startPostgres(): void {
  execFileSync('bash', [servicesScript, 'start', 'postgres'], { env: { ...process.env, LEDGER_RUN_DIR: runDir }, stdio: 'ignore' });
}

/** A TCP proxy to the peer that can drop every connection and refuse new ones for a while. */
function peerProxy(target: string): Promise<{ endpoint: string; cut(ms: number): Promise<void>; close(): void }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = net.connect(port, host);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        endpoint: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        async cut(ms) {
          refusing = true;
          for (const s of sockets) s.destroy();
          await new Promise((r) => setTimeout(r, ms));
          refusing = false;
        },
        close() {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }),
    ),
  );
}

describe('indexer outages (real Fabric, real PostgreSQL)', function () {
  this.timeout(300_000);
  let t: TestDatabase;
  let top: number;

  before(async function () {
    requireNetwork(this);
    testDatabaseUrl();
    // Bounded, so the suite's duration does not grow with the shared channel.
    top = Math.min((await chainHeight()) - 1, 250);
    expect(top, 'the channel needs some blocks to interrupt').to.be.greaterThan(60);
  });
  afterEach(async () => {
    await t?.drop().catch(() => undefined);
  });

  it('Postgres stopped and started during indexing loses nothing', async () => {
    t = await createTestDatabase('pgdown');
    // Slow writes (a held transaction) keep it indexing long enough to be interrupted mid-way.
    const run = startIndexer(t.db, { stopAtBlock: top, batchMaxBlocks: 5, testDelayInTxMs: 50 });
    await waitFor(async () => (await lastIndexedBlock(t.db)) >= 20, 60_000, 'first blocks indexed');
    expect(await lastIndexedBlock(t.db)).to.be.lessThan(top);
    stopPostgres();
    try {
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      startPostgres();
    }
    await run.done;
    run.source.close();
    const restarts = (await run.metrics.restarts.get()).values.find((v) => v.labels.cause === 'postgres');
    expect(restarts?.value ?? 0, 'restarts after the Postgres outage').to.be.greaterThan(0);
    expect(await lastIndexedBlock(t.db)).to.equal(top);
    const reference = await createPglite();
    try {
      await expectSameAsUninterrupted(t.db, reference, top);
    } finally {
      await reference.destroy();
    }
  });

  it('the peer connection cut during indexing: reconnects and resumes where it was', async () => {
    t = await createTestDatabase('peerdown');
    const profile = loadProfile(connectionProfilePath());
    const proxy = await peerProxy(profile.organizations.regulator.peer.endpoint);
    try {
      const run = startIndexer(t.db, { stopAtBlock: top, batchMaxBlocks: 5, queueMaxBlocks: 2, testDelayInTxMs: 50, peerEndpoint: proxy.endpoint });
      await waitFor(async () => (await lastIndexedBlock(t.db)) >= 20, 60_000, 'first blocks indexed');
      const before = await lastIndexedBlock(t.db);
      expect(before).to.be.lessThan(top);
      await proxy.cut(2000);
      await run.done;
      run.source.close();
      const restarts = (await run.metrics.restarts.get()).values.find((v) => v.labels.cause === 'peer');
      expect(restarts?.value ?? 0, 'restarts after the peer outage').to.be.greaterThan(0);
      expect(await lastIndexedBlock(t.db)).to.equal(top);
    } finally {
      proxy.close();
    }
    const reference = await createPglite();
    try {
      await expectSameAsUninterrupted(t.db, reference, top);
    } finally {
      await reference.destroy();
    }
  });
});
