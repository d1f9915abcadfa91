/** Real blocks captured from the network by test/support/capture-blocks.ts. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { common } from '@hyperledger/fabric-protos';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'blocks');

export interface Manifest {
  valid: { txId: string; blockNumber: number };
  invalid: { txId: string; blockNumber: number };
  blocks: number[];
}

export const manifest: Manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));

export function fixtureBlock(n: number): common.Block {
  return common.Block.deserializeBinary(fs.readFileSync(path.join(dir, `block-${n}.pb`)));
}

/**
 * A whole real channel (blocks 0..n) with a permit lifecycle, workers, certificates, devices, gate
 * checks, evidence and a suspension, captured by test/support/capture-chain.ts.
 */
export function domainChain(): common.Block[] {
  const data = zlib.gunzipSync(fs.readFileSync(path.join(dir, '..', 'domain-chain.bin.gz')));
  const blocks: common.Block[] = [];
  for (let at = 0; at < data.length; ) {
    const len = data.readUInt32BE(at);
    blocks.push(common.Block.deserializeBinary(data.subarray(at + 4, at + 4 + len)));
    at += 4 + len;
  }
  return blocks;
}
