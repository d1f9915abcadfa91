import * as grpc from '@grpc/grpc-js';
import { GatewayError } from '@hyperledger/fabric-gateway';
import { expect } from 'chai';
import { classifySubmitError, raiseAlarmArgument } from '../src/fabric-ledger.js';
import { sampleAlarm } from './helpers/alarms.js';

// Only the mapping of gateway errors onto outbox outcomes; the ledger itself is exercised against
// the real network by the network tests, not here.
function gatewayError(code: grpc.status, messages: string[]): GatewayError {
  const cause = Object.assign(new Error('rpc failed'), { code, details: '', metadata: new grpc.Metadata() });
  return new GatewayError({ code, details: messages.map((message) => ({ address: 'peer0:7051', mspId: 'EnterpriseMSP', message })), cause, message: 'endorse failed' });
}

describe('Fabric submit error classification', () => {
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
  it('unavailable peers, timeouts and plain errors are retried', () => {
    expect(classifySubmitError(gatewayError(grpc.status.UNAVAILABLE, []))).to.equal(undefined);
    expect(classifySubmitError(gatewayError(grpc.status.DEADLINE_EXCEEDED, []))).to.equal(undefined);
    expect(classifySubmitError(new Error('transaction invalid at commit, code 11'))).to.equal(undefined);
  });
  it('sends the alarm as the chaincode’s {alarm, signature} argument', async () => {
    const a = await sampleAlarm(1);
    expect(JSON.parse(raiseAlarmArgument(a))).to.deep.equal({ alarm: a.fields, signature: a.signature });
  });
});
