/**
 * Handing a signed transaction to the orderer again (committedBlock's resubmission) on the real
 * network: a transaction the orderer never got commits once it is handed over again, and a copy of
 * a transaction that already committed is marked DUPLICATE_TXID and writes nothing, while the
 * transaction's own status stays its first, valid commit.
 */
import * as crypto from 'node:crypto';
import { decodeBlock } from '@compliance-ledger/verifier';
import { common, peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { loadConnectionProfile } from '../../src/connection-profile.js';
import { type FabricConnection, profileSigningIdentity } from '../../src/gateway.js';
import { commitStatusOf, committedBlock } from '../../src/submit.js';
import { connectOrSkip, untilEndorsable, whenEndorsable } from '../support/network.js';

const DUPLICATE_TXID = peer.TxValidationCode.DUPLICATE_TXID;
const heartbeatId = (what: string) => `rs-${what}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;

describe('fabric-client: a transaction handed to the orderer again (real network)', function () {
  this.timeout(120_000);
  let conn: FabricConnection;
  const profile = () => loadConnectionProfile();

  before(async function () {
    conn = connectOrSkip(this);
    // The suite before this one restarts the regulator's peer.
    await untilEndorsable(conn);
  });
  after(() => conn?.close());

  const heartbeat = () => conn.gateway.getNetwork(profile().channel).getContract(profile().chaincode, 'heartbeat');
  const qscc = () => conn.gateway.getNetwork(profile().channel).getContract('qscc');
  const statusOf = (txId: string) =>
    commitStatusOf(conn.gateway, profile().channel, txId, profileSigningIdentity(profile(), 'enterprise', 'client')).getStatus({
      deadline: Date.now() + 60_000,
    });
  const validationCode = async (txId: string) =>
    peer.ProcessedTransaction.deserializeBinary(await qscc().evaluateTransaction('GetTransactionByID', profile().channel, txId)).getValidationcode();
  const height = async () => common.BlockchainInfo.deserializeBinary(await qscc().evaluateTransaction('GetChainInfo', profile().channel)).getHeight();

  it('a transaction the orderer never got (as when it died holding it) commits once handed over again, and its status comes', async () => {
    const id = heartbeatId('lost');
    const endorsed = await whenEndorsable(() =>
      heartbeat()
        .newProposal('Record', { arguments: [id, 'handed over only on the second turn'] })
        .endorse(),
    );
    const txId = endorsed.getTransactionId();
    let sends = 0;
    // The first hand-over is left out: the status is awaited for a transaction no orderer has.
    const block = await committedBlock(txId, () => statusOf(txId), {
      everyMs: 1_000,
      send: async () => {
        sends++;
        await endorsed.submit();
      },
    });
    expect(sends, 'handed over again after a second without a status').to.be.at.least(1);
    expect(await validationCode(txId)).to.equal(peer.TxValidationCode.VALID);
    expect(Number(block)).to.be.greaterThan(0);
    const read = JSON.parse(Buffer.from(await heartbeat().evaluateTransaction('Read', id)).toString()) as Record<string, unknown>;
    expect(JSON.stringify(read)).to.contain(id);
  });

  it('a copy of a committed transaction is DUPLICATE_TXID in a later block and writes nothing; the status stays the first commit', async () => {
    const id = heartbeatId('copy');
    // Discovery may drop the regulator's peer restarted by the suite before again after the
    // before's wait (ci-24 met it here), so the endorsement itself is retried.
    const endorsed = await whenEndorsable(() =>
      heartbeat()
        .newProposal('Record', { arguments: [id, 'sent twice'] })
        .endorse(),
    );
    const txId = endorsed.getTransactionId();
    const first = await committedBlock(txId, async () => (await endorsed.submit()).getStatus());
    const from = await height();
    await endorsed.submit();
    // The copy lands in a block of its own after the first commit.
    let copy: { block: number; code: number } | undefined;
    for (let i = 0; i < 100 && !copy; i++) {
      const top = await height();
      for (let n = from; n < top && !copy; n++) {
        const b = decodeBlock(await qscc().evaluateTransaction('GetBlockByNumber', profile().channel, String(n)));
        const t = b.transactions.find((x) => x.txId === txId);
        if (t) copy = { block: n, code: b.validationCodes[t.index]! };
      }
      if (!copy) await new Promise((r) => setTimeout(r, 200));
    }
    expect(copy, 'the copy was ordered').to.not.equal(undefined);
    expect(copy!.block).to.be.greaterThan(Number(first));
    expect(copy!.code).to.equal(DUPLICATE_TXID);
    // The transaction's status and its entry in the peer's index are the first, valid commit.
    expect(await validationCode(txId)).to.equal(peer.TxValidationCode.VALID);
    const status = await statusOf(txId);
    expect(status).to.deep.include({ successful: true, blockNumber: first });
  });
});
