import { GATE_SNAPSHOT_FORMAT, type GateSnapshot, type GateSnapshotState } from '@compliance-ledger/schema';
import { common } from '@hyperledger/fabric-protos';

/** The part of a fabric-gateway `Network` the builder needs (a gateway connection of any reader). */
export interface LedgerReader {
  getName(): string;
  getContract(chaincode: string, contract?: string): { evaluateTransaction(name: string, ...args: string[]): Promise<Uint8Array> };
}

/**
 * Reads a gate snapshot for one permit. The height is read first, so the snapshot's state is at
 * least as new as the height it claims: a gate never believes it is fresher than it is.
 */
export async function buildGateSnapshot(network: LedgerReader, chaincode: string, permitNo: string, nowMs = Date.now()): Promise<GateSnapshot> {
  const info = await network.getContract('qscc').evaluateTransaction('GetChainInfo', network.getName());
  const blockHeight = Number(common.BlockchainInfo.deserializeBinary(info).getHeight());
  const raw = await network.getContract(chaincode, 'credential').evaluateTransaction('GateSnapshot', JSON.stringify({ permitNo }));
  const state = JSON.parse(Buffer.from(raw).toString('utf8')) as GateSnapshotState;
  return { format: GATE_SNAPSHOT_FORMAT, channel: network.getName(), blockHeight, takenAt: nowMs, ...state };
}

/** The channel's current height (online gates compare it with the snapshot's). */
export async function channelHeight(network: LedgerReader): Promise<number> {
  const info = await network.getContract('qscc').evaluateTransaction('GetChainInfo', network.getName());
  return Number(common.BlockchainInfo.deserializeBinary(info).getHeight());
}
