import * as grpc from '@grpc/grpc-js';
import { GatewayError } from '@hyperledger/fabric-gateway';
import { expect } from 'chai';
import {
  ChaincodeFailure,
  ChaincodeRefusal,
  CreatorRefused,
  classifyFabricError,
  LedgerUnavailable,
  NotCommitted,
  OutcomeUnknown,
  PeersDisagree,
  UnexpectedLedgerError,
} from '../../src/errors.js';
import { backoffDelayMs, committedBlock, handOver } from '../../src/submit.js';

// The shapes below are what fabric-gateway 1.11 throws against Fabric 3.1 peers: an endorsement
// failure is an EndorseError (ABORTED) with one detail per failing peer; the peers' texts are
// copied from this network's answers (see the integration tests of the gateway and ingest).
const ENTERPRISE = { address: 'peer0.enterprise.ledger.local:7051', mspId: 'EnterpriseMSP' };
const REGULATOR = { address: 'peer0.regulator.ledger.local:9051', mspId: 'RegulatorMSP' };
const own = { ownMspId: 'EnterpriseMSP' };

function gatewayError(code: grpc.status, message: string, details: { address: string; mspId: string; message: string }[] = []): GatewayError {
  const cause = Object.assign(new Error(message), { code, details: message, metadata: new grpc.Metadata() });
  return new GatewayError({ code, details, cause, message: `${grpc.status[code]}: ${message}` });
}
const endorseFailed = (...details: { address: string; mspId: string; message: string }[]) =>
  gatewayError(grpc.status.ABORTED, 'failed to collect enough transaction endorsements, see attached details for more info', details);
/** The class of a failed call with one gRPC status and message, as the own org's peer's gateway. */
const classified = (code: grpc.status, message: string) => classifyFabricError(gatewayError(code, message), own);
const refusal = (peer: typeof ENTERPRISE, text: string) => ({ ...peer, message: `chaincode response 500, ${text}` });

