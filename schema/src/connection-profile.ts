import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';

/**
 * Where the network is and how to reach it, written by `scripts/network.sh up` to
 * `$LEDGER_RUN_DIR/connection-profile.json`. Services read it instead of hard-coding ports and
 * paths, so one file describes a deployment (native here, containers elsewhere).
 */
const endpoint = z.object({
  /** host:port to dial */
  endpoint: z.string().min(3),
  /** TLS server name to verify (the node's certificate is issued for this name) */
  hostAlias: z.string().min(1),
  tlsCaFile: z.string().min(1),
});

/** An orderer also has an operations endpoint: /healthz, and /metrics with its consensus state and ledger height. */
const ordererEndpoint = endpoint.extend({ operationsUrl: z.string().url() });

const identityFiles = z.object({
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
});

export const organizationProfileSchema = z.object({
  mspId: z.string().min(1),
  peer: endpoint,
  /** The org's administrator, created by cryptogen; used for network operations only. */
  admin: identityFiles,
  /** A plain client of the org, created by cryptogen (no role attributes). */
  client: identityFiles,
  /** The org's Fabric CA, which issues users' certificates with role attributes. */
  ca: z.object({ url: z.string().url(), tlsCaFile: z.string().min(1), caName: z.string().min(1) }).optional(),
});

export const connectionProfileSchema = z.object({
  channel: z.string().min(1),
  chaincode: z.string().min(1),
  /** `raft` (three etcdraft orderers) or `bft` (four SmartBFT orderers): LEDGER_ORDERING at creation. */
  ordering: z.enum(['raft', 'bft']),
  /** The first of `orderers`. */
  orderer: endpoint,
  /**
   * Every orderer of the channel. Clients of the peers' gateway need none of them (the gateway peer
   * sends to the orderers the channel config names, and passes over a stopped one); they are here
   * for tools that talk to orderers themselves, which should try the next one when one is down.
   */
  orderers: z.array(ordererEndpoint).min(1),
  organizations: z.object({
    enterprise: organizationProfileSchema,
    regulator: organizationProfileSchema,
  }),
});

export type OrganizationProfile = z.infer<typeof organizationProfileSchema>;
export type ConnectionProfile = z.infer<typeof connectionProfileSchema>;
export type OrganizationName = keyof ConnectionProfile['organizations'];

type Env = Record<string, string | undefined>;

/** The run directory of scripts/lib.sh: `LEDGER_RUN_DIR`, else `$XDG_STATE_HOME/compliance-ledger/run`. */
export function defaultLedgerRunDir(env: Env): string {
  return env.LEDGER_RUN_DIR || path.join(env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'), 'compliance-ledger', 'run');
}

/** `LEDGER_CONNECTION_PROFILE`, else the profile `network.sh up` writes into the run directory. */
export function connectionProfilePath(env: Env): string {
  return env.LEDGER_CONNECTION_PROFILE || path.join(defaultLedgerRunDir(env), 'connection-profile.json');
}
