/**
 * What auditors get from the gateway, read from the caller's own peer through qscc (not from the
 * mirror): proof bundles (format: verifier/README.md) and the verifier's results on them. The
 * audit endpoints build a bundle for the transaction or permit, pin the checkpoint to the hash the
 * caller's peer reports as its current block (qscc GetChainInfo, the same call that gives the
 * height the bundle ends at) and run `verifyBundle` from @compliance-ledger/verifier on it: the
 * signatures, certificate chains, endorsement policy and validation code they report are the
 * verifier's checks, not a second implementation. And the evidence check: re-read the content from
 * IPFS, recompute sha256 and the kubo-compatible CID, compare them with what the ledger recorded.
 */
import * as crypto from 'node:crypto';
import { validationCodeName } from '@compliance-ledger/fabric-client';
import type { EvidenceRecord } from '@compliance-ledger/schema';
import { type BundleSubject, type Check, type Manifest, type Report, toHex, verifyBundle } from '@compliance-ledger/verifier';
import { common } from '@hyperledger/fabric-protos';
import { z } from 'zod';
import { type BlockSource, type BlockSummary, BundleSubjectNotFound, buildBundle, bundleFiles, collectBundle } from './bundle-builder.js';
import { ApiError } from './errors.js';
import { type EvidenceContent, EvidenceSpool, type SpooledEvidence } from './evidence-spool.js';
import type { ContentStore } from './ipfs.js';
import { computeCid } from './ipfs.js';
import type { LedgerClient } from './ledger.js';
import { type StreamedTar, streamedTar } from './tar-stream.js';
import { blockNumberOf, decodeProcessedTransaction } from './transaction.js';
import type { WalletIdentity } from './wallet.js';

export interface LedgerFacts {
  transactionId: string;
  blockNumber: number;
  validationCode: number;
  validationCodeName: string;
  valid: boolean;
  timestamp: string | null;
  chaincode: string | null;
}

export async function ledgerFacts(ledger: LedgerClient, id: WalletIdentity, txId: string): Promise<LedgerFacts> {
  const [txBytes, blockBytes] = await Promise.all([ledger.qscc(id, 'GetTransactionByID', txId), ledger.qscc(id, 'GetBlockByTxID', txId)]);
  const { result: _result, envelope: _envelope, creatorMsp: _creator, endorsingOrgs: _endorsers, ...tx } = decodeProcessedTransaction(txBytes);
  return { ...tx, blockNumber: blockNumberOf(blockBytes), validationCodeName: validationCodeName(tx.validationCode) };
}

/**
 * Blocks are immutable once committed, so the bytes a peer returned for a block number are kept
 * (per org, since each org reads its own peer) up to this many bytes, oldest first out: an audit
 * request then reads from its peer only the blocks committed since the previous one.
 */
const BLOCK_CACHE_BYTES = 256 * 1024 * 1024;
const blockCache = new Map<string, Uint8Array>();
let blockCacheBytes = 0;

function remember(key: string, bytes: Uint8Array): void {
  if (bytes.length > BLOCK_CACHE_BYTES || blockCache.has(key)) return;
  blockCache.set(key, bytes);
  blockCacheBytes += bytes.length;
  for (const [k, v] of blockCache) {
    if (blockCacheBytes <= BLOCK_CACHE_BYTES) break;
    blockCache.delete(k);
    blockCacheBytes -= v.length;
  }
}

/**
 * What bundle selection keeps of each block (bundle-builder's BlockSummary), per org and chaincode
 * like the bytes above, so that a bundle decodes in full only the blocks it carries. Not bounded:
 * a few hundred bytes a transaction (locating a subject's blocks through the mirror is the next step).
 */
const summaryCaches = new Map<string, Map<number, BlockSummary>>();

export interface CallerChain {
  source: BlockSource;
  /** Selection summaries of this org's blocks, kept across requests. */
  summaries: Map<number, BlockSummary>;
  /** The caller's peer's newest block and its header hash (GetChainInfo), which the bundle must end at. */
  checkpoint: { number: number; headerHash: string };
}

