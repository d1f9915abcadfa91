/**
 * A second enterprise on the running network, for the tests of what one enterprise may see of
 * another: onboarded with scripts/org-add.sh (its own CA, peer and chaincode server, named in the
 * channel's policies and the chaincode definition) and offboarded again with scripts/org-remove.sh,
 * so the network stays as lean as it was. Its gateway settings are the ones org-add.sh writes
 * (orgs/<name>/gateway.env): GATEWAY_ORG=enterprise with its own profile, registrar and wallet.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDir } from './env.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface AddedEnterprise {
  name: string;
  msp: string;
  /** Its connection profile, in which it is the `enterprise`. */
  profile: string;
  /** The variables of a gateway serving it (orgs/<name>/gateway.env). */
  gatewayEnv: Record<string, string>;
  /** Offboards it (scripts/org-remove.sh); safe to call twice. */
  remove(): void;
}

function script(name: string, ...args: string[]): void {
  try {
    execFileSync('bash', [path.join(repoRoot, 'scripts', name), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${name} ${args.join(' ')} failed: ${e.stderr?.split('\n').slice(-15).join('\n') ?? e.message}`);
  }
}

/** KEY=value lines; comments and blank lines left out. */
function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

/** Onboards one enterprise named `<letter><random>` (org names are never reused once offboarded). */
export function addEnterprise(letter: string): AddedEnterprise {
  const name = `${letter}${crypto.randomBytes(3).toString('hex')}`;
  const entry = path.join(runDir(), 'orgs', `${name}.env`);
  let removed = false;
  const remove = () => {
    if (removed || !fs.existsSync(entry) || /_STATUS=removed$/m.test(fs.readFileSync(entry, 'utf8'))) return;
    removed = true;
    script('org-remove.sh', name);
  };
  try {
    script('org-add.sh', name);
  } catch (e) {
    remove();
    throw e;
  }
  const gatewayEnv = readEnvFile(path.join(runDir(), 'orgs', name, 'gateway.env'));
  const msp = new RegExp(`^${name.toUpperCase()}_MSP=(.+)$`, 'm').exec(fs.readFileSync(entry, 'utf8'))![1]!;
  return { name, msp, profile: gatewayEnv.LEDGER_CONNECTION_PROFILE!, gatewayEnv, remove };
}
