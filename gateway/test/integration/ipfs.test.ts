/**
 * The embedded blockstore and a real kubo daemon (built from the Go module proxy by
 * scripts/install-kubo.sh) give the same CID for the same bytes, at every DAG shape: one raw block,
 * several leaves, and more than 174 leaves (two levels). And the gateway in kubo mode stores
 * evidence in kubo and the auditor's check reads it back from there.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { computeCid, EmbeddedContentStore, KuboContentStore } from '../../src/ipfs.js';
import { Client, createDatabase, dropDatabase, requireNetwork, scratchDir, startTestGateway, uniqueId } from '../support/env.js';
import { type Kubo, kuboBinary, startKubo } from '../support/kubo.js';
import { applyBody, iso, makeCast, registerCast } from '../support/scenario.js';

const SIZES = [1, 1000, 262_144, 262_145, 700_000, 174 * 262_144, 174 * 262_144 + 1, 200 * 262_144 + 12_345];

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

describe('gateway: IPFS — embedded blockstore and kubo give the same CIDs', function () {
  this.timeout(300_000);
  let kubo: Kubo;
  let embedded: EmbeddedContentStore;
  let viaRpc: KuboContentStore;

  before(async function () {
    const bin = kuboBinary();
    if (!bin) {
      this.test!.title += ' (skipped: kubo is not built; run scripts/install-kubo.sh)';
      this.skip();
    }
    kubo = await startKubo(bin!);
    embedded = new EmbeddedContentStore(scratchDir('gw-blocks-'));
    viaRpc = new KuboContentStore(kubo.apiUrl);
  });
  after(async () => {
    await embedded?.close();
    await kubo?.stop();
  });

  for (const size of SIZES) {
    it(`${size} bytes: embedded = kubo-rpc-client = \`ipfs add --cid-version=1\``, async () => {
      const bytes = crypto.randomBytes(size);
      const tooLarge = () => new Error('too large');
      const a = await embedded.add(Readable.from([bytes]), 1e9, tooLarge);
      const b = await viaRpc.add(Readable.from([bytes]), 1e9, tooLarge);
      const file = path.join(os.tmpdir(), `gw-ipfs-${size}`);
      fs.writeFileSync(file, bytes);
      const cli = kubo.cli(['add', '--cid-version=1', '-Q', file]);
      fs.rmSync(file);
      expect(a.cid).to.equal(b.cid);
      expect(a.cid).to.equal(cli);
      expect(await computeCid(Readable.from([bytes]))).to.equal(cli);
      const sha = crypto.createHash('sha256').update(bytes).digest('hex');
      expect(a.sha256).to.equal(sha);
      expect(b.sha256).to.equal(sha);
      expect(a.sizeBytes).to.equal(size);
      expect((await collect(embedded.cat(a.cid, 10_000))).equals(bytes)).to.equal(true);
      expect((await collect(viaRpc.cat(b.cid, 10_000))).equals(bytes)).to.equal(true);
    });
  }

  it('stops a stream over the size limit with the given error', async () => {
    try {
      await embedded.add(Readable.from([crypto.randomBytes(5000)]), 4000, () => new Error('LIMIT'));
      expect.fail('accepted');
    } catch (e) {
      expect((e as Error).message).to.equal('LIMIT');
    }
  });

  describe('gateway in kubo mode (IPFS_API_URL)', () => {
    it('uploads evidence into kubo and the evidence check reads it back from kubo', async function () {
      requireNetwork(this);
      const db = await createDatabase('gw_kubo');
      const gw = await startTestGateway({ DATABASE_URL: db, IPFS_API_URL: kubo.apiUrl });
      try {
        const cast = await makeCast(new Client(gw.url));
        await registerCast(cast);
        const permitNo = uniqueId('HWK');
        expect((await cast.clients.applicant.post('/v1/permits', applyBody(cast, permitNo))).status).to.equal(201);
        const bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(600_000)]);
        const form = new FormData();
        form.set('step', 'application');
        form.set('capturedAt', iso(Date.now() - 10_000));
        form.set('file', new Blob([bytes], { type: 'application/pdf' }), 'plan.pdf');
        const r = await cast.clients.applicant.request('POST', `/v1/permits/${permitNo}/evidence`, { body: form });
        expect(r.status, r.text).to.equal(201);
        const file = path.join(os.tmpdir(), `gw-ev-${permitNo}`);
        fs.writeFileSync(file, bytes);
        expect(r.body.record.cid).to.equal(kubo.cli(['add', '--cid-version=1', '-Q', '--only-hash', file]));
        fs.rmSync(file);
        expect(kubo.cli(['pin', 'ls', '--type=recursive', '-q'])).to.contain(r.body.record.cid);
        const check = await cast.clients.auditor.get(`/v1/audit/permits/${permitNo}/evidence-check`);
        expect(check.status, check.text).to.equal(200);
        expect(check.body).to.include({ ok: true, store: 'kubo' });
      } finally {
        await gw.close();
        await dropDatabase(db);
      }
    });
  });
});
