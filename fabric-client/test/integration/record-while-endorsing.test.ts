/**
 * submitTransaction's beforeSubmit against the real network: it runs while the proposal is
 * endorsed (an endorsement that had to wait for it would never end here), nothing is handed to the
 * orderer until it succeeded, and its refusal is what submit throws, whatever the endorsement did.
 */
import * as crypto from 'node:crypto';
import type { Contract } from '@hyperledger/fabric-gateway';
import { expect } from 'chai';
import { loadConnectionProfile } from '../../src/connection-profile.js';
import { ChaincodeRefusal } from '../../src/errors.js';
import type { FabricConnection } from '../../src/gateway.js';
import { submitTransaction } from '../../src/submit.js';
import { connectOrSkip, untilEndorsable } from '../support/network.js';

const heartbeatId = (what: string) => `fc-${what}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;

/** A contract whose proposals tell when their endorsement has come back (the real one, watched). */
function watched(contract: Contract): { contract: Contract; endorsed: Promise<string> } {
  let endorsed!: (transactionId: string) => void;
  const seen = new Promise<string>((resolve) => (endorsed = resolve));
  const proxy = new Proxy(contract, {
    get(target, name, receiver) {
      if (name !== 'newProposal') return Reflect.get(target, name, receiver);
      return (...args: Parameters<Contract['newProposal']>) => {
        const proposal = target.newProposal(...args);
        const endorse = proposal.endorse.bind(proposal);
        proposal.endorse = async (options) => {
          try {
            return await endorse(options);
          } finally {
            endorsed(proposal.getTransactionId());
          }
        };
        return proposal;
      };
    },
  });
  return { contract: proxy, endorsed: seen };
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms))]);

describe('fabric-client: the transaction id made durable while the proposal is endorsed (real network)', function () {
  this.timeout(120_000);
  let conn: FabricConnection;
  const heartbeat = () => conn.gateway.getNetwork(loadConnectionProfile().channel).getContract(loadConnectionProfile().chaincode, 'heartbeat');
  const read = (contract: Contract, id: string) =>
    contract.evaluate('Read', { arguments: [id] }).then(
      (bytes) => JSON.parse(Buffer.from(bytes).toString()) as { id: string },
      () => undefined,
    );

  before(async function () {
    conn = connectOrSkip(this);
    await untilEndorsable(conn);
  });
  after(() => conn?.close());

  it('beforeSubmit is called with the id before the endorsement is back, and the transaction is submitted once it returned', async () => {
    const id = heartbeatId('overlap');
    const { contract, endorsed } = watched(heartbeat());
    let back = false;
    void endorsed.then(() => (back = true));
    const calls: [string, string | undefined, boolean][] = [];
    const committed = await submitTransaction(
      contract,
      {
        name: 'Record',
        options: { arguments: [id, 'recorded while endorsed'] },
        // Returns only once the endorsement came back: had submitTransaction waited for this
        // before endorsing, neither would ever end.
        beforeSubmit: async (transactionId, replaces) => {
          calls.push([transactionId, replaces, back]);
          expect(await within(endorsed, 60_000, 'the endorsement, while beforeSubmit ran,')).to.equal(transactionId);
        },
      },
      { ownMspId: conn.mspId },
    );
    expect(calls, 'called once, with the id, before the endorsement was back').to.deep.equal([[committed.transactionId, undefined, false]]);
    expect((await read(heartbeat(), id))?.id).to.equal(id);
  });

  it('a refused beforeSubmit stops a transaction its peers endorsed: its error, as it is, and nothing on the ledger', async () => {
    const id = heartbeatId('refused');
    const refusal = new Error('the key is no longer this request’s');
    const { contract, endorsed } = watched(heartbeat());
    const e = await submitTransaction(
      contract,
      {
        name: 'Record',
        options: { arguments: [id, 'never submitted'] },
        beforeSubmit: async () => {
          await endorsed;
          throw refusal;
        },
      },
      { ownMspId: conn.mspId },
    ).catch((err: unknown) => err);
    expect(e).to.equal(refusal);
    // A block is cut within 250 ms of a transaction reaching the orderer: well past that, still absent.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await read(heartbeat(), id)).to.equal(undefined);
  });

  it('a refused beforeSubmit wins over the chaincode’s refusal of the same proposal; a successful one lets the refusal through', async () => {
    const absent = heartbeatId('absent');
    const refusal = new Error('store unavailable');
    const both = await submitTransaction(
      heartbeat(),
      { name: 'Read', options: { arguments: [absent] }, beforeSubmit: async () => Promise.reject(refusal) },
      { ownMspId: conn.mspId },
    ).catch((err: unknown) => err);
    expect(both).to.equal(refusal);

    const recorded: string[] = [];
    const chaincodeOnly = await submitTransaction(
      heartbeat(),
      { name: 'Read', options: { arguments: [absent] }, beforeSubmit: async (transactionId) => void recorded.push(transactionId) },
      { ownMspId: conn.mspId },
    ).catch((err: unknown) => err);
    expect(chaincodeOnly).to.be.instanceOf(ChaincodeRefusal);
    expect(chaincodeOnly).to.deep.include({ code: 'NOT_FOUND', transactionId: recorded[0] });
    expect(recorded).to.have.length(1);
  });
});
