/**
 * Two orgs, two copies, on the real network with two real kubo nodes: the enterprise's gateway
 * stores evidence in the enterprise's node; the regulator's indexer, following the ledger, pins
 * every recorded CID on the regulator's node, which fetches it from the enterprise's node over
 * IPFS. After the enterprise deletes its copy and garbage-collects, the regulator's node still
 * serves the clip and it still matches the sha256 on the ledger. The retention sweeper then
 * unpins what has passed its period, and only that.
 */
import * as crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import pg from 'pg';
import { Client, createDatabase, dropDatabase, requireNetwork, startTestGateway } from '../support/env.js';
import { startIndexer } from '../support/indexer.js';
import { type Kubo, kuboBinary, startKubo } from '../support/kubo.js';
import { type Cast, castWithPermit, iso } from '../support/scenario.js';
import { createUpload, MP4_HEAD, mediaBytes, patch, uploadMetadata } from '../support/tus.js';

const DAY_MS = 86_400_000;

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('gateway + indexer: the regulator pins every recorded evidence CID on its own IPFS node', function () {
  this.timeout(300_000);
  let enterprise: Kubo;
  let regulator: Kubo;
  let gw: Awaited<ReturnType<typeof startTestGateway>>;
  let indexer: ReturnType<typeof startIndexer>;
  let gwDb: string;
  let indexerDb: string;
  let mirror: pg.Client;
  let cast: Cast;
  let auth: string;
  let permitNo: string;

  before(async function () {
    requireNetwork(this);
    const bin = kuboBinary();
    if (!bin) {
      this.test!.title += ' (skipped: kubo is not built; run scripts/install-kubo.sh)';
      this.skip();
    }
    enterprise = await startKubo(bin!, { online: true });
    regulator = await startKubo(bin!, { online: true });
    regulator.cli(['swarm', 'connect', enterprise.swarmAddress]);
    gwDb = await createDatabase('gw_replication');
    indexerDb = await createDatabase('ix_replication');
    gw = await startTestGateway({ DATABASE_URL: gwDb, IPFS_API_URL: enterprise.apiUrl });
    // The mirror starts at block 0: evidence of other suites, whose content no node here holds, is
    // tried and given up on quickly, and goes behind the fresh records (evidence-pinner.ts).
    indexer = startIndexer(indexerDb, {
      INDEXER_ORG: 'regulator',
      INDEXER_PIN_IPFS_API_URL: regulator.apiUrl,
      INDEXER_PIN_POLL_MS: '300',
      INDEXER_PIN_TIMEOUT_MS: '3s',
    });
    // Its tables (evidence_pins among them) exist once it has written its first block.
    await indexer.waitForBlock(0);
    mirror = new pg.Client({ connectionString: indexerDb });
    await mirror.connect();
    ({ cast, permitNo } = await castWithPermit(new Client(gw.url)));
    auth = cast.clients.applicant.auth.authorization!;
  });
  after(async () => {
    await mirror?.end();
    await indexer?.stop();
    await gw?.close();
    await enterprise?.stop();
    await regulator?.stop();
    if (gwDb) await dropDatabase(gwDb);
    if (indexerDb) await dropDatabase(indexerDb);
  });

  async function upload(bytes: Buffer, filetype: string, filename: string): Promise<{ cid: string; sha256: string; transactionId: string }> {
    const created = await createUpload(
      gw.url,
      auth,
      bytes.length,
      uploadMetadata({ permitNo, step: 'execution', capturedAt: iso(Date.now() - 60_000), filetype, filename }),
    );
    expect(created.status, created.text).to.equal(201);
    const done = await patch(gw.url, created.location, auth, 0, Readable.from([bytes]));
    expect(done.status, done.body).to.equal(204);
    return {
      cid: String(done.headers['evidence-cid']),
      sha256: String(done.headers['evidence-sha256']),
      transactionId: String(done.headers['ledger-transaction-id']),
    };
  }

  const pinnedOn = (node: Kubo) => node.cli(['pin', 'ls', '--type=recursive', '-q']).split('\n');
  const pinRow = async (cid: string) =>
    (
      await mirror.query<{ retention: string; recorded_at: Date; retain_until: Date; pinned_at: Date | null; unpinned_at: Date | null }>(
        'SELECT * FROM evidence_pins WHERE cid = $1',
        [cid],
      )
    ).rows[0];

  let clip: { cid: string; sha256: string; bytes: Buffer };
  let plan: { cid: string };

  it('pins a recorded clip on the regulator node, which still serves it after the enterprise deletes and garbage-collects its copy', async () => {
    const bytes = mediaBytes(`replicated-${permitNo}`, MP4_HEAD, 3 * 1024 * 1024 + 777);
    const stored = await upload(bytes, 'video/mp4', 'gate-camera.mp4');
    clip = { ...stored, bytes };
    expect(pinnedOn(enterprise)).to.include(clip.cid);
    const row = await until('the regulator node to pin the clip', 120_000, async () => {
      const r = await pinRow(clip.cid);
      return r?.pinned_at ? r : undefined;
    });
    expect(pinnedOn(regulator)).to.include(clip.cid);
    // Plain video: the GB 30871 period (31 days by default) from its recording.
    expect(row.retention).to.equal('video');
    expect(row.retain_until.getTime() - row.recorded_at.getTime()).to.equal(31 * DAY_MS);

    enterprise.cli(['pin', 'rm', clip.cid]);
    enterprise.cli(['repo', 'gc']);
    expect(() => enterprise.cli(['block', 'stat', '--offline', clip.cid]), 'the enterprise copy is gone').to.throw();
    // --offline: what the regulator node holds itself, not what it could fetch from a peer.
    const res = await fetch(`${regulator.apiUrl}/api/v0/cat?arg=${clip.cid}&offline=true`, { method: 'POST' });
    expect(res.status).to.equal(200);
    const served = Buffer.from(await res.arrayBuffer());
    expect(served.equals(bytes)).to.equal(true);
    const evidence = await cast.clients.auditor.get(`/v1/permits/${permitNo}/evidence`);
    const onLedger = evidence.body.find((e: { cid: string }) => e.cid === clip.cid);
    expect(crypto.createHash('sha256').update(served).digest('hex')).to.equal(onLedger.sha256);
  });

  it("keeps the permit's documents for the six-year record, and the sweeper unpins only what has passed its period", async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(100_000)]);
    plan = await upload(pdf, 'application/pdf', 'isolation-plan.pdf');
    const row = await until('the regulator node to pin the plan', 120_000, async () => {
      const r = await pinRow(plan.cid);
      return r?.pinned_at ? r : undefined;
    });
    expect(row.retention).to.equal('record');
    expect(row.retain_until.getTime() - row.recorded_at.getTime()).to.equal((6 * 365 + 2) * DAY_MS);

    // A month and a day pass for the clip (its period moved into the past), not for the plan.
    await mirror.query(`UPDATE evidence_pins SET retain_until = now() - interval '1 day' WHERE cid = $1`, [clip.cid]);
    await until('the sweeper to unpin the expired clip', 30_000, async () => ((await pinRow(clip.cid))?.unpinned_at ? true : undefined));
    expect(pinnedOn(regulator)).to.not.include(clip.cid);
    expect(pinnedOn(regulator)).to.include(plan.cid);
    expect((await pinRow(plan.cid))!.unpinned_at).to.equal(null);
    // The ledger keeps the hash for good: a copy found later can still be checked against it.
    const evidence = await cast.clients.auditor.get(`/v1/permits/${permitNo}/evidence`);
    expect(evidence.body.find((e: { cid: string }) => e.cid === clip.cid).sha256).to.equal(clip.sha256);
  });
});
