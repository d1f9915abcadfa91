/**
 * The gRPC channel to a peer's gateway service, over TLS checked against the peer's TLS CA: the one
 * place that turns a profile's endpoint into a connection.
 */
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';

export interface PeerEndpoint {
  /** host:port to dial. */
  endpoint: string;
  /** TLS server name to verify when it differs from the endpoint's host (the peer's certificate is issued for it). */
  hostAlias?: string | undefined;
  /** PEM file of the peer's TLS CA. */
  tlsCaFile: string;
}

export interface ClientOptions {
  /**
   * Keepalive ping interval. Fabric peers drop a client that pings more often than their
   * keepalive.minInterval (60 s by default), so stay above it.
   */
  keepaliveMs?: number;
  /** Further grpc-js channel options (message size, reconnect backoff …); they win over the defaults. */
  channelOptions?: grpc.ChannelOptions;
}

const DEFAULT_KEEPALIVE_MS = 120_000;

export function newGrpcClient(peer: PeerEndpoint, options: ClientOptions = {}): grpc.Client {
  return new grpc.Client(peer.endpoint, grpc.credentials.createSsl(fs.readFileSync(peer.tlsCaFile)), {
    ...(peer.hostAlias ? { 'grpc.ssl_target_name_override': peer.hostAlias } : {}),
    'grpc.keepalive_time_ms': options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS,
    ...options.channelOptions,
  });
}

/** Whether the peer accepts a connection before the deadline. */
export function waitForPeer(client: grpc.Client, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    client.waitForReady(Date.now() + timeoutMs, (err) => resolve(!err));
  });
}
