/**
 * SmartBFT block signatures on real blocks of a `LEDGER_ORDERING=bft` network (four consenters),
 * captured with `peer channel fetch 0` and `peer channel fetch newest` into test/fixtures/bft: each
 * block must carry valid signatures of a quorum of distinct consenters (3 of 4), which the channel
 * config names by id and certificate. The same check on a live BFT network runs in the gateway's
 * proof-bundle test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { common } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { channelConfig, decodeBlock, ordererSignedBlock, verifyOrdererSignature } from '../../src/index.js';

const fixture = (name: string) => new Uint8Array(fs.readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'bft', name)));

/** The block with its SIGNATURES metadata reduced (or repeated) as `pick` says. */
function withSignatures(bytes: Uint8Array, pick: (list: common.MetadataSignature[]) => common.MetadataSignature[]): Uint8Array {
  const b = common.Block.deserializeBinary(bytes);
  const md = b.getMetadata()!.getMetadataList_asU8();
  const sigs = common.Metadata.deserializeBinary(md[0]!);
  sigs.setSignaturesList(pick(sigs.getSignaturesList()));
  b.getMetadata()!.setMetadataList([sigs.serializeBinary(), ...md.slice(1)]);
  return b.serializeBinary();
}

describe('verifier: SmartBFT quorum of orderer signatures (captured real blocks)', () => {
  const genesis = decodeBlock(fixture('block-0.pb'));
  const config = channelConfig(0, genesis.transactions[0]!.config!);
  const signed = fixture('block-118.pb');

  it('maps the four consenter ids of the config to the orderers’ certificates', () => {
    expect([...config.consenters.keys()].sort()).to.deep.equal([1, 2, 3, 4]);
    expect([...config.consenters.values()].every((c) => c.mspId === 'OrdererMSP')).to.equal(true);
  });

  it('accepts a block signed by three distinct consenters, naming them and the 3-of-4 policy', async () => {
    const block = decodeBlock(signed);
    expect(block.lastConfigIndex).to.equal(0);
    expect(block.ordererSignatures.length).to.be.at.least(3);
    expect(block.ordererSignatures.every((s) => s.signer === null && s.consenterId !== null)).to.equal(true);
    const r = await verifyOrdererSignature(ordererSignedBlock(block), config);
    expect(r.ok, r.detail).to.equal(true);
    expect(r.detail.match(/CN=orderer\d\.orderer\.ledger\.local \(OrdererMSP\)/g)).to.have.length(3);
    expect(r.detail).to.match(/\/Channel\/Orderer\/BlockValidation \(OutOf\(3,'OrdererMSP:orderer0\.orderer\.ledger\.local','OrdererMSP:orderer1/);
  });

  it('refuses the block with two signatures left, saying how many distinct consenters signed', async () => {
    const r = await verifyOrdererSignature(ordererSignedBlock(decodeBlock(withSignatures(signed, (l) => l.slice(0, 2)))), config);
    expect(r.ok).to.equal(false);
    expect(r.detail).to.match(
      /^\/Channel\/Orderer\/BlockValidation \(OutOf\(3,.*\) of config block 0 is not satisfied: valid signatures of 2 distinct consenters of 4 \(/,
    );
  });

  it('counts a consenter that signed twice once', async () => {
    const r = await verifyOrdererSignature(ordererSignedBlock(decodeBlock(withSignatures(signed, (l) => [l[0]!, l[1]!, l[0]!]))), config);
    expect(r.ok).to.equal(false);
    expect(r.detail).to.match(/is not satisfied: valid signatures of 2 distinct consenters of 4/);
  });

  it('refuses a signature that names a consenter id the config does not have', async () => {
    const r = await verifyOrdererSignature(
      ordererSignedBlock(
        decodeBlock(
          withSignatures(signed, (l) => {
            const forged = l.slice(0, 3).map((s) => common.MetadataSignature.deserializeBinary(s.serializeBinary()));
            const id = common.IdentifierHeader.deserializeBinary(forged[2]!.getIdentifierHeader_asU8());
            id.setIdentifier(9);
            forged[2]!.setIdentifierHeader(id.serializeBinary());
            return forged;
          }),
        ),
      ),
      config,
    );
    expect(r.ok).to.equal(false);
    expect(r.detail).to.contain('a signature names consenter 9, which config block 0 does not have');
  });

  it("judges the signers at the newest valid transaction's time: an invalid one's time, which its creator wrote, changes nothing", async () => {
    const block = decodeBlock(signed);
    // Fetched from the orderer, the block has no validation filter (a peer writes it): as a peer commits it, its transactions valid.
    expect(ordererSignedBlock(block).transactions.every((t) => !t.valid)).to.equal(true);
    const at = (timestampMs: number, valid: boolean) => ({ timestampMs, valid });
    const real = { ordererSignatures: block.ordererSignatures, transactions: block.transactions.map((t) => at(t.timestampMs, true)) };
    expect(real.transactions.length).to.be.greaterThan(0);
    const in2100 = Date.parse('2100-01-01T00:00:00Z');
    // A forged envelope dated 2100 beside the block's own transactions: the orderers' certificates are judged at theirs.
    const forged = await verifyOrdererSignature({ ...real, transactions: [...real.transactions, at(in2100, false)] }, config);
    expect(forged.ok, forged.detail).to.equal(true);
    // The same time on a transaction marked valid is the block's time, and the certificates had expired by then.
    const dated = await verifyOrdererSignature({ ...real, transactions: [...real.transactions, at(in2100, true)] }, config);
    expect(dated.ok).to.equal(false);
    expect(dated.detail).to.match(/expired at .* \(used at 2100-01-01T00:00:00\.000Z\)/);
    // Only invalid transactions (they change no state): judged at no instant, as Fabric's MSP does; still the quorum.
    const none = await verifyOrdererSignature({ ...real, transactions: [at(in2100, false), at(0, false)] }, config);
    expect(none.ok, none.detail).to.equal(true);
    const fewer = await verifyOrdererSignature(
      { ...ordererSignedBlock(decodeBlock(withSignatures(signed, (l) => l.slice(0, 2)))), transactions: [at(in2100, false)] },
      config,
    );
    expect(fewer.ok).to.equal(false);
  });
});
