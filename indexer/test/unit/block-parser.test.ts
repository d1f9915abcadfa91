import { expect } from 'chai';
import { parseBlock } from '../../src/block-parser.js';
import { fixtureBlock, manifest } from '../support/fixtures.js';

describe('block-parser: real blocks captured from the network (unit)', () => {
  it('reads the genesis block as one valid CONFIG transaction with an empty previous hash', () => {
    const b = parseBlock(fixtureBlock(0));
    expect(b.number).to.equal(0);
    expect(b.previousHash.length).to.equal(0);
    expect(b.transactions).to.have.length(1);
    expect(b.transactions[0]).to.include({ headerTypeName: 'CONFIG', valid: true, chaincode: null });
  });

  it('reads a valid heartbeat: tx id, creator, timestamp, function, event and public write', () => {
    const b = parseBlock(fixtureBlock(manifest.valid.blockNumber));
    const tx = b.transactions.find((t) => t.txId === manifest.valid.txId)!;
    expect(tx).to.include({ valid: true, validationCodeName: 'VALID', creatorMsp: 'EnterpriseMSP', chaincode: 'compliance', functionName: 'heartbeat:Record' });
    expect(tx.timestamp).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(tx.creatorCertSha256).to.match(/^[0-9a-f]{64}$/);
    expect(tx.events).to.have.length(1);
    const envelope = JSON.parse(tx.events[0]!.payload.toString('utf8'));
    expect(envelope).to.include({ type: 'HeartbeatRecorded', txId: tx.txId, schemaVersion: 1 });
    // The creator id is the same string the chaincode's ClientIdentity.getID() recorded.
    expect(tx.creatorId).to.equal(envelope.payload.recordedBy.certificateId);
    const write = tx.writes.find((w) => w.namespace === 'compliance')!;
    expect(write.collection).to.equal(null);
    expect(write.key.startsWith('\u0000heartbeat\u0000')).to.equal(true);
    expect(JSON.parse(write.value!.toString('utf8')).id).to.equal(envelope.payload.id);
  });

  it('reads the validation code of a one-org transaction: ENDORSEMENT_POLICY_FAILURE, invalid', () => {
    const b = parseBlock(fixtureBlock(manifest.invalid.blockNumber));
    const tx = b.transactions.find((t) => t.txId === manifest.invalid.txId)!;
    expect(tx).to.include({ valid: false, validationCode: 10, validationCodeName: 'ENDORSEMENT_POLICY_FAILURE' });
  });

  it('keeps private data as hashes only (lifecycle approvals write to implicit collections)', () => {
    const b = parseBlock(fixtureBlock(1));
    const priv = b.transactions.flatMap((t) => t.writes).filter((w) => w.collection !== null);
    expect(priv.length).to.be.greaterThan(0);
    for (const w of priv) {
      expect(w.value).to.equal(null);
      expect(w.key).to.match(/^[0-9a-f]{64}$/);
      expect(w.valueHash?.length).to.equal(32);
    }
  });
});

describe('block-parser: malformed envelopes (unit, real blocks altered)', () => {
  function withGarbage(n: number): ReturnType<typeof fixtureBlock> {
    const block = fixtureBlock(n);
    const data = block.getData()!;
    // Field 1 (payload) declares 5 bytes but carries 3: a truncated envelope.
    data.setDataList([Buffer.from('0a05010203', 'hex')]);
    return block;
  }

  it('stores an unreadable invalid transaction with the reason instead of stopping', () => {
    const b = parseBlock(withGarbage(manifest.invalid.blockNumber));
    const tx = b.transactions[0]!;
    expect(tx.valid).to.equal(false);
    expect(tx.parseError).to.be.a('string');
    expect(tx.events).to.deep.equal([]);
    expect(tx.writes).to.deep.equal([]);
  });

  it('refuses to go on when a valid transaction cannot be read', () => {
    expect(() => parseBlock(withGarbage(manifest.valid.blockNumber))).to.throw();
  });
});
