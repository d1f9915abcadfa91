/**
 * The classification against the real network: a refusal by the own org's peer is final, a refusal
 * by the regulator's peer alone while it is behind is PeersDisagree, and submitTransaction endorses
 * the same proposal again until the peer has caught up, then commits.
 */
import * as crypto from 'node:crypto';
import { expect } from 'chai';
import { loadConnectionProfile } from '../../src/connection-profile.js';
import { ChaincodeRefusal, classifyFabricError, type FabricFailure, PeersDisagree } from '../../src/errors.js';
import type { FabricConnection } from '../../src/gateway.js';
import { submitTransaction } from '../../src/submit.js';
import { type LaggingRegulator, regulatorBehindBy, untilPeersDisagree } from '../support/lagging-peer.js';
import { connectOrSkip, untilEndorsable } from '../support/network.js';

const heartbeatId = (what: string) => `fc-${what}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;

describe('fabric-client: one classification of Fabric errors (real network)', function () {
  this.timeout(240_000);
  let conn: FabricConnection;
  let lag: LaggingRegulator | undefined;
  const heartbeat = () => conn.gateway.getNetwork(loadConnectionProfile().channel).getContract(loadConnectionProfile().chaincode, 'heartbeat');

  before(async function () {
    conn = connectOrSkip(this);
    // network.sh up waits until each peer's discovery lists the other org's peer, but the plan for
    // the chaincode can still be missing a peer for a while (seen after a peer restart in resubmit).
    await untilEndorsable(conn);
  });
  after(() => {
    lag?.catchUp();
    conn?.close();
  });

  it('a refusal by the own org’s peer is final, with the chaincode’s code', async () => {
    const e = await heartbeat()
      .newProposal('Read', { arguments: [heartbeatId('absent')] })
      .endorse()
      .catch((err: unknown) => err);
    const f = classifyFabricError(e, { ownMspId: conn.mspId });
    expect(f, String(e)).to.be.instanceOf(ChaincodeRefusal);
    expect(f).to.deep.include({ kind: 'final', code: 'NOT_FOUND' });
    expect(f.peers.map((p) => p.mspId)).to.include(conn.mspId);
  });

  it('the regulator’s peer behind refuses alone: PeersDisagree; submitTransaction endorses again until it caught up, then commits', async () => {
    const id = heartbeatId('behind');
    const record = await heartbeat()
      .newProposal('Record', { arguments: [id, 'committed while the regulator peer was down'] })
      .endorse();
    lag = await regulatorBehindBy(record);
    // Reading the record needs it on both peers: the regulator's does not have its block.
    const read = () => heartbeat().newProposal('Read', { arguments: [id] });
    const refusal = await untilPeersDisagree(() => read().endorse(), conn.mspId);
    expect(refusal).to.deep.include({ kind: 'transient', code: 'NOT_FOUND', refusingMspIds: ['RegulatorMSP'] });
    expect(refusal.peers.every((p) => p.mspId === 'RegulatorMSP')).to.equal(true);

    const retried: FabricFailure[] = [];
    const committed = await submitTransaction(
      heartbeat(),
      { name: 'Read', options: { arguments: [id] } },
      {
        ownMspId: conn.mspId,
        retry: { attempts: 40, baseDelayMs: 250, maxDelayMs: 2_000 },
        onRetry: (failure) => {
          retried.push(failure);
          // Only once the lagging peer's refusal made a retry necessary does the orderer deliver the
          // missing block (a restarted peer may also drop out of discovery for a moment: retried too).
          if (failure instanceof PeersDisagree) lag!.catchUp();
        },
      },
    );
    expect(retried.filter((f) => f instanceof PeersDisagree)).to.have.length.greaterThan(0);
    expect(retried.every((f) => f.transient)).to.equal(true);
    // Every attempt endorsed the one proposal: the transaction kept the id it started with.
    expect([...new Set(retried.map((f) => f.transactionId))]).to.deep.equal([committed.transactionId]);
    expect(committed.blockNumber > lag.blockNumber).to.equal(true);
    expect(JSON.parse(Buffer.from(committed.result).toString()).id).to.equal(id);
  });
});
