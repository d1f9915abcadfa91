/**
 * Captures real blocks from the network into test/fixtures so the parser and hash unit tests run
 * on genuine Fabric bytes without a network. Run: `npx tsx test/support/capture-blocks.ts`.
 * It first submits a valid and an invalid (one-org) heartbeat so the captured tail contains both.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProfile, openFabricSource } from '../../src/fabric-source.js';
import { connectionProfilePath, enterpriseSubmitter, submitHeartbeat } from './network.js';

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'blocks');
fs.mkdirSync(out, { recursive: true });
const profile = loadProfile(connectionProfilePath());
const submitter = enterpriseSubmitter(profile);
const valid = await submitHeartbeat(submitter, 'fixture valid');
const invalid = await submitHeartbeat(submitter, 'fixture invalid', true);
submitter.close();
const source = openFabricSource({ profilePath: connectionProfilePath(), org: 'regulator', identity: 'client' });
const wanted = new Set([0, 1, 2, 3, valid.blockNumber, invalid.blockNumber]);
const last = Math.max(...wanted);
const stream = await source.blocks(0);
for await (const block of stream) {
  const n = block.getHeader()!.getNumber();
  if (wanted.has(n)) fs.writeFileSync(path.join(out, `block-${n}.pb`), block.serializeBinary());
  if (n >= last) break;
}
stream.close();
source.close();
fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ valid, invalid, blocks: [...wanted].sort((a, b) => a - b) }, null, 2));
console.log('captured', [...wanted], 'valid', valid, 'invalid', invalid);
