/**
 * submitTransaction's `beforeSubmit` on the real network: it starts as soon as the transaction id is
 * known, beside the endorsement; the hand-over to the orderer waits for it; its failure means
 * nothing is ordered; and a failed endorsement is thrown only once it has ended (the gateway frees
 * or settles the Idempotency-Key it recorded the id on, and must know which id that was).
 */
import * as crypto from 'node:crypto';
import type { Contract, Proposal } from '@hyperledger/fabric-gateway';
import { common, peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { loadConnectionProfile } from '../../src/connection-profile.js';
import { ChaincodeRefusal } from '../../src/errors.js';
import type { FabricConnection } from '../../src/gateway.js';
import { submitTransaction } from '../../src/submit.js';
import { connectOrSkip, untilEndorsable } from '../support/network.js';

const heartbeatId = (what: string) => `bs-${what}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;

/** What happened to the one proposal of a submit, in order. */
interface Seen {
  events: string[];
  endorsed: Promise<void>;
}

describe('fabric-client: beforeSubmit runs beside the endorsement (real network)', function () {
  this.timeout(120_000);
  let conn: FabricConnection;
  const profile = () => loadConnectionProfile();
  const qscc = () => conn.gateway.getNetwork(profile().channel).getContract('qscc');
  const height = async () => common.BlockchainInfo.deserializeBinary(await qscc().evaluateTransaction('GetChainInfo', profile().channel)).getHeight();
  const onLedger = (txId: string) =>
    qscc()
      .evaluateTransaction('GetTransactionByID', profile().channel, txId)
      .then(
        (b) => peer.ProcessedTransaction.deserializeBinary(b).getValidationcode() === peer.TxValidationCode.VALID,
        () => false,
      );

  /** The heartbeat contract, its proposals' endorsements and hand-overs written into `seen.events`. */
  function watchedHeartbeat(): { contract: Contract; seen: Seen } {
    const real = conn.gateway.getNetwork(profile().channel).getContract(profile().chaincode, 'heartbeat');
    let endorsedNow!: () => void;
    const seen: Seen = { events: [], endorsed: new Promise<void>((r) => (endorsedNow = r)) };
    const newProposal = (name: string, options?: Parameters<Contract['newProposal']>[1]): Proposal => {
      const proposal = real.newProposal(name, options);
      const endorse = proposal.endorse.bind(proposal);
      proposal.endorse = async (o) => {
        try {
          const tx = await endorse(o);
          const submit = tx.submit.bind(tx);
          tx.submit = (so) => {
            seen.events.push('hand-over');
            return submit(so);
          };
          seen.events.push('endorsed');
          return tx;
        } catch (e) {
          seen.events.push('endorsement failed');
          throw e;
        } finally {
          endorsedNow();
        }
      };
      return proposal;
    };
    const contract = { getChaincodeName: () => real.getChaincodeName(), newProposal } as unknown as Contract;
    return { contract, seen };
  }

  before(async function () {
    conn = connectOrSkip(this);
    await untilEndorsable(conn);
  });
  after(() => conn?.close());

  it('starts with the transaction id before anything is endorsed, and the hand-over waits for it to end', async () => {
    const { contract, seen } = watchedHeartbeat();
    const id = heartbeatId('record');
    let given: string | undefined;
    const submitted = submitTransaction(
      contract,
      {
        name: 'Record',
        options: { arguments: [id, 'recorded beside its endorsement'] },
        beforeSubmit: async (txId) => {
          given = txId;
          seen.events.push('before started');
          await seen.endorsed;
          // The endorsement is back; the transaction must still wait for this to end.
          await new Promise((r) => setTimeout(r, 200));
          seen.events.push('before ended');
        },
      },
      { ownMspId: conn.mspId },
    );
    // Called in the same turn as submitTransaction: before any answer of the peer could have come.
    expect(seen.events).to.deep.equal(['before started']);
    const committed = await submitted;
    expect(seen.events).to.deep.equal(['before started', 'endorsed', 'before ended', 'hand-over']);
    expect(committed.transactionId).to.equal(given);
    expect(await onLedger(committed.transactionId)).to.equal(true);
  });

  it('when it fails, nothing is handed over and its error is what submit throws', async () => {
    const { contract, seen } = watchedHeartbeat();
    const heightBefore = await height();
    let given = '';
    const refused = new Error('the store refused the transaction id');
    const e = await submitTransaction(
      contract,
      {
        name: 'Record',
        options: { arguments: [heartbeatId('unrecorded'), 'never ordered'] },
        beforeSubmit: async (txId) => {
          given = txId;
          await seen.endorsed;
          throw refused;
        },
      },
      { ownMspId: conn.mspId },
    ).catch((err: unknown) => err);
    expect(e).to.equal(refused);
    expect(seen.events).to.deep.equal(['endorsed']);
    await new Promise((r) => setTimeout(r, 1_000)); // a block would have been cut by now (250 ms batches)
    expect(await height()).to.equal(heightBefore);
    expect(await onLedger(given)).to.equal(false);
  });

  it('a refused endorsement is thrown only once beforeSubmit has ended', async () => {
    const { contract, seen } = watchedHeartbeat();
    const e = await submitTransaction(
      contract,
      {
        name: 'Read',
        options: { arguments: [heartbeatId('absent')] },
        beforeSubmit: async () => {
          await seen.endorsed;
          await new Promise((r) => setTimeout(r, 200));
          seen.events.push('before ended');
        },
      },
      { ownMspId: conn.mspId },
    ).catch((err: unknown) => err);
    expect(e).to.be.instanceOf(ChaincodeRefusal);
    expect(e).to.deep.include({ code: 'NOT_FOUND' });
    expect(seen.events).to.deep.equal(['endorsement failed', 'before ended']);
  });
});
