/**
 * What device signatures cost ingest per message: verifying the EIP-191 signature of a standard
 * message against the device's key table (the default for the first INGEST_DEVICE_KEY_TABLES
 * devices) and by recovering its signer (devices beyond them), against decoding the same message
 * unsigned, and the service's EIP-712 grading signature (per alarm, not per message).
 *
 *   taskset -c 0 npx tsx bench/signature.bench.ts [--n 2000]
 */

import { parseArgs } from 'node:util';
import { SignerKeys } from '@compliance-ledger/gate-verifier/secp256k1';
import { Wallet } from 'ethers';
import { alarmFields } from '../../schema/test/support/alarm-fields.js';
import { topicFor } from '../src/mqtt/topics.js';
import { signGrading } from '../src/pipeline/alarm-signature.js';
import { decodeMessage } from '../src/pipeline/decode.js';
import type { StandardMessage } from '../src/pipeline/message.js';
import { signStandardMessage } from '../src/pipeline/message-signature.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '2000' } } });
const N = Number(values.n);
const device = Wallet.createRandom();
const service = { serviceId: 'ingest-bench', wallet: Wallet.createRandom() };
const addresses = new Map([['gas-a', device.address.toLowerCase()]]);
const base = (i: number): StandardMessage => ({
  v: 1,
  kind: 'env',
  messageId: `m-${i}`,
  siteId: 's',
  areaId: 'a',
  deviceId: 'gas-a',
  observedAt: 1_796_000_000_000 + i,
  reading: { flammableLelPct: 1, o2VolPct: 20.9 },
});
const topic = topicFor('ledger', { siteId: 's', areaId: 'a', deviceId: 'gas-a', channel: 'env' });
const unsigned = Array.from({ length: N }, (_, i) => Buffer.from(JSON.stringify(base(i))));
const signed = await Promise.all(Array.from({ length: N }, async (_, i) => Buffer.from(JSON.stringify(await signStandardMessage(device, base(i))))));

function rate(label: string, run: () => void): void {
  run(); // warm-up
  const t0 = performance.now();
  run();
  const ms = performance.now() - t0;
  process.stdout.write(`${label.padEnd(48)} ${Math.round((N / ms) * 1000).toLocaleString('en')} /s  (${((ms * 1000) / N).toFixed(1)} µs each)\n`);
}

rate('decode, unsigned (opt-out)', () => {
  for (const p of unsigned) if (!decodeMessage(topic, p, { topicRoot: 'ledger' }).ok) throw new Error('refused');
});
rate('decode + recover the device signer (no table)', () => {
  for (const p of signed)
    if (!decodeMessage(topic, p, { topicRoot: 'ledger', deviceAddresses: addresses, requireSignature: true }).ok) throw new Error('refused');
});
// The service's default: the device's key kept as a table after its first message (INGEST_DEVICE_KEY_TABLES).
const deviceKeys = new SignerKeys(64);
rate("decode + verify against the device's key table", () => {
  for (const p of signed)
    if (!decodeMessage(topic, p, { topicRoot: 'ledger', deviceAddresses: addresses, requireSignature: true, deviceKeys }).ok) throw new Error('refused');
});
const fields = alarmFields();
const reading = { message: 'x', signature: `0x${'11'.repeat(65)}` };
const t0 = performance.now();
for (let i = 0; i < Math.min(N, 500); i++) await signGrading(service, { ...fields, alarmId: `a${i}` }, reading);
const ms = performance.now() - t0;
process.stdout.write(`${'service grading signature (per alarm)'.padEnd(48)} ${Math.round((Math.min(N, 500) / ms) * 1000).toLocaleString('en')} /s\n`);