/** The caller's own peer as a block source, with the height and current hash of one GetChainInfo call. */
export async function callerChain(ledger: LedgerClient, id: WalletIdentity): Promise<CallerChain> {
  const info = common.BlockchainInfo.deserializeBinary(await ledger.qscc(id, 'GetChainInfo'));
  const height = info.getHeight();
  const source: BlockSource = {
    height: async () => height,
    block: async (n) => {
      const key = `${id.org}:${n}`;
      const cached = blockCache.get(key);
      if (cached) return cached;
      const bytes = await ledger.qscc(id, 'GetBlockByNumber', String(n));
      remember(key, bytes);
      return bytes;
    },
  };
  const cacheKey = `${id.org}:${ledger.chaincode}`;
  let summaries = summaryCaches.get(cacheKey);
  if (!summaries) {
    summaries = new Map();
    summaryCaches.set(cacheKey, summaries);
  }
  return { source, summaries, checkpoint: { number: height - 1, headerHash: toHex(info.getCurrentblockhash_asU8()) } };
}

export interface VerifiedBundle {
  archive: Uint8Array;
  manifest: Manifest;
  report: Report;
  checkpoint: CallerChain['checkpoint'];
}

function notFound(e: unknown): unknown {
  return e instanceof BundleSubjectNotFound ? new ApiError('NOT_FOUND', e.message) : e;
}

/** Builds the subject's bundle from the caller's peer, ending at the block its GetChainInfo names; no evidence files. */
export async function buildCallerBundle(ledger: LedgerClient, id: WalletIdentity, subject: BundleSubject): Promise<Omit<VerifiedBundle, 'report'>> {
  const chain = await callerChain(ledger, id);
  try {
    const built = await buildBundle({ source: chain.source, summaries: chain.summaries, channel: ledger.channel, chaincode: ledger.chaincode, subject });
    return { ...built, checkpoint: chain.checkpoint };
  } catch (e) {
    throw notFound(e);
  }
}

/** A bundle download: its manifest and checkpoint now, its bytes when read. */
export interface StreamedBundle extends StreamedTar {
  manifest: Manifest;
  checkpoint: CallerChain['checkpoint'];
}

/**
 * The subject's bundle from the caller's peer with the evidence files the content store gives,
 * each spooled to disk (a permit's trail may carry gigabytes of video) and sent from there: the
 * gateway holds the ledger's part of the bundle in memory, never its evidence.
 */
export async function streamCallerBundle(
  ledger: LedgerClient,
  id: WalletIdentity,
  subject: BundleSubject,
  evidence: { spoolDir: string; content: EvidenceContent; firstByteMs: number },
): Promise<StreamedBundle> {
  const chain = await callerChain(ledger, id);
  const spool = await EvidenceSpool.open(evidence.spoolDir, evidence.content, evidence.firstByteMs);
  const discard = () => spool.discard();
  try {
    const parts = await collectBundle<SpooledEvidence>({
      source: chain.source,
      summaries: chain.summaries,
      channel: ledger.channel,
      chaincode: ledger.chaincode,
      subject,
      evidence: (cid) => spool.get(cid),
    });
    const files = bundleFiles(parts);
    const tar = streamedTar(
      [...files.ledger.map(([path, bytes]) => ({ path, bytes })), ...files.evidence.map(([path, spooled]) => ({ path, spooled }))],
      discard,
    );
    return { manifest: parts.manifest, checkpoint: chain.checkpoint, ...tar };
  } catch (e) {
    await discard();
    throw notFound(e);
  }
}

/** The subject's bundle from the caller's peer, verified against that peer's current block hash. */
export async function callerBundle(ledger: LedgerClient, id: WalletIdentity, subject: BundleSubject): Promise<VerifiedBundle> {
  const built = await buildCallerBundle(ledger, id, subject);
  return { ...built, report: await verifyBundle(built.archive, { blockHash: built.checkpoint.headerHash }) };
}

