/**
 * Flattens parsed blocks into the rows of the raw tables and the domain row operations, ready for
 * one multi-row INSERT per table. Pure, so the row shapes are tested without a database.
 */
import type { ParsedBlock, ParsedTransaction } from './block-parser.js';
import { DomainBatch, projectEvent, type Row } from './projection.js';

export interface BatchRows {
  blocks: Row[];
  transactions: Row[];
  events: Row[];
  writes: Row[];
  domain: DomainBatch;
  txCount: number;
  /** Event types with no projector, and events that are not envelopes (counted, not fatal). */
  unprojected: string[];
  /** Events whose text the mirror holds with U+FFFD in place of what PostgreSQL cannot store (projectEvent). */
  replacedText: { blockNumber: number; txId: string; type: string; path: string[] }[];
}

/** What a transaction wrote to a public key of its own chaincode (a permit event's permit is its write since event schema 2). */
function writtenBy(tx: ParsedTransaction, key: string): Uint8Array | undefined {
  const w = tx.writes.find((x) => x.key === key && x.collection === null && x.namespace === tx.chaincode && !x.isDelete);
  return w?.value ?? undefined;
}

export function batchRows(blocks: readonly ParsedBlock[]): BatchRows {
  const out: BatchRows = { blocks: [], transactions: [], events: [], writes: [], domain: new DomainBatch(), txCount: 0, unprojected: [], replacedText: [] };
  for (const block of blocks) {
    out.blocks.push({
      number: block.number,
      header_hash: block.headerHash,
      previous_hash: block.previousHash,
      data_hash: block.dataHash,
      tx_count: block.transactions.length,
      valid_tx_count: block.transactions.filter((t) => t.valid).length,
    });
    for (const tx of block.transactions) {
      out.txCount += 1;
      out.transactions.push({
        block_number: block.number,
        tx_index: tx.index,
        tx_id: tx.txId,
        header_type: tx.headerTypeName,
        validation_code: tx.validationCode,
        validation_code_name: tx.validationCodeName,
        valid: tx.valid,
        creator_msp: tx.creatorMsp,
        creator_id: tx.creatorId,
        creator_cert_sha256: tx.creatorCertSha256,
        timestamp: tx.timestamp,
        chaincode: tx.chaincode,
        function: tx.functionName,
        parse_error: tx.parseError,
      });
      tx.events.forEach((event, i) => {
        out.events.push({
          block_number: block.number,
          tx_index: tx.index,
          event_index: i,
          tx_id: tx.txId,
          valid: tx.valid,
          chaincode_id: event.chaincodeId,
          name: event.name,
          payload: event.payload,
        });
        // Invalid transactions changed nothing on the ledger, so they change no domain row.
        if (!tx.valid) return;
        const projected = projectEvent(event.payload, { blockNumber: block.number, txId: tx.txId, written: (key) => writtenBy(tx, key) });
        if (projected.outcome === 'projected') out.domain.add(projected.ops);
        else out.unprojected.push(projected.type ?? `${event.chaincodeId}:${event.name}`);
        if (projected.replacedText) out.replacedText.push({ blockNumber: block.number, txId: tx.txId, type: projected.type!, path: projected.replacedText });
      });
      tx.writes.forEach((w, i) => {
        out.writes.push({
          block_number: block.number,
          tx_index: tx.index,
          write_index: i,
          namespace: w.namespace,
          collection: w.collection,
          key: Buffer.from(w.key, w.collection === null ? 'utf8' : 'hex'),
          is_delete: w.isDelete,
          is_purge: w.isPurge,
          value: w.value,
          value_hash: w.valueHash,
        });
      });
    }
  }
  return out;
}
