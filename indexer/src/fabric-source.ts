/**
 * The indexer's only contact with Fabric: a gateway connection to one org's peer that streams full
 * blocks and reports the chain height. Kept small so the follower can be driven by another source.
 */

import { type ConnectionProfile, loadConnectionProfile, openConnection, profileSigningIdentity } from '@compliance-ledger/fabric-client';
import { common } from '@hyperledger/fabric-protos';

export interface ChainInfo {
  height: number;
  currentBlockHash: Buffer;
}

export interface BlockStream extends AsyncIterable<common.Block> {
  close(): void;
}

export interface BlockSource {
  /** Streams committed blocks from `startBlock` on, in order, without end. */
  blocks(startBlock: number): Promise<BlockStream>;
  chainInfo(): Promise<ChainInfo>;
  /** Timestamp (ms) of the first transaction of a block, for lag in seconds. */
  blockTime(number: number): Promise<number | null>;
  /** One block by number, from the peer's ledger (qscc GetBlockByNumber). */
  block(number: number): Promise<common.Block>;
  close(): void;
}

export interface FabricSourceOptions {
  profilePath: string;
  org: 'enterprise' | 'regulator';
  identity: 'client' | 'admin';
  /** Override the peer endpoint of the profile (host:port); useful behind a proxy. */
  peerEndpoint?: string | undefined;
  /**
   * First and largest wait of gRPC's own reconnect backoff, ms. gRPC's default grows to 120 s, so
   * a peer that was down for a minute would otherwise be reconnected to only tens of seconds
   * after it is back, whatever the follower's retry backoff says.
   */
  reconnectMinMs?: number | undefined;
  reconnectMaxMs?: number | undefined;
}

export function loadProfile(path: string): ConnectionProfile {
  return loadConnectionProfile(path);
}

export function openFabricSource(options: FabricSourceOptions): BlockSource {
  const profile = loadProfile(options.profilePath);
  const org = profile.organizations[options.org];
  const peer = options.peerEndpoint === undefined ? org.peer : { ...org.peer, endpoint: options.peerEndpoint };
  const { gateway, close } = openConnection(peer, profileSigningIdentity(profile, options.org, options.identity), {
    // Keepalive makes a silently dead peer surface as a stream error instead of an endless wait,
    // just above the peers' keepalive.minInterval (60 s), below which they drop the client.
    keepaliveMs: 65_000,
    channelOptions: {
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': 110 * 1024 * 1024,
      // How far the peer may stream ahead while the follower writes a batch: with HTTP/2's 64 KiB
      // the peer stopped after a block or two and each batch then waited for the next ones
      // (a tenth of a PGlite catch-up idle). Held only while the follower is behind.
      'grpc-node.flow_control_window': 32 * 1024 * 1024,
      ...(options.reconnectMinMs === undefined ? {} : { 'grpc.initial_reconnect_backoff_ms': options.reconnectMinMs }),
      ...(options.reconnectMaxMs === undefined ? {} : { 'grpc.max_reconnect_backoff_ms': options.reconnectMaxMs }),
    },
    deadlines: { evaluateMs: 10_000 },
  });
  const network = gateway.getNetwork(profile.channel);
  const qscc = network.getContract('qscc');

  return {
    async blocks(startBlock) {
      const iterable = await network.getBlockEvents({ startBlock: BigInt(startBlock) });
      return {
        [Symbol.asyncIterator]: () => iterable[Symbol.asyncIterator](),
        close: () => iterable.close(),
      };
    },
    async chainInfo() {
      const bytes = await qscc.evaluateTransaction('GetChainInfo', profile.channel);
      const info = common.BlockchainInfo.deserializeBinary(bytes);
      return { height: info.getHeight(), currentBlockHash: Buffer.from(info.getCurrentblockhash_asU8()) };
    },
    async block(number) {
      return common.Block.deserializeBinary(await qscc.evaluateTransaction('GetBlockByNumber', profile.channel, String(number)));
    },
    async blockTime(number) {
      const block = await this.block(number);
      const first = block.getData()?.getDataList_asU8()[0];
      if (!first) return null;
      const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(first).getPayload_asU8());
      const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array());
      const ts = ch.getTimestamp();
      return ts ? ts.getSeconds() * 1000 + Math.floor(ts.getNanos() / 1e6) : null;
    },
    close,
  };
}
