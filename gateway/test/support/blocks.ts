/** Reads blocks from the regulator's own peer through qscc, as an auditor's bundle export does. */
import { connectToOrg, loadConnectionProfile } from '@compliance-ledger/fabric-client';
import { decodeBlock, headerHash, toHex } from '@compliance-ledger/verifier';
import { common } from '@hyperledger/fabric-protos';
import type { BlockSource } from '../../src/bundle-builder.js';
import { profilePath } from './env.js';

export function regulatorBlockSource(): BlockSource & { channel: string; chaincode: string; close(): void } {
  const profile = loadConnectionProfile(profilePath());
  const { gateway, close } = connectToOrg(profile, 'regulator', 'admin');
  const qscc = gateway.getNetwork(profile.channel).getContract('qscc');
  return {
    channel: profile.channel,
    chaincode: profile.chaincode,
    async height() {
      return common.BlockchainInfo.deserializeBinary(await qscc.evaluateTransaction('GetChainInfo', profile.channel)).getHeight();
    },
    block: (n) => qscc.evaluateTransaction('GetBlockByNumber', profile.channel, String(n)),
    close,
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

/**
 * Waits until the regulator's peer holds block n: a commit status comes from the submitting org's
 * peer, and the regulator's peer (the auditor's) may commit the same block a moment later.
 */
export async function waitForRegulatorBlock(n: number, timeoutMs = 60_000): Promise<void> {
  const source = regulatorBlockSource();
  try {
    for (const until = Date.now() + timeoutMs; (await source.height()) <= n; ) {
      if (Date.now() > until) throw new Error(`the regulator's peer did not reach block ${n} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    source.close();
  }
}
