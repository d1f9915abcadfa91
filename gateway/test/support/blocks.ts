/** Reads blocks from the regulator's own peer through qscc, as an auditor's bundle export does. */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { connectionProfileSchema } from '@compliance-ledger/schema';
import { decodeBlock, headerHash, toHex } from '@compliance-ledger/verifier';
import * as grpc from '@grpc/grpc-js';
import { connect, hash, signers } from '@hyperledger/fabric-gateway';
import { common } from '@hyperledger/fabric-protos';
import type { BlockSource } from '../../src/bundle-builder.js';
import { profilePath } from './env.js';

export function regulatorBlockSource(): BlockSource & { channel: string; chaincode: string; close(): void } {
  const profile = connectionProfileSchema.parse(JSON.parse(fs.readFileSync(profilePath(), 'utf8')));
  const o = profile.organizations.regulator;
  const client = new grpc.Client(o.peer.endpoint, grpc.credentials.createSsl(fs.readFileSync(o.peer.tlsCaFile)), {
    'grpc.ssl_target_name_override': o.peer.hostAlias,
  });
  const gateway = connect({
    client,
    identity: { mspId: o.mspId, credentials: fs.readFileSync(o.admin.certFile) },
    signer: signers.newPrivateKeySigner(crypto.createPrivateKey(fs.readFileSync(o.admin.keyFile))),
    hash: hash.sha256,
  });
  const qscc = gateway.getNetwork(profile.channel).getContract('qscc');
  return {
    channel: profile.channel,
    chaincode: profile.chaincode,
    async height() {
      return common.BlockchainInfo.deserializeBinary(await qscc.evaluateTransaction('GetChainInfo', profile.channel)).getHeight();
    },
    block: (n) => qscc.evaluateTransaction('GetBlockByNumber', profile.channel, String(n)),
    close() {
      gateway.close();
      client.close();
    },
  };
}

/** The header hash of block n as the regulator's own peer has it: what an auditor pins. */
export async function regulatorHeaderHash(n: number): Promise<string> {
  const source = regulatorBlockSource();
  try {
    return toHex(await headerHash(decodeBlock(await source.block(n)).header));
  } finally {
    source.close();
  }
}