describe('the classification of Fabric errors', () => {
  it('a coded refusal by the own org’s peer is the chaincode’s final answer, with its code and reason', () => {
    const f = classifyFabricError(endorseFailed(refusal(ENTERPRISE, 'NOT_FOUND: permit HW-1 does not exist; check the number')), own);
    expect(f).to.be.instanceOf(ChaincodeRefusal);
    expect(f.kind).to.equal('final');
    expect(f).to.deep.include({ code: 'NOT_FOUND', reason: 'permit HW-1 does not exist; check the number' });
    expect(f.peers.map((p) => p.mspId)).to.deep.equal(['EnterpriseMSP']);
  });

  it('a refusal by the other org’s peer alone (the own peer endorsed: the other is behind) is transient', () => {
    const f = classifyFabricError(endorseFailed(refusal(REGULATOR, 'NOT_FOUND: device gas-1 does not exist; check the id or create it first')), own);
    expect(f).to.be.instanceOf(PeersDisagree);
    expect(f.kind).to.equal('transient');
    expect(f).to.deep.include({ code: 'NOT_FOUND', refusingMspIds: ['RegulatorMSP'] });
  });

  it('refused by both peers: final, with the own peer’s answer', () => {
    const f = classifyFabricError(
      endorseFailed(refusal(REGULATOR, 'INVALID_STATE: regulator says'), refusal(ENTERPRISE, 'INVALID_STATE: enterprise says')),
      own,
    );
    expect(f).to.be.instanceOf(ChaincodeRefusal);
    expect((f as ChaincodeRefusal).reason).to.equal('enterprise says');
  });

  it('INTERNAL and uncoded chaincode errors are transient failures, not refusals', () => {
    expect(classifyFabricError(endorseFailed(refusal(ENTERPRISE, 'INTERNAL: unexpected failure')), own)).to.be.instanceOf(ChaincodeFailure);
    expect(classifyFabricError(endorseFailed(refusal(ENTERPRISE, 'something broke')), own)).to.be.instanceOf(ChaincodeFailure);
  });

  it('the other org’s peer down during endorsement is transient', () => {
    const down = {
      ...REGULATOR,
      message:
        'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:9051: connect: connection refused"',
    };
    const f = classifyFabricError(endorseFailed(down), own);
    expect(f).to.be.instanceOf(LedgerUnavailable);
    expect(f.transient).to.equal(true);
    // The own peer refused while the other was unreachable: not every peer answered, so not final.
    expect(classifyFabricError(endorseFailed(refusal(ENTERPRISE, 'NOT_FOUND: x'), down), own).transient).to.equal(true);
  });

  it('no endorsers in reach (discovery left the other org out) is transient', () => {
    const f = classified(
      grpc.status.FAILED_PRECONDITION,
      'no combination of peers can be derived which satisfy the endorsement policy: no peer combination can satisfy the endorsement policy',
    );
    expect(f).to.be.instanceOf(LedgerUnavailable);
  });

  it('a refused creator (revoked certificate, signature not of its key) is final', () => {
    const f = classified(
      grpc.status.UNKNOWN,
      'evaluate call to endorser returned error: error validating proposal: access denied: channel [compliance] creator org unknown, creator is malformed',
    );
    expect(f).to.be.instanceOf(CreatorRefused);
    expect(f.kind).to.equal('final');
  });

  it('an evaluation refused by the own peer is final; unreachable peers and deadlines are transient', () => {
    const evaluated = gatewayError(
      grpc.status.UNKNOWN,
      'evaluate call to endorser returned error: chaincode response 500, FORBIDDEN: permit:Approve is not open to role worker',
    );
    expect(classifyFabricError(evaluated, own)).to.be.instanceOf(ChaincodeRefusal).and.to.deep.include({ code: 'FORBIDDEN' });
    for (const code of [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED, grpc.status.RESOURCE_EXHAUSTED]) {
      expect(classifyFabricError(gatewayError(code, 'no connection'), own)).to.be.instanceOf(LedgerUnavailable);
    }
  });

  it('a peer at its concurrency limit refused the call without acting on it: transient, whatever the call and wherever the peer', () => {
    const limit = 'too many requests for /gateway.Gateway, exceeding concurrency limit (500)';
    const own = classified(grpc.status.UNKNOWN, limit);
    expect(own).to.be.instanceOf(LedgerUnavailable);
    expect(own.transient).to.equal(true);
    expect(own.message).to.contain('concurrency limit');
    const remote = classifyFabricError(
      endorseFailed({ ...REGULATOR, message: 'rpc error: code = Unknown desc = too many requests for /protos.Endorser, exceeding concurrency limit (2500)' }),
      { ownMspId: 'EnterpriseMSP' },
    );
    expect(remote).to.be.instanceOf(LedgerUnavailable);
  });

  it('anything else is unexpected, and keeps what it was', () => {
    const f = classifyFabricError(gatewayError(grpc.status.INTERNAL, 'oops'), own);
    expect(f).to.be.instanceOf(UnexpectedLedgerError);
    expect(f.grpcCode).to.equal(grpc.status.INTERNAL);
    expect(classifyFabricError(new TypeError('x is undefined')).kind).to.equal('unexpected');
  });

  it('an invalid commit: MVCC and phantom conflicts retry as a new transaction, other codes are final', async () => {
    const status = (code: number) => async () => ({ successful: false, code, blockNumber: 7n });
    const mvcc = await committedBlock('tx1', status(11)).catch((e: unknown) => e);
    expect(mvcc).to.be.instanceOf(NotCommitted).and.to.deep.include({ kind: 'retry', validationName: 'MVCC_READ_CONFLICT', transactionId: 'tx1' });
    expect(await committedBlock('tx2', status(12)).catch((e: NotCommitted) => e.kind)).to.equal('retry');
    expect(await committedBlock('tx3', status(10)).catch((e: NotCommitted) => [e.kind, e.validationName])).to.deep.equal([
      'final',
      'ENDORSEMENT_POLICY_FAILURE',
    ]);
    expect(await committedBlock('tx4', async () => ({ successful: true, code: 0, blockNumber: 9n }))).to.equal(9n);
  });

  it('a lost commit status is an unknown outcome with the transaction id', async () => {
    const f = await committedBlock('tx5', () => Promise.reject(gatewayError(grpc.status.DEADLINE_EXCEEDED, 'deadline'))).catch((e: unknown) => e);
    expect(f).to.be.instanceOf(OutcomeUnknown).and.to.deep.include({ kind: 'unknown-outcome', transactionId: 'tx5' });
  });

  it('hands the transaction over again each period without a status, and stops once the status comes', async () => {
    let sends = 0;
    let arrive: (s: { successful: boolean; code: number; blockNumber: bigint }) => void = () => undefined;
    const status = new Promise<{ successful: boolean; code: number; blockNumber: bigint }>((r) => {
      arrive = r;
    });
    const block = committedBlock('tx6', () => status, {
      everyMs: 20,
      send: async () => {
        sends++;
        // The second hand-over fails (an orderer down): the waiting goes on; the third one commits.
        if (sends === 2) throw new Error('UNAVAILABLE');
        if (sends === 3) setTimeout(() => arrive({ successful: true, code: 0, blockNumber: 12n }), 5);
      },
    });
    expect(await block).to.equal(12n);
    expect(sends).to.equal(3);
    await new Promise((r) => setTimeout(r, 60));
    expect(sends, 'nothing is sent after the status came').to.equal(3);
    // A status within the period: nothing is sent again.
    let never = 0;
    const quick = await committedBlock('tx7', async () => ({ successful: true, code: 0, blockNumber: 3n }), { everyMs: 1_000, send: async () => void never++ });
    expect([quick, never]).to.deep.equal([3n, 0]);
    // The status call failing (its deadline) ends the waiting as an unknown outcome, as without resubmission.
    const lost = await committedBlock(
      'tx8',
      () => new Promise((_, reject) => setTimeout(() => reject(gatewayError(grpc.status.DEADLINE_EXCEEDED, 'deadline')), 50)),
      {
        everyMs: 10,
        send: async () => undefined,
      },
    ).catch((e: unknown) => e);
    expect(lost).to.be.instanceOf(OutcomeUnknown).and.to.deep.include({ transactionId: 'tx8' });
  });

  it('repeats an unanswered hand-over with the same transaction, then calls the outcome unknown; a refusal is not repeated', async () => {
    const quick = { attempts: 3, backoffMs: 5 };
    let calls = 0;
    const flaky = () => {
      calls++;
      return calls < 3 ? Promise.reject(gatewayError(grpc.status.UNAVAILABLE, 'orderer gone')) : Promise.resolve('submitted');
    };
    expect(await handOver(flaky, 'tx9', 'EnterpriseMSP', quick)).to.equal('submitted');
    expect(calls).to.equal(3);
    calls = 0;
    const silent = () => {
      calls++;
      return Promise.reject(gatewayError(grpc.status.DEADLINE_EXCEEDED, 'deadline'));
    };
    const unknown = await handOver(silent, 'tx10', 'EnterpriseMSP', quick).catch((e: unknown) => e);
    expect(unknown).to.be.instanceOf(OutcomeUnknown).and.to.deep.include({ transactionId: 'tx10' });
    expect(calls).to.equal(3);
    calls = 0;
    const refused = () => {
      calls++;
      return Promise.reject(new TypeError('not a hand-over failure'));
    };
    expect(await handOver(refused, 'tx11', 'EnterpriseMSP', quick).catch((e: { kind: string }) => e.kind)).to.equal('unexpected');
    expect(calls).to.equal(1);
  });

  it("hands the same transaction over again after a refusal at the peer's concurrency limit; refused every time, it was never ordered", async () => {
    const quick = { attempts: 3, backoffMs: 5 };
    const busy = () => gatewayError(grpc.status.UNKNOWN, 'too many requests for /gateway.Gateway, exceeding concurrency limit (500)');
    let calls = 0;
    const once = () => (++calls === 1 ? Promise.reject(busy()) : Promise.resolve('submitted'));
    expect(await handOver(once, 'tx12', 'EnterpriseMSP', quick)).to.equal('submitted');
    expect(calls).to.equal(2);
    calls = 0;
    const always = () => {
      calls++;
      return Promise.reject(busy());
    };
    const refused = await handOver(always, 'tx13', 'EnterpriseMSP', quick).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(LedgerUnavailable).and.to.deep.include({ transactionId: 'tx13' });
    expect(calls).to.equal(3);
    // Once an attempt went unanswered, the orderer may have it: unknown, as before.
    calls = 0;
    const mixed = () => (++calls === 1 ? Promise.reject(gatewayError(grpc.status.UNAVAILABLE, 'orderer gone')) : Promise.reject(busy()));
    expect(await handOver(mixed, 'tx14', 'EnterpriseMSP', quick).catch((e: unknown) => e)).to.be.instanceOf(OutcomeUnknown);
  });

  it('a classified error passes through unchanged', () => {
    const f = new LedgerUnavailable('down');
    expect(classifyFabricError(f)).to.equal(f);
  });

  it('backs off exponentially up to the cap', () => {
    const policy = { attempts: 6, baseDelayMs: 100, maxDelayMs: 350 };
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, policy))).to.deep.equal([100, 200, 350, 350]);
  });
});
