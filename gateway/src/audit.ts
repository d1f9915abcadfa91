/**
 * Ledger facts for auditors, read from the caller's own peer through qscc (not from the mirror):
 * the block holding a transaction, its validation code, its creator's MSP and the MSPs of its
 * endorsers. And the evidence check: re-read the content from IPFS, recompute sha256 and the
 * kubo-compatible CID, compare them with what the ledger recorded.
 */
import * as crypto from 'node:crypto';
import { common, msp, peer } from '@hyperledger/fabric-protos';
import type { EvidenceRecord } from '@compliance-ledger/schema';
import type { ContentStore } from './ipfs.js';
import { computeCid } from './ipfs.js';
import type { LedgerClient } from './ledger.js';
import type { WalletIdentity } from './wallet.js';

const VALIDATION_NAMES = Object.fromEntries(Object.entries(peer.TxValidationCode).map(([k, v]) => [v as number, k]));

export interface LedgerFacts {
  transactionId: string;
  blockNumber: number;
  validationCode: number;
  validationCodeName: string;
  valid: boolean;
  timestamp: string | null;
  creatorMsp: string;
  endorsingOrgs: string[];
  chaincode: string | null;
}

export async function ledgerFacts(ledger: LedgerClient, id: WalletIdentity, txId: string): Promise<LedgerFacts> {
  const [txBytes, blockBytes] = await Promise.all([ledger.qscc(id, 'GetTransactionByID', txId), ledger.qscc(id, 'GetBlockByTxID', txId)]);
  const processed = peer.ProcessedTransaction.deserializeBinary(txBytes);
  const envelope = processed.getTransactionenvelope()!;
  const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
  const header = payload.getHeader()!;
  const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
  const signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
  const creator = msp.SerializedIdentity.deserializeBinary(signatureHeader.getCreator_asU8());
  const endorsers = new Set<string>();
  let chaincode: string | null = null;
  if (channelHeader.getType() === common.HeaderType.ENDORSER_TRANSACTION) {
    const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
    for (const action of tx.getActionsList()) {
      const cap = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
      for (const e of cap.getAction()?.getEndorsementsList() ?? []) endorsers.add(msp.SerializedIdentity.deserializeBinary(e.getEndorser_asU8()).getMspid());
      const prp = peer.ProposalResponsePayload.deserializeBinary(cap.getAction()!.getProposalResponsePayload_asU8());
      const ccAction = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
      chaincode = ccAction.getChaincodeId()?.getName() ?? null;
    }
  }
  const block = common.Block.deserializeBinary(blockBytes);
  const ts = channelHeader.getTimestamp();
  const code = processed.getValidationcode();
  return {
    transactionId: channelHeader.getTxId(),
    blockNumber: block.getHeader()!.getNumber(),
    validationCode: code,
    validationCodeName: VALIDATION_NAMES[code] ?? String(code),
    valid: code === peer.TxValidationCode.VALID,
    timestamp: ts ? new Date(ts.getSeconds() * 1000 + Math.floor(ts.getNanos() / 1e6)).toISOString() : null,
    creatorMsp: creator.getMspid(),
    endorsingOrgs: [...endorsers].sort(),
    chaincode,
  };
}

export interface EvidenceCheck {
  step: string;
  cid: string;
  recordedSha256: string;
  recordedSizeBytes: number;
  txId: string;
  readable: boolean;
  sha256: string | null;
  sizeBytes: number | null;
  recomputedCid: string | null;
  sha256Matches: boolean;
  cidMatches: boolean;
  ok: boolean;
  error?: string;
}

export async function checkEvidence(content: ContentStore, e: EvidenceRecord, timeoutMs: number): Promise<EvidenceCheck> {
  const base = { step: e.step, cid: e.cid, recordedSha256: e.sha256, recordedSizeBytes: e.sizeBytes, txId: e.txId };
  try {
    const h = crypto.createHash('sha256');
    let size = 0;
    const chunks: Uint8Array[] = [];
    // Hash while reading and feed the same bytes to the CID computation.
    async function* tee(): AsyncIterable<Uint8Array> {
      for await (const c of content.cat(e.cid, timeoutMs)) {
        h.update(c);
        size += c.length;
        yield c;
      }
    }
    void chunks;
    const cid = await computeCid(tee());
    const sha256 = h.digest('hex');
    const sha256Matches = sha256 === e.sha256 && size === e.sizeBytes;
    const cidMatches = cid === e.cid;
    return { ...base, readable: true, sha256, sizeBytes: size, recomputedCid: cid, sha256Matches, cidMatches, ok: sha256Matches && cidMatches };
  } catch (err) {
    return { ...base, readable: false, sha256: null, sizeBytes: null, recomputedCid: null, sha256Matches: false, cidMatches: false, ok: false, error: (err as Error).message };
  }
}
