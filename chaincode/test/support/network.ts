/**
 * Connects tests to the real Fabric network described by the connection profile that
 * `scripts/network.sh up` writes. There is no mock network: when the profile is absent the
 * integration suites are skipped and scripts/test.sh says why.
 */

import { execFile, execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { connectToOrg, type FabricConnection, loadConnectionProfile as loadProfile } from '@compliance-ledger/fabric-client';
import { type ConnectionProfile, type OrganizationName, connectionProfilePath as profilePathFromEnv } from '@compliance-ledger/schema';

export function connectionProfilePath(): string {
  return profilePathFromEnv(process.env);
}

export function loadConnectionProfile(): ConnectionProfile {
  return loadProfile(connectionProfilePath());
}

/** Call in a suite's `before`: skips the suite, with the reason, when no network is available. */
export function requireNetwork(ctx: Mocha.Context): ConnectionProfile {
  const unavailable = process.env.LEDGER_NETWORK_UNAVAILABLE;
  if (unavailable) {
    ctx.test!.title += ` (skipped: ${unavailable})`;
    ctx.skip();
  }
  if (!fs.existsSync(connectionProfilePath())) {
    throw new Error(
      `no Fabric network: ${connectionProfilePath()} is missing. ` +
        `Run 'npm test' (which starts one) or 'bash scripts/network.sh up && bash scripts/deploy-chaincode.sh'.`,
    );
  }
  return loadConnectionProfile();
}

export type OrgConnection = FabricConnection;

/** A gateway connection to an org's own peer as one of its cryptogen identities. */
export function connectAs(profile: ConnectionProfile, org: OrganizationName, who: 'admin' | 'client' = 'client'): OrgConnection {
  return connectToOrg(profile, org, who);
}

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const execFileAsync = promisify(execFile);

/** The companion attributes of a CA-enrolled user (`ledger.department`, `ledger.workerId`). */
export interface UserAttributes {
  department?: string;
  workerId?: string;
}

/**
 * Registers (once) and enrols a user at the org's Fabric CA with a `ledger.role` attribute (and
 * `ledger.department` / `ledger.workerId` when given), and connects as that user. Uses
 * scripts/enroll-user.sh so tests and operators share one procedure. A name's attributes are
 * fixed when it is first registered: use a new name for other attributes.
 */
export function connectAsUser(
  profile: ConnectionProfile,
  org: OrganizationName,
  name: string,
  role: string,
  attrs: UserAttributes = {},
  /** The org's name for scripts/enroll-user.sh: an enterprise added with org-add.sh is `enterprise` in its own profile. */
  caOrg: string = org,
): OrgConnection {
  const dir = execFileSync('bash', enrolArgs(caOrg, name, role, attrs), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return connectToOrg(profile, org, { enrolledDir: dir });
}

/** connectAsUser without blocking: suites that enrol many people at several CAs enrol them side by side. */
export async function connectAsUserAsync(...[profile, org, name, role, attrs = {}, caOrg = org]: Parameters<typeof connectAsUser>): Promise<OrgConnection> {
  const { stdout } = await execFileAsync('bash', enrolArgs(caOrg, name, role, attrs), { encoding: 'utf8' });
  return connectToOrg(profile, org, { enrolledDir: stdout.trim() });
}

function enrolArgs(caOrg: string, name: string, role: string, attrs: UserAttributes): string[] {
  const extra: string[] = [];
  if (attrs.department !== undefined) extra.push('--department', attrs.department);
  if (attrs.workerId !== undefined) extra.push('--worker-id', attrs.workerId);
  return [path.join(repoRoot, 'scripts', 'enroll-user.sh'), caOrg, name, role, ...extra];
}

/** The run directory of scripts/network.sh: the one holding the crypto material the profile points into. */
export function runDirOf(profile: ConnectionProfile): string {
  return profile.orderer.tlsCaFile.split(`${path.sep}crypto${path.sep}`)[0]!;
}

/** Whether a process (a node the run directory's pid file names) still runs. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${crypto.randomBytes(4).toString('hex')}`;
}
