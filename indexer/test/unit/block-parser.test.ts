import { common, peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { parseBlock, storableText, timestampToIso } from '../../src/block-parser.js';
import { fixtureBlock, manifest } from '../support/fixtures.js';
import { FORGED_FUNCTION, type Forgery, forgeEnvelope } from '../support/forged-envelope.js';

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

describe('block-parser: forged fields PostgreSQL cannot store (unit, a real block altered)', () => {
  /** The valid heartbeat's envelope forged (forgeEnvelope), marked invalid as the peers would, or left valid. */
  function forged(forgery: Forgery, valid = false): ReturnType<typeof fixtureBlock> {
    const block = fixtureBlock(manifest.valid.blockNumber);
    const data = block.getData()!;
    const entries = data.getDataList_asU8();
    const i = parseBlock(fixtureBlock(manifest.valid.blockNumber)).transactions.findIndex((t) => t.txId === manifest.valid.txId);
    const envelope = common.Envelope.deserializeBinary(entries[i]!);
    forgeEnvelope(envelope, forgery);
    data.setDataList(entries.map((e, j) => (j === i ? envelope.serializeBinary() : e)));
    if (!valid) {
      const metadata = block.getMetadata()!.getMetadataList_asU8().slice();
      const filter = metadata[common.BlockMetadataIndex.TRANSACTIONS_FILTER]!.slice();
      filter[i] = peer.TxValidationCode.ENDORSEMENT_POLICY_FAILURE;
      metadata[common.BlockMetadataIndex.TRANSACTIONS_FILTER] = filter;
      block.getMetadata()!.setMetadataList(metadata);
    }
    return block;
  }

  it('stores each U+0000 of an envelope text field as U+FFFD, keeping the rest of the field and the write keys as they are', () => {
    const tx = parseBlock(forged({ nulText: true, nulInTxId: true })).transactions.find((t) => t.txId === `${manifest.valid.txId}\uFFFD`)!;
    expect(tx, 'the forged transaction, by its id with U+FFFD').to.not.equal(undefined);
    expect(tx).to.include({ valid: false, functionName: storableText(FORGED_FUNCTION), chaincode: 'compliance\uFFFD', parseError: null });
    expect(tx.functionName).to.equal('heartbeat:Record\uFFFDforged');
    expect(tx.events.map((e) => [e.chaincodeId, e.name])).to.deep.equal([['\uFFFD', 'Heartbeat\uFFFDRecorded']]);
    expect(tx.writes.length).to.be.greaterThan(0);
    for (const w of tx.writes) expect(w.namespace.endsWith('\uFFFD'), w.namespace).to.equal(true);
    // Keys are stored as bytes: their NULs (composite keys) are data.
    expect(tx.writes.some((w) => w.key.startsWith('\u0000heartbeat\u0000'))).to.equal(true);
  });

  for (const [what, timestamp] of [
    ['in the year 33658', { seconds: 1e12, nanos: 0 }],
    ['before the year 1', { seconds: -62_135_596_801, nanos: 0 }],
    ['with negative nanoseconds', { seconds: 1_700_000_000, nanos: -1 }],
    ['with a second of nanoseconds', { seconds: 1_700_000_000, nanos: 1e9 }],
  ] as const) {
    it(`stores an invalid transaction whose timestamp is ${what} with the reason and its creator, and refuses a valid one`, () => {
      const tx = parseBlock(forged({ timestamp })).transactions.find((t) => t.txId === manifest.valid.txId)!;
      expect(tx).to.include({ valid: false, timestamp: null, creatorMsp: 'EnterpriseMSP' });
      expect(tx.parseError).to.match(/timestamp .* is outside the years 1–9999/);
      expect(() => parseBlock(forged({ timestamp }, true))).to.throw(RangeError);
    });
  }

  it('formats the first and last instants of the years 1–9999 as PostgreSQL reads them', () => {
    const at = (seconds: number, nanos: number) => timestampToIso({ getSeconds: () => seconds, getNanos: () => nanos });
    expect(at(-62_135_596_800, 0)).to.equal('0001-01-01T00:00:00.000000Z');
    expect(at(253_402_300_799, 999_999_999)).to.equal('9999-12-31T23:59:59.999999Z');
    expect(() => at(253_402_300_800, 0)).to.throw(RangeError);
  });
});
