import { common, peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { parseBlock, storableText } from '../../src/block-parser.js';
import { fixtureBlock, manifest } from '../support/fixtures.js';
import { FORGED_FUNCTION, forgeWithNul } from '../support/forged-envelope.js';

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

describe('block-parser: text PostgreSQL cannot store (unit, a real block altered)', () => {
  /** The valid heartbeat's envelope forged (forgeWithNul, its id too) and marked invalid, as the peers would. */
  function withNul(): ReturnType<typeof fixtureBlock> {
    const block = fixtureBlock(manifest.valid.blockNumber);
    const data = block.getData()!;
    const entries = data.getDataList_asU8();
    const i = parseBlock(fixtureBlock(manifest.valid.blockNumber)).transactions.findIndex((t) => t.txId === manifest.valid.txId);
    const envelope = common.Envelope.deserializeBinary(entries[i]!);
    forgeWithNul(envelope, { txId: true });
    data.setDataList(entries.map((e, j) => (j === i ? envelope.serializeBinary() : e)));
    const metadata = block.getMetadata()!.getMetadataList_asU8().slice();
    const filter = metadata[common.BlockMetadataIndex.TRANSACTIONS_FILTER]!.slice();
    filter[i] = peer.TxValidationCode.ENDORSEMENT_POLICY_FAILURE;
    metadata[common.BlockMetadataIndex.TRANSACTIONS_FILTER] = filter;
    block.getMetadata()!.setMetadataList(metadata);
    return block;
  }

  it('stores each U+0000 of an envelope text field as U+FFFD, keeping the rest of the field and the write keys as they are', () => {
    const tx = parseBlock(withNul()).transactions.find((t) => t.txId === `${manifest.valid.txId}\uFFFD`)!;
    expect(tx, 'the forged transaction, by its id with U+FFFD').to.not.equal(undefined);
    expect(tx).to.include({ valid: false, functionName: storableText(FORGED_FUNCTION), chaincode: 'compliance\uFFFD', parseError: null });
    expect(tx.functionName).to.equal('heartbeat:Record\uFFFDforged');
    expect(tx.events.map((e) => [e.chaincodeId, e.name])).to.deep.equal([['\uFFFD', 'Heartbeat\uFFFDRecorded']]);
    expect(tx.writes.length).to.be.greaterThan(0);
    for (const w of tx.writes) expect(w.namespace.endsWith('\uFFFD'), w.namespace).to.equal(true);
    // Keys are stored as bytes: their NULs (composite keys) are data.
    expect(tx.writes.some((w) => w.key.startsWith('\u0000heartbeat\u0000'))).to.equal(true);
  });
});