export const checkSchema = z.object({
  id: z.string().describe('the verifier check id, e.g. tx.<txId>.policy or block.12.ordererSignature (verifier/README.md)'),
  status: z.enum(['pass', 'fail', 'skipped']),
  detail: z.string().describe('the reason, naming signers, policies and hashes'),
});

export const transactionVerificationSchema = z.object({
  verified: z.boolean().describe("true only when every check below passed and the bundle's hash chain ends at the caller's peer's current block"),
  validation: checkSchema.nullable().describe("the block's transaction filter: VALID or the invalid code"),
  creator: checkSchema
    .nullable()
    .describe("the creator's certificate chain to its MSP root, validity at the transaction time, and its signature over the payload"),
  endorsements: z.array(checkSchema).describe("each endorser's certificate chain and signature over the proposal response"),
  policy: checkSchema
    .nullable()
    .describe(
      'the endorsement policy of the chaincode definition (and of each written private data collection), evaluated over the endorsements that verified',
    ),
  other: z.array(checkSchema).describe('further checks of this transaction (payload, type, config in force), normally empty'),
  chain: z
    .array(checkSchema)
    .describe("the bundle's hash chain, the trusted checkpoint, and the header, data hash and orderer signature of the transaction's block"),
});

export const bundleVerificationSchema = z.object({
  ok: z.boolean().describe('every check of the bundle passed'),
  checkpoint: z
    .object({ number: z.number().int(), headerHash: z.string() })
    .describe("the caller's peer's newest block (qscc GetChainInfo) the bundle was verified against"),
  signaturesVerified: z.number().int(),
  checks: z.number().int().describe('how many checks ran'),
  failures: z.array(checkSchema).describe('every failed check'),
});

export type TransactionVerification = z.infer<typeof transactionVerificationSchema>;

/** The verifier's checks about one transaction, grouped for the audit responses. */
export function transactionVerification(report: Report, txId: string, blockNumber: number | null): TransactionVerification {
  const prefix = `tx.${txId}.`;
  const find = (id: string) => report.checks.find((c) => c.id === `${prefix}${id}`) ?? null;
  const endorsements = report.checks.filter((c) => c.id.startsWith(`${prefix}endorsement.`));
  const named = new Set(['validation', 'creator', 'policy'].map((n) => `${prefix}${n}`));
  const other = report.checks.filter(
    (c) => (c.id.startsWith(prefix) || c.id === `tx.${txId}`) && !named.has(c.id) && !c.id.startsWith(`${prefix}endorsement.`),
  );
  const chain = report.checks.filter(
    (c) => c.id === 'chain.headers' || c.id === 'chain.trust' || (blockNumber !== null && c.id.startsWith(`block.${blockNumber}.`)),
  );
  const validation = find('validation');
  const creator = find('creator');
  const policy = find('policy');
  const all: (Check | null)[] = [validation, creator, policy, ...endorsements, ...other, ...chain];
  const verified =
    validation !== null &&
    creator !== null &&
    policy !== null &&
    endorsements.length > 0 &&
    chain.some((c) => c.id === 'chain.trust') &&
    all.every((c) => c?.status === 'pass');
  return { verified, validation, creator, endorsements, policy, other, chain };
}

export function bundleVerification(v: VerifiedBundle): z.infer<typeof bundleVerificationSchema> {
  return {
    ok: v.report.ok,
    checkpoint: v.checkpoint,
    signaturesVerified: v.report.signaturesVerified,
    checks: v.report.checks.length,
    failures: v.report.checks.filter((c) => c.status === 'fail'),
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
    // Hash while reading and feed the same bytes to the CID computation.
    async function* tee(): AsyncIterable<Uint8Array> {
      for await (const c of content.cat(e.cid, timeoutMs)) {
        h.update(c);
        size += c.length;
        yield c;
      }
    }
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
