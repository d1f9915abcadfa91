import * as grpc from '@grpc/grpc-js';
import { GatewayError } from '@hyperledger/fabric-gateway';
import { expect } from 'chai';
import { classifySubmitError, raiseAlarmArgument } from '../../src/outbox/fabric-ledger.js';
import { sampleAlarm } from '../support/alarms.js';

// Only the outbox's reading of fabric-client's classification (its own table is tested in
// fabric-client/test/unit); the ledger itself is exercised against the real network.
function gatewayError(code: grpc.status, messages: string[], mspId = 'EnterpriseMSP'): GatewayError {
  const cause = Object.assign(new Error('rpc failed'), { code, details: '', metadata: new grpc.Metadata() });
  return new GatewayError({ code, details: messages.map((message) => ({ address: 'peer0:7051', mspId, message })), cause, message: 'endorse failed' });
}

describe('the outbox’s outcome of a Fabric submit failure', () => {
  it('the chaincode’s duplicate refusals count as done', () => {
    expect(classifySubmitError(gatewayError(grpc.status.ABORTED, ['chaincode response 500, REPLAY: alarm x is already on the ledger']))).to.deep.equal({
      status: 'duplicate',
      code: 'REPLAY',
    });
    expect(classifySubmitError(gatewayError(grpc.status.ABORTED, ['chaincode response 500, ALREADY_EXISTS: x']))).to.deep.include({ status: 'duplicate' });
  });
  it('other chaincode refusals are final, with the reason', () => {
    const o = classifySubmitError(gatewayError(grpc.status.ABORTED, ['chaincode response 500, SIGNATURE_INVALID: not signed by the registered key']));
    expect(o?.status).to.equal('rejected');
    expect(o && 'reason' in o ? o.reason : '').to.contain('SIGNATURE_INVALID');
  });
  it('a refusal by the other org’s peer alone (peers disagree while one catches up) is retried', () => {
    const notFound = ['chaincode response 500, NOT_FOUND: device gas-1 does not exist; check the id or create it first'];
    expect(classifySubmitError(gatewayError(grpc.status.ABORTED, notFound, 'RegulatorMSP'), 'EnterpriseMSP')).to.equal(undefined);
    expect(classifySubmitError(gatewayError(grpc.status.ABORTED, notFound, 'EnterpriseMSP'), 'EnterpriseMSP')?.status).to.equal('rejected');
  });
  it('FORBIDDEN for a disabled device is final; FORBIDDEN for the caller (a configuration fault) is retried', () => {
    expect(
      classifySubmitError(gatewayError(grpc.status.ABORTED, ['chaincode response 500, FORBIDDEN: device gas-1 is disabled; its alarms are refused']))?.status,
    ).to.equal('rejected');
    const role = 'chaincode response 500, FORBIDDEN: alarm:Record is not open to role admin of EnterpriseMSP; it needs EnterpriseMSP: device_gateway';
    expect(classifySubmitError(gatewayError(grpc.status.ABORTED, [role]), 'EnterpriseMSP')).to.equal(undefined);
  });
  it('a proposal timestamp off the peers’ clocks (this host’s clock) is retried, not set aside', () => {
    const skew =
      "chaincode response 500, RULE_VIOLATION: the proposal's timestamp 2026-11-30T10:00:00.000Z " +
      "is 300 s behind the peers' clocks (at most 2 min); sync the client's clock and send a new " +
      'proposal';
    expect(classifySubmitError(gatewayError(grpc.status.ABORTED, [skew]), 'EnterpriseMSP')).to.equal(undefined);
    const area = 'chaincode response 500, RULE_VIOLATION: device gas-1 is registered to site-1/a, not site-1/b';
    expect(classifySubmitError(gatewayError(grpc.status.ABORTED, [area]), 'EnterpriseMSP')?.status).to.equal('rejected');
  });
  it('what fabric-client classifies as transient (peers down, deadlines, INTERNAL) is retried', () => {
    expect(classifySubmitError(gatewayError(grpc.status.ABORTED, ['chaincode response 500, INTERNAL: unexpected failure']))).to.equal(undefined);
    expect(classifySubmitError(gatewayError(grpc.status.UNAVAILABLE, []))).to.equal(undefined);
    expect(classifySubmitError(new Error('transaction invalid at commit, code 11'))).to.equal(undefined);
  });
  it('sends the alarm as the chaincode’s {alarm, signature} argument', async () => {
    const a = await sampleAlarm(1);
    expect(JSON.parse(raiseAlarmArgument(a))).to.deep.equal({ alarm: a.fields, signature: a.signature });
  });
});
