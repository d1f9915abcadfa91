/**
 * Captures a whole channel (blocks 0..head) from a network into one fixture file of
 * length-prefixed serialized blocks, for tests of the domain projection on real chaincode
 * transactions. Reads only. Run:
 *   npx tsx test/support/capture-chain.ts <connection-profile.json> test/fixtures/domain-chain.bin.gz
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { openFabricSource } from '../../src/fabric-source.js';

const [profilePath, out] = process.argv.slice(2);
if (!profilePath || !out) throw new Error('usage: capture-chain.ts <connection-profile.json> <out.bin[.gz]>');
const source = openFabricSource({ profilePath, org: 'regulator', identity: 'client' });
const top = (await source.chainInfo()).height - 1;
const stream = await source.blocks(0);
const parts: Buffer[] = [];
for await (const block of stream) {
  const bytes = Buffer.from(block.serializeBinary());
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  parts.push(len, bytes);
  if (block.getHeader()!.getNumber() >= top) break;
}
stream.close();
source.close();
fs.writeFileSync(out, out.endsWith('.gz') ? zlib.gzipSync(Buffer.concat(parts), { level: 9 }) : Buffer.concat(parts));
console.log(`captured blocks 0..${top} into ${out}`);
process.exit(0);
