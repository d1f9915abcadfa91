/** Real blocks captured from the network by test/support/capture-blocks.ts. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
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
