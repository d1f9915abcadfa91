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
import { channelConfig, decodeBlock, verifyOrdererSignature } from '../../src/index.js';

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
    const r = await verifyOrdererSignature(block, config);
    expect(r.ok, r.detail).to.equal(true);
    expect(r.detail.match(/CN=orderer\d\.orderer\.ledger\.local \(OrdererMSP\)/g)).to.have.length(3);
    expect(r.detail).to.match(/\/Channel\/Orderer\/BlockValidation \(OutOf\(3,'OrdererMSP:orderer0\.orderer\.ledger\.local','OrdererMSP:orderer1/);
  });

  it('refuses the block with two signatures left, saying how many distinct consenters signed', async () => {
    const r = await verifyOrdererSignature(decodeBlock(withSignatures(signed, (l) => l.slice(0, 2))), config);
    expect(r.ok).to.equal(false);
    expect(r.detail).to.match(
      /^\/Channel\/Orderer\/BlockValidation \(OutOf\(3,.*\) of config block 0 is not satisfied: valid signatures of 2 distinct consenters of 4 \(/,
    );
  });

  it('counts a consenter that signed twice once', async () => {
    const r = await verifyOrdererSignature(decodeBlock(withSignatures(signed, (l) => [l[0]!, l[1]!, l[0]!])), config);
    expect(r.ok).to.equal(false);
    expect(r.detail).to.match(/is not satisfied: valid signatures of 2 distinct consenters of 4/);
  });

  it('refuses a signature that names a consenter id the config does not have', async () => {
    const r = await verifyOrdererSignature(
      decodeBlock(
        withSignatures(signed, (l) => {
          const forged = l.slice(0, 3).map((s) => common.MetadataSignature.deserializeBinary(s.serializeBinary()));
          const id = common.IdentifierHeader.deserializeBinary(forged[2]!.getIdentifierHeader_asU8());
          id.setIdentifier(9);
          forged[2]!.setIdentifierHeader(id.serializeBinary());
          return forged;
        }),
      ),
      config,
    );
    expect(r.ok).to.equal(false);
    expect(r.detail).to.contain('a signature names consenter 9, which config block 0 does not have');
  });
});
