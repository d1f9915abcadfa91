/**
 * Command line for users who keep their own Fabric key (see src/client-signing.ts):
 *
 *   ledger-sign.ts digest --key <key.pem> <base64 digest>
 *       prints the base64 signature of a digest the gateway returned (proposalDigest, transactionDigest)
 *   ledger-sign.ts submit --gateway <url> --token-file <jwt file> --msp <dir> --transaction <name> --input <json file>
 *       prepare, sign, endorse, sign, submit; <dir> is what `fabric-ca-client enroll -H <dir>`
 *       wrote (msp/signcerts/cert.pem, msp/keystore/*_sk); prints the gateway's answer
 *
 * Run with `npx tsx gateway/tools/ledger-sign.ts …`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { signDigest, submitClientSigned } from '../src/client-signing.js';

const usage =
  'usage: ledger-sign.ts digest --key <key.pem> <base64 digest>\n       ledger-sign.ts ' +
  'submit --gateway <url> --token-file <file> --msp <dir> --transaction <name> --input <json ' +
  'file>';
const [command, ...rest] = process.argv.slice(2);
const { values, positionals } = parseArgs({
  args: rest,
  allowPositionals: true,
  options: {
    key: { type: 'string' },
    gateway: { type: 'string' },
    'token-file': { type: 'string' },
    msp: { type: 'string' },
    transaction: { type: 'string' },
    input: { type: 'string' },
  },
});

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

if (command === 'digest') {
  if (!values.key || positionals.length !== 1) fail('digest needs --key and one base64 digest');
  process.stdout.write(`${await signDigest(fs.readFileSync(values.key), positionals[0]!)}\n`);
} else if (command === 'submit') {
  const { gateway, msp, transaction, input } = values;
  const tokenFile = values['token-file'];
  if (!gateway || !tokenFile || !msp || !transaction || !input) fail('submit needs --gateway, --token-file, --msp, --transaction and --input');
  const keystore = path.join(msp, 'msp', 'keystore');
  const keyFile = fs.readdirSync(keystore).find((f) => f.endsWith('_sk')) ?? fail(`no *_sk key in ${keystore}`);
  const r = await submitClientSigned({
    gatewayUrl: gateway,
    token: fs.readFileSync(tokenFile, 'utf8').trim(),
    certificatePem: fs.readFileSync(path.join(msp, 'msp', 'signcerts', 'cert.pem'), 'utf8'),
    privateKeyPem: fs.readFileSync(path.join(keystore, keyFile)),
    transaction,
    input: JSON.parse(fs.readFileSync(input, 'utf8')),
  });
  process.stdout.write(`${JSON.stringify(r.body, null, 2)}\n`);
  process.exit(r.status === 200 ? 0 : 1);
} else {
  fail(`unknown command ${command ?? '(none)'}`);
}
