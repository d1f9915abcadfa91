/**
 * Audit of a stored mirror, on demand (`npm run audit -w indexer`): re-hashes every stored block
 * header, checks every link and transaction count, then anchors the stored chain to the peer's
 * ledger: the peer's block after the last stored one must point to the stored last header hash
 * (or, when the mirror is at the head, the peer's current block hash must equal it). Exit code 0
 * when everything matches, 2 on any mismatch.
 */

import { parseBlock } from './block-parser.js';
import { BlockStore } from './block-store.js';
import { ChainIntegrityError } from './chain-verifier.js';
import { config } from './config.js';
import { migrate, openDb } from './db.js';
import { type BlockSource, openFabricSource } from './fabric-source.js';
import { createLogger } from './logger.js';

export interface AuditResult {
  storedBlocks: number;
  anchoredTo: 'next-block' | 'chain-head' | 'nothing-stored';
}

/** Throws ChainIntegrityError on the first mismatch. */
export async function auditMirror(store: BlockStore, source: BlockSource): Promise<AuditResult> {
  const storedBlocks = await store.verifyStoredChain();
  const cp = await store.checkpoint();
  if (!cp.last) return { storedBlocks, anchoredTo: 'nothing-stored' };
  const info = await source.chainInfo();
  if (info.height - 1 === cp.lastBlock) {
    if (!info.currentBlockHash.equals(cp.last.headerHash)) {
      throw new ChainIntegrityError(
        `the peer's head block ${cp.lastBlock} hashes to ${info.currentBlockHash.toString('hex')}, the mirror holds ${cp.last.headerHash.toString('hex')}`,
      );
    }
    return { storedBlocks, anchoredTo: 'chain-head' };
  }
  if (info.height - 1 < cp.lastBlock) throw new ChainIntegrityError(`the mirror holds block ${cp.lastBlock} but the peer's height is ${info.height}`);
  const next = parseBlock(await source.block(cp.lastBlock + 1));
  if (!next.previousHash.equals(cp.last.headerHash)) {
    throw new ChainIntegrityError(
      `the peer's block ${next.number} points to ${next.previousHash.toString('hex')}, the mirror's block ` +
        `${cp.lastBlock} hashes to ${cp.last.headerHash.toString('hex')}`,
    );
  }
  return { storedBlocks, anchoredTo: 'next-block' };
}

async function main(): Promise<number> {
  const cfg = config();
  const log = createLogger(cfg.LOG_LEVEL);
  const db = openDb({ databaseUrl: cfg.DATABASE_URL, pgliteDir: cfg.PGLITE_DIR, poolMax: 2 });
  const source = openFabricSource({
    profilePath: cfg.LEDGER_CONNECTION_PROFILE,
    org: cfg.INDEXER_ORG,
    identity: cfg.INDEXER_IDENTITY,
    peerEndpoint: cfg.INDEXER_PEER_ENDPOINT,
  });
  try {
    await migrate(db);
    const result = await auditMirror(new BlockStore(db), source);
    log.info(result, 'mirror verified');
    return 0;
  } catch (err) {
    if (err instanceof ChainIntegrityError) {
      log.fatal({ err }, `MIRROR AUDIT FAILED: ${err.message}`);
      return 2;
    }
    throw err;
  } finally {
    source.close();
    await db.destroy();
  }
}

// Run only as a program, not when imported by tests.
if (process.argv[1] && /audit\.(ts|js)$/.test(process.argv[1])) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
