/**
 * Commit statuses from the block stream (commit-watcher.ts) on the real network: each write gets
 * the status its peer would have answered, without the CommitStatus call; one the stream does not
 * bring in time is asked of the peer after all; a copy marked DUPLICATE_TXID does not replace the
 * first commit; and a stream that could not open costs nothing but the calls.
 */
import * as crypto from 'node:crypto';
import { peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { CommitWatcher } from '../../src/commit-watcher.js';
import { loadConnectionProfile } from '../../src/connection-profile.js';
import { type FabricConnection, profileSigningIdentity } from '../../src/gateway.js';
import { commitStatusOf, submitTransaction } from '../../src/submit.js';
import { connectOrSkip, untilEndorsable } from '../support/network.js';

const heartbeatId = (what: string) => `cw-${what}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;

async function until(what: string, ok: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('fabric-client: commit statuses from the block stream (real network)', function () {
  this.timeout(120_000);
  let conn: FabricConnection;
  const watchers: CommitWatcher[] = [];
  const profile = () => loadConnectionProfile();
  const network = () => conn.gateway.getNetwork(profile().channel);
  const heartbeat = () => network().getContract(profile().chaincode, 'heartbeat');
  const statusOf = (txId: string) =>
    commitStatusOf(conn.gateway, profile().channel, txId, profileSigningIdentity(profile(), 'enterprise', 'client')).getStatus({
      deadline: Date.now() + 60_000,
    });
  const watcher = (o: ConstructorParameters<typeof CommitWatcher>[1] = {}, net: ConstructorParameters<typeof CommitWatcher>[0] = network) => {
    const w = new CommitWatcher(net, o);
    watchers.push(w);
    return w;
  };

  before(async function () {
    conn = connectOrSkip(this);
    await untilEndorsable(conn);
  });
  after(() => {
    for (const w of watchers) w.close();
    conn?.close();
  });

  it('gives each of writes sent together the status and block its peer has, all from the stream', async () => {
    const w = watcher({ fallbackAfterMs: 60_000 });
    await until('the stream is open', () => w.isLive);
    const committed = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        submitTransaction(
          heartbeat(),
          { name: 'Record', options: { arguments: [heartbeatId(`w${i}`), 'from the stream'] } },
          { ownMspId: 'EnterpriseMSP', commits: w },
        ),
      ),
    );
    expect(w.counts).to.deep.include({ fromStream: 8, asked: 0 });
    for (const c of committed) {
      const told = await statusOf(c.transactionId);
      expect(told.successful).to.equal(true);
      expect(c.blockNumber, c.transactionId).to.equal(told.blockNumber);
    }
  });

  it('asks the peer for a transaction the stream does not bring in time, and keeps the first commit over a DUPLICATE_TXID copy', async () => {
    const w = watcher({ fallbackAfterMs: 300 });
    await until('the stream is open', () => w.isLive);
    // Never handed over: only the peer's answer can end the wait, here a stand-in the test controls.
    const lost = w.expect('0'.repeat(64))!;
    const asked = { successful: false, code: peer.TxValidationCode.MVCC_READ_CONFLICT, blockNumber: 7n };
    expect(await lost.status(async () => asked)).to.equal(asked);
    expect(w.counts.asked).to.equal(1);

    // Committed once, then the same signed transaction handed over again: the copy is marked
    // DUPLICATE_TXID in a later block, and the status stays the first commit's.
    const endorsed = await heartbeat()
      .newProposal('Record', { arguments: [heartbeatId('dup'), 'sent twice'] })
      .endorse();
    const first = w.expect(endorsed.getTransactionId())!;
    const submitted = await endorsed.submit();
    const status = await first.status(() => submitted.getStatus());
    expect(status.successful).to.equal(true);
    const again = w.expect(endorsed.getTransactionId())!;
    await endorsed.submit();
    const later = await again.status(() => statusOf(endorsed.getTransactionId()));
    expect(later).to.deep.include({ successful: true, blockNumber: status.blockNumber });
    expect(w.counts.asked, 'the copy was left to the peer, whose index holds the first commit').to.equal(2);
  });

  it('while its stream cannot open, expects nothing (each write asks its peer) and opens it once it can', async () => {
    let refusals = 0;
    let open = false;
    const w = watcher({ reconnectMs: 100 }, () => {
      if (!open) {
        refusals++;
        throw new Error('no channel yet');
      }
      return network();
    });
    expect(w.isLive).to.equal(false);
    expect(w.expect(heartbeatId('early'))).to.equal(undefined);
    const c = await submitTransaction(
      heartbeat(),
      { name: 'Record', options: { arguments: [heartbeatId('down'), 'asked'] } },
      { ownMspId: 'EnterpriseMSP', commits: w },
    );
    expect((await statusOf(c.transactionId)).blockNumber).to.equal(c.blockNumber);
    expect(w.counts).to.deep.include({ fromStream: 0, asked: 0 });
    open = true;
    await until('the stream is open', () => w.isLive);
    expect(refusals, 'tried again while it could not open').to.be.at.least(2);
    const d = await submitTransaction(
      heartbeat(),
      { name: 'Record', options: { arguments: [heartbeatId('up'), 'streamed'] } },
      { ownMspId: 'EnterpriseMSP', commits: w },
    );
    expect(w.counts.fromStream).to.equal(1);
    expect((await statusOf(d.transactionId)).blockNumber).to.equal(d.blockNumber);
  });
});
