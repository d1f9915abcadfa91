/**
 * The foundation on the real network: a transaction submitted by the enterprise is endorsed by
 * both orgs, committed, readable from the regulator's peer and announced by a chaincode event;
 * a transaction endorsed by one org only is invalidated by the endorsement policy.
 */

import type { ConnectionProfile, HeartbeatRecordedEvent } from '@compliance-ledger/schema';
import type { ChaincodeEvent, CloseableAsyncIterable } from '@hyperledger/fabric-gateway';
import { common, msp, peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { connectAs, connectAsUser, type OrgConnection, requireNetwork, uniqueId } from '../support/network';

const decoder = new TextDecoder();

/** Reads the committed transaction through qscc and returns the MSP ids that endorsed it. */
async function endorsingOrgs(conn: OrgConnection, profile: ConnectionProfile, txId: string): Promise<string[]> {
  const qscc = conn.gateway.getNetwork(profile.channel).getContract('qscc');
  const bytes = await qscc.evaluateTransaction('GetTransactionByID', profile.channel, txId);
  const processed = peer.ProcessedTransaction.deserializeBinary(bytes);
  const payload = common.Payload.deserializeBinary(processed.getTransactionenvelope()!.getPayload_asU8());
  const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
  const action = peer.ChaincodeActionPayload.deserializeBinary(tx.getActionsList()[0]!.getPayload_asU8());
  return action
    .getAction()!
    .getEndorsementsList()
    .map((e) => msp.SerializedIdentity.deserializeBinary(e.getEndorser_asU8()).getMspid())
    .sort();
}

describe('network: the write path through both orgs (real Fabric)', function () {
  this.timeout(120_000);
  let profile: ConnectionProfile;
  let enterprise: OrgConnection;
  let regulator: OrgConnection;

  before(function () {
    profile = requireNetwork(this);
    enterprise = connectAs(profile, 'enterprise');
    regulator = connectAs(profile, 'regulator');
  });
  after(() => {
    enterprise?.close();
    regulator?.close();
  });

  const heartbeat = (c: OrgConnection) => c.gateway.getNetwork(profile.channel).getContract(profile.chaincode, 'heartbeat');

  it('commits an enterprise submission endorsed by both orgs, readable by the regulator, with its event', async () => {
    const id = uniqueId('hb');
    const network = enterprise.gateway.getNetwork(profile.channel);
    const events: CloseableAsyncIterable<ChaincodeEvent> = await network.getChaincodeEvents(profile.chaincode);
    try {
      const result = await heartbeat(enterprise).submitAsync('Record', { arguments: [id, 'network test'] });
      const status = await result.getStatus();
      expect(status.successful, `validation code ${status.code}`).to.equal(true);
      expect(status.code).to.equal(peer.TxValidationCode.VALID);

      expect(await endorsingOrgs(enterprise, profile, result.getTransactionId())).to.deep.equal(['EnterpriseMSP', 'RegulatorMSP']);

      const read = JSON.parse(decoder.decode(await heartbeat(regulator).evaluateTransaction('Read', id)));
      expect(read).to.include({ id, note: 'network test', txId: result.getTransactionId() });
      expect(read.recordedBy.mspId).to.equal('EnterpriseMSP');

      for await (const event of events) {
        if (event.transactionId !== result.getTransactionId()) continue;
        expect(event.eventName).to.equal('HeartbeatRecorded');
        expect(event.blockNumber).to.equal(status.blockNumber);
        const body = JSON.parse(decoder.decode(event.payload)) as HeartbeatRecordedEvent;
        expect(body.type).to.equal('HeartbeatRecorded');
        expect(body.payload.id).to.equal(id);
        break;
      }
    } finally {
      events.close();
    }
  });

  it('invalidates a transaction endorsed by the enterprise alone, and writes nothing', async () => {
    const id = uniqueId('hb-one-org');
    const proposal = heartbeat(enterprise).newProposal('Record', {
      arguments: [id, 'one endorsement only'],
      endorsingOrganizations: ['EnterpriseMSP'],
    });
    const transaction = await proposal.endorse();
    const submitted = await transaction.submit();
    const status = await submitted.getStatus();
    expect(status.successful).to.equal(false);
    expect(status.code).to.equal(peer.TxValidationCode.ENDORSEMENT_POLICY_FAILURE);
    let error: unknown;
    try {
      await heartbeat(regulator).evaluateTransaction('Read', id);
    } catch (e) {
      error = e;
    }
    expect(String((error as { details?: { message: string }[] })?.details?.[0]?.message ?? error)).to.match(/NOT_FOUND/);
  });

  it('refuses a duplicate id with a coded error and leaves the first record as it was', async () => {
    const id = uniqueId('hb-dup');
    await heartbeat(enterprise).submitTransaction('Record', id, 'first');
    let message = '';
    try {
      await heartbeat(enterprise).submitTransaction('Record', id, 'second');
    } catch (e) {
      message = JSON.stringify((e as { details?: unknown }).details ?? String(e));
    }
    expect(message).to.match(/ALREADY_EXISTS/);
    const read = JSON.parse(decoder.decode(await heartbeat(regulator).evaluateTransaction('Read', id)));
    expect(read.note).to.equal('first');
  });
});

describe('network: users enrolled with Fabric CA carry their role to the chaincode (real Fabric)', function () {
  this.timeout(120_000);
  let profile: ConnectionProfile;

  before(function () {
    profile = requireNetwork(this);
  });

  it('records the ledger.role attribute of a CA-enrolled user, and none for a cryptogen client', async () => {
    const user = connectAsUser(profile, 'enterprise', 'network-test-approver', 'approver');
    const plain = connectAs(profile, 'enterprise');
    try {
      const contract = (c: OrgConnection) => c.gateway.getNetwork(profile.channel).getContract(profile.chaincode, 'heartbeat');
      const byUser = JSON.parse(decoder.decode(await contract(user).submitTransaction('Record', uniqueId('hb-ca'), 'ca user')));
      expect(byUser.recordedBy).to.include({ mspId: 'EnterpriseMSP', role: 'approver' });
      expect(byUser.recordedBy.certificateId).to.match(/CN=network-test-approver/);
      const byPlain = JSON.parse(decoder.decode(await contract(plain).submitTransaction('Record', uniqueId('hb-plain'), 'plain')));
      expect(byPlain.recordedBy.role).to.equal(null);
    } finally {
      user.close();
      plain.close();
    }
  });
});
