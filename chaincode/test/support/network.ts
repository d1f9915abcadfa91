/**
 * Connects tests to the real Fabric network described by the connection profile that
 * `scripts/network.sh up` writes. There is no mock network: when the profile is absent the
 * integration suites are skipped and scripts/test.sh says why.
 */

import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ConnectionProfile, connectionProfileSchema, type OrganizationName, connectionProfilePath as profilePathFromEnv } from '@compliance-ledger/schema';
import * as grpc from '@grpc/grpc-js';
import { connect, type Gateway, hash, signers } from '@hyperledger/fabric-gateway';

export function connectionProfilePath(): string {
  return profilePathFromEnv(process.env);
}

export function loadConnectionProfile(): ConnectionProfile {
  return connectionProfileSchema.parse(JSON.parse(fs.readFileSync(connectionProfilePath(), 'utf8')));
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
      `no Fabric network: ${connectionProfilePath()} is missing. Run 'npm test' (which starts one) or 'bash scripts/network.sh up && bash scripts/deploy-chaincode.sh'.`,
    );
  }
  return loadConnectionProfile();
}

export interface OrgConnection {
  gateway: Gateway;
  client: grpc.Client;
  mspId: string;
  close(): void;
}

/** A gateway connection to an org's own peer as one of its cryptogen identities. */
export function connectAs(profile: ConnectionProfile, org: OrganizationName, who: 'admin' | 'client' = 'client'): OrgConnection {
  return connectWithFiles(profile, org, profile.organizations[org][who]);
}

function connectWithFiles(profile: ConnectionProfile, org: OrganizationName, ids: { certFile: string; keyFile: string }): OrgConnection {
  const o = profile.organizations[org];
  const client = new grpc.Client(o.peer.endpoint, grpc.credentials.createSsl(fs.readFileSync(o.peer.tlsCaFile)), {
    'grpc.ssl_target_name_override': o.peer.hostAlias,
  });
  const gateway = connect({
    client,
    identity: { mspId: o.mspId, credentials: fs.readFileSync(ids.certFile) },
    signer: signers.newPrivateKeySigner(crypto.createPrivateKey(fs.readFileSync(ids.keyFile))),
    hash: hash.sha256,
    evaluateOptions: () => ({ deadline: Date.now() + 15_000 }),
    endorseOptions: () => ({ deadline: Date.now() + 30_000 }),
    submitOptions: () => ({ deadline: Date.now() + 15_000 }),
    commitStatusOptions: () => ({ deadline: Date.now() + 60_000 }),
  });
  return {
    gateway,
    client,
    mspId: o.mspId,
    close() {
      gateway.close();
      client.close();
    },
  };
}

const repoRoot = path.resolve(__dirname, '..', '..', '..');

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
  const extra: string[] = [];
  if (attrs.department !== undefined) extra.push('--department', attrs.department);
  if (attrs.workerId !== undefined) extra.push('--worker-id', attrs.workerId);
  const dir = execFileSync('bash', [path.join(repoRoot, 'scripts', 'enroll-user.sh'), caOrg, name, role, ...extra], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const keystore = path.join(dir, 'msp', 'keystore');
  const keyFile = path.join(keystore, fs.readdirSync(keystore).find((f) => f.endsWith('_sk'))!);
  return connectWithFiles(profile, org, { certFile: path.join(dir, 'msp', 'signcerts', 'cert.pem'), keyFile });
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${crypto.randomBytes(4).toString('hex')}`;
}
