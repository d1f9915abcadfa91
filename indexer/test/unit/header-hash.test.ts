import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { parseBlock } from '../../src/block-parser.js';
import { blockDataHash, blockHeaderBytes, derUnsignedInteger } from '../../src/header-hash.js';
import { fixtureBlock, manifest } from '../support/fixtures.js';

describe('header-hash: Fabric block header hashing (unit, real blocks)', () => {
  it('encodes DER integers minimally, with a 0x00 pad when the high bit is set', () => {
    expect(derUnsignedInteger(0n).toString('hex')).to.equal('020100');
    expect(derUnsignedInteger(127n).toString('hex')).to.equal('02017f');
    expect(derUnsignedInteger(128n).toString('hex')).to.equal('02020080');
    expect(derUnsignedInteger(256n).toString('hex')).to.equal('02020100');
    expect(derUnsignedInteger(2n ** 64n - 1n).toString('hex')).to.equal('020900ffffffffffffffff');
  });

  it('encodes the header as SEQUENCE {INTEGER, OCTET STRING, OCTET STRING}, empty previous hash for block 0', () => {
    const dataHash = Buffer.alloc(32, 0xab);
    const der = blockHeaderBytes(0n, Buffer.alloc(0), dataHash);
    expect(der.subarray(0, 7).toString('hex')).to.equal('3027' + '020100' + '0400');
    expect(der.subarray(7, 9).toString('hex')).to.equal('0420');
    expect(der.length).to.equal(2 + 3 + 2 + 34);
  });

  it('uses the long length form above 127 bytes', () => {
    const der = blockHeaderBytes(5n, Buffer.alloc(200, 1), Buffer.alloc(32));
    // INTEGER 3 + OCTET STRING (04 81 c8 + 200) 203 + OCTET STRING 34 = 240 = 0xf0
    expect(der.subarray(0, 3).toString('hex')).to.equal('3081f0');
    expect(der.subarray(6, 9).toString('hex')).to.equal('0481c8');
    expect(der.length).to.equal(3 + der[2]!);
  });

  it('links every captured consecutive pair of real blocks: previous_hash(n) = hash(header n-1)', () => {
    const numbers = manifest.blocks;
    let pairs = 0;
    for (const n of numbers) {
      if (!numbers.includes(n - 1)) continue;
      const prev = parseBlock(fixtureBlock(n - 1));
      const block = parseBlock(fixtureBlock(n));
      expect(block.previousHash.equals(prev.headerHash), `block ${n}`).to.equal(true);
      pairs += 1;
    }
    expect(pairs).to.be.greaterThanOrEqual(3);
  });

  it('computes data_hash as SHA-256 over the concatenated data entries, as Fabric 3 does', () => {
    for (const n of manifest.blocks) {
      const block = fixtureBlock(n);
      const entries = block.getData()!.getDataList_asU8();
      const expected = Buffer.from(block.getHeader()!.getDataHash_asU8());
      expect(blockDataHash(entries).equals(expected), `block ${n}`).to.equal(true);
      const concatenated = createHash('sha256')
        .update(Buffer.concat(entries.map((e) => Buffer.from(e))))
        .digest();
      expect(concatenated.equals(expected)).to.equal(true);
    }
  });
});
