/**
 * A written-key answer resolved from the transaction's own write set. Against the real network:
 * every permit step of gateway/test and chaincode/test/integration goes through answerOf.
 */
import { common, gateway as gatewayProtos, ledger, peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { answerOf, answerOfEndorsed, writtenKeyIn } from '../../src/answer.js';
import { UnexpectedLedgerError } from '../../src/errors.js';
import { writtenValue } from '../../src/transaction.js';

const enc = new TextEncoder();

/** An endorser transaction envelope whose one action writes `writes` to their namespaces. */
function envelopeWriting(writes: { namespace: string; key: string; value: string; isDelete?: boolean }[]): Uint8Array {
  const rwset = new ledger.rwset.TxReadWriteSet();
  for (const namespace of new Set(writes.map((w) => w.namespace))) {
    const kv = new ledger.rwset.kvrwset.KVRWSet();
    for (const w of writes.filter((x) => x.namespace === namespace)) {
      const write = new ledger.rwset.kvrwset.KVWrite();
      write.setKey(w.key);
      write.setValue(enc.encode(w.value));
      write.setIsDelete(w.isDelete ?? false);
      kv.addWrites(write);
    }
    const ns = new ledger.rwset.NsReadWriteSet();
    ns.setNamespace(namespace);
    ns.setRwset(kv.serializeBinary());
    rwset.addNsRwset(ns);
  }
  const action = new peer.ChaincodeAction();
  action.setResults(rwset.serializeBinary());
  const prp = new peer.ProposalResponsePayload();
  prp.setExtension$(action.serializeBinary());
  const endorsed = new peer.ChaincodeEndorsedAction();
  endorsed.setProposalResponsePayload(prp.serializeBinary());
  const cap = new peer.ChaincodeActionPayload();
  cap.setAction(endorsed);
  const txAction = new peer.TransactionAction();
  txAction.setPayload(cap.serializeBinary());
  const tx = new peer.Transaction();
  tx.addActions(txAction);
  const payload = new common.Payload();
  payload.setData(tx.serializeBinary());
  const envelope = new common.Envelope();
  envelope.setPayload(payload.serializeBinary());
  return envelope.serializeBinary();
}

const KEY = '\u0000permit\u0000P-1\u0000';
const PERMIT = '{"permitNo":"P-1","status":"applied"}';
const answer = (o: unknown) => enc.encode(JSON.stringify(o));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('answerOf: a written-key answer is the record the transaction wrote (unit)', () => {
  const envelope = envelopeWriting([
    { namespace: 'other', key: KEY, value: '{"not":"this one"}' },
    { namespace: 'compliance', key: '\u0000live\u0000P-1\u0000', value: '{}' },
    { namespace: 'compliance', key: KEY, value: PERMIT },
  ]);

  it("replaces { written: key } by the value written to that key of the chaincode's namespace", () => {
    expect(text(answerOf(answer({ permitNo: 'P-1', status: 'applied', written: KEY }), envelope, 'compliance'))).to.equal(PERMIT);
    expect(writtenValue(envelope, 'other', KEY)).to.satisfy((v: Uint8Array) => text(v) === '{"not":"this one"}');
  });

  it('passes any other answer through as it is, and does not parse a large one', () => {
    for (const other of [answer({ alarmId: 'A-1' }), answer([{ written: KEY }]), enc.encode(''), enc.encode('not json'), answer({ written: 7 })]) {
      expect(answerOf(other, envelope, 'compliance')).to.equal(other);
    }
    const large = answer({ written: KEY, padding: 'x'.repeat(5000) });
    expect(writtenKeyIn(large)).to.equal(undefined);
  });

  it('reads an endorsed fabric-gateway transaction, whose bytes are a PreparedTransaction around the envelope', () => {
    const prepared = new gatewayProtos.PreparedTransaction();
    prepared.setTransactionId('tx-1');
    prepared.setEnvelope(common.Envelope.deserializeBinary(envelope));
    const endorsed = (result: Uint8Array) => ({ getResult: () => result, getBytes: () => prepared.serializeBinary(), getTransactionId: () => 'tx-1' });
    expect(text(answerOfEndorsed(endorsed(answer({ written: KEY })), 'compliance'))).to.equal(PERMIT);
    const plain = answer({ alarmId: 'A-1' });
    expect(answerOfEndorsed({ ...endorsed(plain), getBytes: () => new Uint8Array([0xff]) }, 'compliance')).to.equal(plain);
  });

  it('is a defect, named with the transaction, when the answer names a key the transaction did not write (or deleted)', () => {
    const deleting = envelopeWriting([{ namespace: 'compliance', key: KEY, value: '', isDelete: true }]);
    for (const [env, ns] of [
      [envelope, 'elsewhere'],
      [deleting, 'compliance'],
    ] as const) {
      const err = (() => {
        try {
          answerOf(answer({ written: KEY }), env, ns, 'tx-9');
        } catch (e) {
          return e;
        }
      })();
      expect(err).to.be.instanceOf(UnexpectedLedgerError);
      expect((err as UnexpectedLedgerError).transactionId).to.equal('tx-9');
      expect((err as Error).message).to.contain('writes no such key');
    }
  });
});
