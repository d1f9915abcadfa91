/**
 * Ledger facts for auditors, read from the caller's own peer through qscc (not from the mirror):
 * the block holding a transaction, its validation code, its creator's MSP and the MSPs of its
 * endorsers. And the evidence check: re-read the content from IPFS, recompute sha256 and the
 * kubo-compatible CID, compare them with what the ledger recorded.
 */
import * as crypto from 'node:crypto';
import type { EvidenceRecord } from '@compliance-ledger/schema';
import type { ContentStore } from './ipfs.js';
import { computeCid } from './ipfs.js';
import type { LedgerClient } from './ledger.js';
import { blockNumberOf, decodeProcessedTransaction, validationCodeName } from './transaction.js';
import type { WalletIdentity } from './wallet.js';

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
  const { result: _result, ...tx } = decodeProcessedTransaction(txBytes);
  return { ...tx, blockNumber: blockNumberOf(blockBytes), validationCodeName: validationCodeName(tx.validationCode) };
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
    return {
      ...base,
      readable: false,
      sha256: null,
      sizeBytes: null,
      recomputedCid: null,
      sha256Matches: false,
      cidMatches: false,
      ok: false,
      error: (err as Error).message,
    };
  }
}
