/**
 * Batched state access (state-batch.ts, store.ts): the messages sent to a Fabric 3.1 peer, the
 * order of a transaction's writes, and what permit:Apply asks the peer for. Against the real peers
 * every network test's transactions go through the same requests.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Context } from 'fabric-contract-api';
import type { ChaincodeStub } from 'fabric-shim';
import { bytesFields, encodeMessage } from '../../src/protobuf-wire';
import { batchedStateOf, MAX_KEYS_PER_REQUEST, MESSAGE } from '../../src/state-batch';
import { deleteKey, flushWrites, getJson, prefetch, putJson, putKeyPolicy } from '../../src/store';
import { application, certificate, fresh, GUARDIAN, PIC, seed, W1, W2, who } from '../support/fixtures';

interface Sent {
  type: number;
  txid: string;
  channelId: string;
  payload: Uint8Array;
  method: string;
}

interface ShimMessage {
  getType(): number;
  getTxid(): string;
  getChannelId(): string;
  getPayload_asU8(): Uint8Array;
}

/** A fabric-shim stub whose handler records each message (fabric-shim's own class) and answers with `answer`. */
function shimStub(answer: (m: Sent) => Uint8Array | Error): { stub: ChaincodeStub; sent: Sent[] } {
  const sent: Sent[] = [];
  const handler = {
    async _askPeerAndListen(msg: ShimMessage, method: string): Promise<Uint8Array> {
      const m = { type: msg.getType(), txid: msg.getTxid(), channelId: msg.getChannelId(), payload: msg.getPayload_asU8(), method };
      sent.push(m);
      const a = answer(m);
      if (a instanceof Error) throw a;
      return a;
    },
  };
  return { stub: { handler, channel_id: 'compliance', txId: 'tx-1' } as unknown as ChaincodeStub, sent };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const utf8 = (b: Uint8Array) => Buffer.from(b).toString('utf8');
/** GetStateMultiple's keys (field 1). */
const keysOf = (m: Sent) => bytesFields(m.payload, 1).map(utf8);
/** A GetStateMultipleResult (values, field 1). */
const valuesAnswer = (values: Uint8Array[]) => encodeMessage(values.map((v) => ({ field: 1, bytes: v })));

describe('chaincode: batched state access', () => {
  it('reads many keys in one GET_STATE_MULTIPLE of the transaction, values in the keys order, empty for a missing key', async () => {
    const { stub, sent } = shimStub((m) => valuesAnswer(keysOf(m).map((k) => (k === 'b' ? new Uint8Array() : Buffer.from(`v-${k}`)))));
    const values = await batchedStateOf(stub).getStates(['a', 'b', 'c']);
    expect(values.map(utf8)).to.deep.equal(['v-a', '', 'v-c']);
    expect(sent).to.have.length(1);
    expect(sent[0]).to.include({ type: MESSAGE.GET_STATE_MULTIPLE, txid: 'tx-1', channelId: 'compliance' });
    // The wire bytes by protobuf's rules: field 1, length-delimited (0x0a), length, the key; no collection.
    expect(hex(sent[0]!.payload)).to.equal('0a01610a01620a0163');
  });

  it(`splits more than ${MAX_KEYS_PER_REQUEST} keys over requests, as the peer's maxSizeGetMultipleKeys expects`, async () => {
    const { stub, sent } = shimStub((m) => valuesAnswer(keysOf(m).map((k) => Buffer.from(k))));
    const keys = Array.from({ length: MAX_KEYS_PER_REQUEST + 1 }, (_, i) => `k${i}`.padEnd(200, '.'));
    const values = await batchedStateOf(stub).getStates(keys);
    expect(values.map(utf8)).to.deep.equal(keys);
    expect(sent.map((m) => keysOf(m).length)).to.deep.equal([MAX_KEYS_PER_REQUEST, 1]);
    // A 200-byte key's length is a two-byte varint: 0xc8 0x01.
    expect(hex(sent[1]!.payload).slice(0, 6)).to.equal('0ac801');
  });

  it('refuses an answer with fewer values than keys (Fabric answers a state database failure that way), and passes on the peer errors', async () => {
    const short = shimStub(() => valuesAnswer([]));
    const err = await batchedStateOf(short.stub)
      .getStates(['a', 'b'])
      .catch((e: unknown) => e);
    expect((err as Error).message).to.match(/answered 0 values for 2 keys/);
    const refused = shimStub(() => new Error('transaction context not found'));
    const err2 = await batchedStateOf(refused.stub)
      .writeBatch([{ kind: 'delete', key: 'a' }])
      .catch((e: unknown) => e);
    expect((err2 as Error).message).to.equal('transaction context not found');
  });

  it('sends the writes in their order in one WRITE_BATCH_STATE: puts, deletes, and a key policy as VALIDATION_PARAMETER metadata', async () => {
    const { stub, sent } = shimStub(() => new Uint8Array());
    const ctx = { stub } as unknown as Context;
    await putJson(ctx, 'a', { n: 1 });
    await putKeyPolicy(ctx, 'a', Buffer.from('policy'));
    await deleteKey(ctx, 'b');
    await putJson(ctx, 'b', { n: 2 });
    expect(sent, 'nothing is sent before the transaction ends').to.have.length(0);
    await flushWrites(ctx);
    await flushWrites(ctx);
    expect(sent, 'one request, once').to.have.length(1);
    expect(sent[0]).to.include({ type: MESSAGE.WRITE_BATCH_STATE, txid: 'tx-1', channelId: 'compliance' });
    // WriteBatchState: each WriteRecord in field 1; a record's key 1, value 2, metadata 4 (metakey 1,
    // value 2), type 5 (PUT_STATE 9, PUT_STATE_METADATA 21 = 0x15, DEL_STATE 10).
    const records = bytesFields(sent[0]!.payload, 1).map(hex);
    const metadata = `0a14${hex(Buffer.from('VALIDATION_PARAMETER'))}1206${hex(Buffer.from('policy'))}`;
    expect(records).to.deep.equal([
      `0a0161${'1207'}${hex(Buffer.from('{"n":1}'))}2809`,
      `0a0161${'22'}${(metadata.length / 2).toString(16)}${metadata}2815`,
      '0a0162280a',
      `0a0162${'1207'}${hex(Buffer.from('{"n":2}'))}2809`,
    ]);
  });

  it('prefetched keys are read from the one request; a failed request fails the reads without an unhandled rejection', async () => {
    const { stub, sent } = shimStub((m) => valuesAnswer(keysOf(m).map((k) => Buffer.from(`{"k":"${k}"}`))));
    const ctx = { stub } as unknown as Context;
    await prefetch(ctx, ['x', 'y', 'x']);
    expect(await getJson(ctx, 'y')).to.deep.equal({ k: 'y' });
    expect(await getJson(ctx, 'x')).to.deep.equal({ k: 'x' });
    expect(sent).to.have.length(1);
    expect(keysOf(sent[0]!)).to.deep.equal(['x', 'y']);

    const failing = shimStub(() => new Error('peer gone'));
    const fctx = { stub: failing.stub } as unknown as Context;
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const err = await prefetch(fctx, ['p', 'q']).catch((e: unknown) => e);
      expect((err as Error).message).to.equal('peer gone');
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('permit:Apply: the policy, the permit number and the crew in one read, their certificates in one more, every write in one request', async () => {
    const h = fresh();
    await seed(h);
    const r = await h.submit('permit', 'Apply', who.applicant, application('SB-1'));
    expect(r.ok, r.error?.message).to.equal(true);
    // Hot work without the night flag: its template pointer waits for the policy (the site calendar
    // may raise the level), one getState. The workers' records name their certificates: no range read.
    expect(r.requests).to.deep.equal({ getState: 1, getStates: 2, rangeQuery: 0, putState: 0, deleteState: 0, setStateValidationParameter: 0, writeBatch: 1 });
    const stored = await h.read<{ workers: string[]; guardianId: string; personInChargeId: string }>('permit', 'Get', who.regulator, { permitNo: 'SB-1' });
    expect(stored).to.include({ guardianId: GUARDIAN, personInChargeId: PIC });
    expect(stored.workers).to.deep.equal([W1, W2]);

    // With the level certain (the flag set), the template pointer joins the first read.
    const night = await h.submit('permit', 'Apply', who.applicant, application('SB-2', { nightOrHoliday: true }));
    expect(night.ok, night.error?.message).to.equal(true);
    expect(night.requests).to.include({ getState: 0, getStates: 2, rangeQuery: 0, writeBatch: 1 });
  });

  it('a worker record from before it named its certificates is read through the index, and names them from its next certificate on', async () => {
    const h = fresh();
    await seed(h);
    // W1's record as the chaincode before certificateIds wrote it.
    const workerKey = `\u0000worker\u0000${W1}\u0000`;
    const { certificateIds, ...legacy } = JSON.parse(h.ledger.state.get(workerKey)!.toString('utf8')) as { certificateIds: string[] };
    expect(certificateIds).to.deep.equal(['cert-w1']);
    h.ledger.state.set(workerKey, Buffer.from(JSON.stringify(legacy)));

    const r = await h.submit('permit', 'Apply', who.applicant, application('SB-3'));
    expect(r.ok, r.error?.message).to.equal(true);
    expect(r.requests.rangeQuery, 'the legacy worker only').to.equal(1);
    // Without its certificate (read through the index) W1 would not qualify: revoke it and see.
    await h.ok('credential', 'SetCertificateStatus', who.officer, { certificateId: 'cert-w1', status: 'revoked', reason: 'test' });
    await h.fails('RULE_VIOLATION', 'permit', 'Apply', who.applicant, application('SB-4'));

    await h.ok('credential', 'AddCertificate', who.officer, certificate('cert-w1b', W1, 'welding_cutting'));
    const after = JSON.parse(h.ledger.state.get(workerKey)!.toString('utf8')) as { certificateIds: string[] };
    expect(after.certificateIds).to.deep.equal(['cert-w1', 'cert-w1b']);
    const again = await h.submit('permit', 'Apply', who.applicant, application('SB-5'));
    expect(again.ok, again.error?.message).to.equal(true);
    expect(again.requests.rangeQuery).to.equal(0);
  });

  it('no chaincode source writes public state past store.ts, whose writes go out with the batch', () => {
    const dir = join(__dirname, '../../src');
    const direct = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && f !== 'store.ts')
      .flatMap((f) =>
        readFileSync(join(dir, f), 'utf8')
          .split('\n')
          .filter((line) => /stub\.(putState|deleteState|setStateValidationParameter)\(/.test(line))
          .map((line) => `${f}: ${line.trim()}`),
      );
    // A write sent on its own would reach the peer before the batched ones made earlier.
    expect(direct).to.deep.equal([]);
  });
});
