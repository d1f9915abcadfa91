/**
 * Block tampering for the orderer-signature tests: a signature with one byte changed, or a
 * signature made with a freshly generated P-256 key whose certificate is self-made (OU orderer, MSP
 * id OrdererMSP): well formed in every way except that the orderer org never issued it.
 */

import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { headerBytes } from '@compliance-ledger/verifier';
import { common, msp } from '@hyperledger/fabric-protos';
import type { BlockSource } from '../../src/fabric-source.js';

function editSignature(b: common.Block, edit: (s: common.MetadataSignature, sigs: common.Metadata) => void): void {
  const md = b.getMetadata()!.getMetadataList_asU8();
  const sigs = common.Metadata.deserializeBinary(md[0]!);
  edit(sigs.getSignaturesList()[0]!, sigs);
  b.getMetadata()!.setMetadataList([sigs.serializeBinary(), ...md.slice(1)]);
}

export function flipSignatureByte(b: common.Block): void {
  editSignature(b, (s) => {
    const bytes = s.getSignature_asU8().slice();
    bytes[bytes.length - 1]! ^= 1;
    s.setSignature(bytes);
  });
}

/** Fabric refuses high-S signatures: a DER ECDSA signature normalised to S ≤ n/2 (P-256). */
function lowS(der: Buffer): Buffer {
  const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const rLen = der[3]!;
  const r = der.subarray(4, 4 + rLen);
  const sLen = der[5 + rLen]!;
  let s = BigInt(`0x${der.subarray(6 + rLen, 6 + rLen + sLen).toString('hex')}`);
  if (s <= n / 2n) return der;
  s = n - s;
  let hex = s.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let sBytes = Buffer.from(hex, 'hex');
  if (sBytes[0]! & 0x80) sBytes = Buffer.concat([Buffer.from([0]), sBytes]);
  const body = Buffer.concat([Buffer.from([0x02, r.length]), r, Buffer.from([0x02, sBytes.length]), sBytes]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** A key and a self-signed end-entity certificate valid from 2020, so only its issuer is wrong. */
function rogueOrderer(): { key: crypto.KeyObject; certPem: Buffer } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rogue-orderer-'));
  const f = (name: string) => path.join(dir, name);
  fs.writeFileSync(f('index.txt'), '');
  fs.writeFileSync(f('serial'), '01\n');
  fs.writeFileSync(f('ext.cnf'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n');
  fs.writeFileSync(
    f('ca.cnf'),
    `${[
      '[ca]',
      'default_ca = d',
      '[d]',
      `database = ${f('index.txt')}`,
      `new_certs_dir = ${dir}`,
      `serial = ${f('serial')}`,
      'default_md = sha256',
      'policy = p',
      '[p]',
      'organizationalUnitName = supplied',
      'commonName = supplied',
    ].join('\n')}\n`,
  );
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('k.pem')], { stdio: 'ignore' });
  execFileSync('openssl', ['req', '-new', '-key', f('k.pem'), '-subj', '/OU=orderer/CN=orderer0.orderer.ledger.local', '-out', f('r.csr')], {
    stdio: 'ignore',
  });
  execFileSync(
    'openssl',
    [
      'ca',
      '-batch',
      '-config',
      f('ca.cnf'),
      '-selfsign',
      '-keyfile',
      f('k.pem'),
      '-in',
      f('r.csr'),
      '-out',
      f('c.pem'),
      '-startdate',
      '20200101000000Z',
      '-enddate',
      '20991231000000Z',
      '-notext',
      '-extfile',
      f('ext.cnf'),
    ],
    { stdio: 'ignore' },
  );
  return { key: crypto.createPrivateKey(fs.readFileSync(f('k.pem'))), certPem: fs.readFileSync(f('c.pem')) };
}

export function resignWithRogueKey(b: common.Block): void {
  const rogue = rogueOrderer();
  editSignature(b, (s, sigs) => {
    const sigHeader = common.SignatureHeader.deserializeBinary(s.getSignatureHeader_asU8());
    const identity = new msp.SerializedIdentity();
    identity.setMspid('OrdererMSP');
    identity.setIdBytes(rogue.certPem);
    sigHeader.setCreator(identity.serializeBinary());
    s.setSignatureHeader(sigHeader.serializeBinary());
    const h = b.getHeader()!;
    const signed = Buffer.concat([
      sigs.getValue_asU8(),
      s.getSignatureHeader_asU8(),
      headerBytes({ number: h.getNumber(), previousHash: h.getPreviousHash_asU8(), dataHash: h.getDataHash_asU8() }),
    ]);
    s.setSignature(lowS(crypto.sign('sha256', signed, rogue.key)));
  });
}

/** The peer's block stream with block `n` altered in flight, as a compromised peer would serve it. */
export function tamperingSource(n: number, edit: (b: common.Block) => void): (s: BlockSource) => BlockSource {
  return (s) => ({
    async blocks(start) {
      const stream = await s.blocks(start);
      return {
        close: () => stream.close(),
        async *[Symbol.asyncIterator]() {
          for await (const b of stream) {
            if (b.getHeader()!.getNumber() === n) edit(b);
            yield b;
          }
        },
      };
    },
    chainInfo: () => s.chainInfo(),
    blockTime: (k) => s.blockTime(k),
    block: (k) => s.block(k),
    close: () => s.close(),
  });
}
