/**
 * A fabric-gateway connection: the gRPC channel to one org's peer, the identity and, for a
 * custodial identity, its signer, with a deadline on every call so a silent peer becomes an error
 * instead of an endless wait.
 */

import type * as grpc from '@grpc/grpc-js';
import { connect, type Gateway, hash } from '@hyperledger/fabric-gateway';
import { type ClientOptions, newGrpcClient, type PeerEndpoint } from './client.js';
import type { ConnectionProfile, OrganizationName } from './connection-profile.js';
import { enrolledIdentityFiles, gatewayIdentity, type SigningIdentity, signingIdentityFromFiles } from './identity.js';
import { newMessageSigner } from './signer.js';

/** Deadlines of the four kinds of call, ms; an unset one has none. */
export interface Deadlines {
  evaluateMs?: number;
  endorseMs?: number;
  submitMs?: number;
  commitStatusMs?: number;
}

export const DEFAULT_DEADLINES: Readonly<Required<Deadlines>> = Object.freeze({
  evaluateMs: 15_000,
  endorseMs: 30_000,
  submitMs: 15_000,
  commitStatusMs: 60_000,
});

const after = (ms: number | undefined) => (ms === undefined ? undefined : () => ({ deadline: Date.now() + ms }));

/**
 * A Gateway over an existing channel. Without a private key it is offline: it builds unsigned
 * proposals and transactions, and sends what the key's holder signed (digests are SHA-256, which
 * the holder signs as they are). With the key, the signer hashes and signs in one native call,
 * so fabric-gateway hands it the whole message (`hash.none`).
 */
export function connectGateway(
  client: grpc.Client,
  id: { mspId: string; certificate: Buffer; privateKey?: SigningIdentity['privateKey'] },
  deadlines: Deadlines = DEFAULT_DEADLINES,
): Gateway {
  const evaluateOptions = after(deadlines.evaluateMs);
  const endorseOptions = after(deadlines.endorseMs);
  const submitOptions = after(deadlines.submitMs);
  const commitStatusOptions = after(deadlines.commitStatusMs);
  return connect({
    client,
    identity: gatewayIdentity(id),
    ...(id.privateKey ? { signer: newMessageSigner(id.privateKey), hash: hash.none } : { hash: hash.sha256 }),
    ...(evaluateOptions ? { evaluateOptions } : {}),
    ...(endorseOptions ? { endorseOptions } : {}),
    ...(submitOptions ? { submitOptions } : {}),
    ...(commitStatusOptions ? { commitStatusOptions } : {}),
  });
}

/** A gateway with the gRPC channel it owns: close() closes both. */
export interface FabricConnection {
  gateway: Gateway;
  client: grpc.Client;
  mspId: string;
  close(): void;
}

export interface ConnectionOptions extends ClientOptions {
  deadlines?: Deadlines;
}

export function openConnection(peer: PeerEndpoint, id: SigningIdentity, options: ConnectionOptions = {}): FabricConnection {
  const client = newGrpcClient(peer, options);
  const gateway = connectGateway(client, id, options.deadlines ?? DEFAULT_DEADLINES);
  return {
    gateway,
    client,
    mspId: id.mspId,
    close() {
      gateway.close();
      client.close();
    },
  };
}

/**
 * Who to act as on an org's own peer: one of the profile's cryptogen identities (`client`, `admin`),
 * a folder an identity was enrolled into, or an identity already loaded.
 */
export type ProfileIdentity = 'client' | 'admin' | { enrolledDir: string } | SigningIdentity;

export function profileSigningIdentity(profile: ConnectionProfile, org: OrganizationName, who: ProfileIdentity): SigningIdentity {
  const o = profile.organizations[org];
  if (who === 'client' || who === 'admin') return signingIdentityFromFiles(o.mspId, o[who]);
  if ('enrolledDir' in who) return signingIdentityFromFiles(o.mspId, enrolledIdentityFiles(who.enrolledDir));
  return who;
}

/** A connection to the org's own peer as described by the profile. */
export function connectToOrg(
  profile: ConnectionProfile,
  org: OrganizationName,
  who: ProfileIdentity = 'client',
  options: ConnectionOptions = {},
): FabricConnection {
  return openConnection(profile.organizations[org].peer, profileSigningIdentity(profile, org, who), options);
}
