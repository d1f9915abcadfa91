import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatZodIssues } from '@compliance-ledger/schema';
import { DeviceKeyring } from '../src/pipeline/device-keys.js';
import { messageSchema } from '../src/pipeline/message.js';
import { signStandardMessage } from '../src/pipeline/message-signature.js';

/**
 * Prints a standard message signed with its device's key, for `mosquitto_pub` and manual tests:
 *
 *   npx tsx tools/sign-message.ts --keys device-keys.json '{"v":1,"kind":"env",...}'
 *   echo '{...}' | npx tsx tools/sign-message.ts --keys device-keys.json
 *
 * The key is the one of the message's `deviceId`; `observedAt` may be left out (now).
 */
async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { keys: { type: 'string', default: 'device-keys.json' } } });
  const text = positionals[0] ?? readFileSync(0, 'utf8');
  const body = JSON.parse(text) as Record<string, unknown>;
  const parsed = messageSchema.safeParse({ observedAt: Date.now(), ...body });
  if (!parsed.success) throw new Error(`not a standard message: ${formatZodIssues(parsed.error)}`);
  const wallet = DeviceKeyring.load(values.keys).wallet(parsed.data.deviceId);
  if (!wallet) throw new Error(`no key for device ${parsed.data.deviceId} in ${values.keys}`);
  process.stdout.write(`${JSON.stringify(await signStandardMessage(wallet, parsed.data))}\n`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
