/**
 * The followed peer itself killed with SIGKILL (outages.test.ts only cuts a proxy in front of a
 * running peer). The indexer runs as its service (child process, real PostgreSQL) following the
 * enterprise's peer. While that peer is down the channel keeps growing: heartbeats endorsed by the
 * regulator alone are still ordered into blocks (and invalidated, the policy wants both orgs), so
 * the restarted peer has blocks to catch up on that the indexer never saw live. After
 * `network.sh up` the indexer must reconnect by itself and end with every block and transaction
 * once, with health and metrics back at lag 0.
 */

import { peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { BlockStore } from '../../src/block-store.js';
import { toNumber } from '../../src/db.js';
import { createPglite, createTestDatabase, type TestDatabase, testDatabaseUrl } from '../support/database.js';
import { type ChildIndexer, chainHeight, expectSameAsUninterrupted, indexerHttpBase, lastIndexedBlock, spawnIndexer, waitFor } from '../support/indexer.js';
import {
  enterpriseSubmitter,
  killPeer,
  networkUp,
  orgSubmitter,
  peerRunning,
  requireNetwork,
  type SubmitResult,
  type Submitter,
  submitHeartbeat,
  submitMany,
} from '../support/network.js';

interface Health {
  status: string;
  lastBlock: number;
  chainHeight: number | null;
  lagBlocks: number | null;
  lagSeconds: number | null;
  streaming: boolean;
  peerReachable: boolean | null;
  peerUnreachableSince: string | null;
}

/** A metric's value from the Prometheus text, e.g. metric(text, 'indexer_restarts_total{cause="peer"}'). */
function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('indexer following a peer killed with SIGKILL (real Fabric, real PostgreSQL, child process)', function () {
  this.timeout(600_000);
  let t: TestDatabase;
  let enterprise: Submitter;
  let regulator: Submitter;
  let indexer: ChildIndexer | undefined;
  let killed: number | undefined;

  before(async function () {
    const profile = requireNetwork(this);
    testDatabaseUrl();
    t = await createTestDatabase('peerkill');
    enterprise = enterpriseSubmitter(profile);
    regulator = orgSubmitter(profile, 'regulator');
  });
  after(async () => {
    // Later suites need both peers: restart the killed one even when the test failed half-way.
    if (killed !== undefined && !peerRunning('enterprise')) networkUp();
    if (indexer && indexer.child.exitCode === null) {
      indexer.child.kill('SIGTERM');
      await indexer.exit;
    }
    enterprise?.close();
    regulator?.close();
    await t?.drop();
  });

  it('reports the peer unreachable while it is down, reconnects after network.sh up, and mirrors every block and transaction once', async () => {
    indexer = spawnIndexer({
      DATABASE_URL: t.url,
      INDEXER_ORG: 'enterprise',
      INDEXER_RETRY_MIN_MS: '100',
      INDEXER_RETRY_MAX_MS: '1000',
      INDEXER_CHAIN_POLL_MS: '500',
    });
    const base = await indexerHttpBase(indexer);
    const health = async () => (await (await fetch(`${base}/healthz`)).json()) as Health;
    const metrics = async () => (await fetch(`${base}/metrics`)).text();

    const before = await submitMany(enterprise, 6, 3);
    const beforeTop = Math.max(...before.map((s) => s.blockNumber));
    await waitFor(async () => (await lastIndexedBlock(t.db)) >= beforeTop, 300_000, `block ${beforeTop} indexed before the kill`);
    await waitFor(async () => (await health()).peerReachable === true, 30_000, 'health to report the peer reachable');

    killed = await killPeer('enterprise');
    const during: SubmitResult[] = [];
    try {
      await waitFor(async () => (await health()).peerReachable === false, 60_000, 'health to report the peer unreachable');
      const down = await health();
      expect(down.streaming, 'streaming while the peer is down').to.equal(false);
      expect(down.peerUnreachableSince).to.be.a('string');
      expect(metric(await metrics(), 'indexer_peer_reachable')).to.equal(0);

      // Down long enough for the follower to back off several times (and gRPC's own reconnect
      // backoff to grow), as in an outage an operator has to notice first.
      await waitFor(async () => (metric(await metrics(), 'indexer_restarts_total{cause="peer"}') ?? 0) >= 5, 120_000, 'five reconnect attempts');

      for (let i = 0; i < 4; i++) during.push(await submitHeartbeat(regulator, `enterprise peer down ${i}`, true, 3));
      expect(during.map((d) => d.valid)).to.deep.equal([false, false, false, false]);
      // Those blocks exist only on the orderer and the regulator's peer: the indexer cannot have them.
      expect(await lastIndexedBlock(t.db)).to.be.lessThan(Math.min(...during.map((d) => d.blockNumber)));
    } finally {
      networkUp();
    }
    const restartedAt = Date.now();
    expect(peerRunning('enterprise'), 'the enterprise peer after network.sh up').to.equal(true);
    await waitFor(async () => (await health()).peerReachable === true, 120_000, 'the indexer to reach the restarted peer');
    const reconnectMs = Date.now() - restartedAt;

    const after = await submitMany(enterprise, 6, 3);
    const submitted = [...before, ...during, ...after];
    let height = 0;
    await waitFor(
      async () => {
        height = await chainHeight();
        const h = await health();
        return h.peerReachable === true && h.lagBlocks === 0 && (await lastIndexedBlock(t.db)) === height - 1;
      },
      300_000,
      "the indexer to reconnect and catch up with the regulator peer's height",
    );

    const h = await health();
    expect(h).to.include({ status: 'ok', streaming: true, peerReachable: true, peerUnreachableSince: null, lagBlocks: 0, lagSeconds: 0 });
    expect(h.lastBlock).to.be.at.least(height - 1);
    const text = await metrics();
    expect(metric(text, 'indexer_lag_blocks')).to.equal(0);
    expect(metric(text, 'indexer_lag_seconds')).to.equal(0);
    expect(metric(text, 'indexer_peer_reachable')).to.equal(1);
    expect(metric(text, 'indexer_restarts_total{cause="peer"}'), 'restarts after the peer was killed').to.be.greaterThan(0);

    indexer.child.kill('SIGTERM');
    const exit = await indexer.exit;
    expect(exit.code, indexer.output()).to.equal(0);

    // No gap, no duplicate: blocks 0..checkpoint, each once, chained as Fabric hashes them.
    const checkpoint = await lastIndexedBlock(t.db);
    expect(checkpoint).to.be.at.least(height - 1);
    const blocks = (await t.db.raw('SELECT count(*) AS n, count(DISTINCT number) AS d, min(number) AS lo, max(number) AS hi FROM blocks')).rows[0] as Record<
      string,
      unknown
    >;
    expect([blocks.n, blocks.d, blocks.lo, blocks.hi].map(toNumber)).to.deep.equal([checkpoint + 1, checkpoint + 1, 0, checkpoint]);
    expect(await new BlockStore(t.db).verifyStoredChain()).to.equal(checkpoint + 1);

    const rows = (await t
      .db('transactions')
      .whereIn(
        'tx_id',
        submitted.map((s) => s.txId),
      )
      .select('tx_id', 'block_number', 'valid', 'validation_code')) as {
      tx_id: string;
      block_number: unknown;
      valid: boolean;
      validation_code: number;
    }[];
    expect(rows.map((r) => r.tx_id).sort(), 'each submitted transaction once').to.deep.equal(submitted.map((s) => s.txId).sort());
    const byId = new Map(rows.map((r) => [r.tx_id, r]));
    for (const s of submitted) {
      const r = byId.get(s.txId)!;
      expect(toNumber(r.block_number), s.txId).to.equal(s.blockNumber);
      expect(r.valid, s.txId).to.equal(s.valid);
    }
    for (const s of during) expect(byId.get(s.txId)!.validation_code).to.equal(peer.TxValidationCode.ENDORSEMENT_POLICY_FAILURE);

    // Every other transaction too: the same rows as one uninterrupted run over the same blocks.
    const reference = await createPglite();
    try {
      await expectSameAsUninterrupted(t.db, reference, checkpoint);
    } finally {
      await reference.destroy();
    }
    console.log(
      `      peer pid ${killed} killed; ${during.length} blocks cut while it was down; peer reached ` +
        `${reconnectMs} ms after network.sh up; caught up to block ${checkpoint}`,
    );
  });
});
