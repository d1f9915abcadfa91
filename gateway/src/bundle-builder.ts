/**
 * Builds proof bundles (format: verifier/README.md) from a peer's blocks: the subject's
 * transactions in their full blocks, every config block, the chaincode definition transactions,
 * the registrations of the devices whose alarms are included, the header chain from block 0 to the
 * newest block (the checkpoint), the records as written, and the evidence files.
 * It reads blocks through a BlockSource, so the same code serves the HTTP route and the CLI.
 */
import {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  type BundleSubject,
  type DecodedBlock,
  decodeBlock,
  HEADER_TYPE,
  type HeaderEntry,
  headerHash,
  type Manifest,
  type ManifestRecord,
  toHex,
  type Write,
  writeTar,
} from '@compliance-ledger/verifier';

export interface BlockSource {
  /** Number of blocks on the channel. */
  height(): Promise<number>;
  block(n: number): Promise<Uint8Array>;
}

/**
 * What a bundle is asked to build. `E` is how an evidence file is held: its bytes for a bundle, a
 * file on disk for an archive (which may carry gigabytes of video).
 */
export interface BundleRequest<E = Uint8Array> {
  source: BlockSource;
  channel: string;
  chaincode: string;
  subject: BundleSubject;
  /** The evidence file, or null when the content store does not have it (the bundle then carries the CID only). */
  evidence?: (cid: string) => Promise<E | null>;
  now?: () => Date;
  /**
   * Blocks already decoded by an earlier bundle from the same source (an archive builds many), filled
   * with the blocks whose records a bundle reads.
   */
  decoded?: Map<number, DecodedBlock>;
  /** The bytes of blocks an earlier bundle from the same source carried, filled with the blocks this one carries. */
  blockBytes?: Map<number, Uint8Array>;
  /**
   * What selection needs of each block, kept from earlier bundles of the same source and chaincode
   * (blocks never change): a bundle then decodes in full only the blocks it carries and the blocks
   * committed since. A few hundred bytes a transaction, where a decoded block keeps every envelope.
   */
  summaries?: Map<number, BlockSummary>;
}

/** One chaincode write as selection sees it: no values, only what they refer to. */
interface WriteSummary {
  /** The permit numbers the write belongs to: composite-key parts, permitNo, suspendedPermitNos, permitNos. */
  permits: string[];
  /** The device a device registration registers. */
  registersDevice: string | null;
}

interface TransactionSummary {
  index: number;
  txId: string;
  /** A valid endorser transaction. */
  valid: boolean;
  chaincode: string | null;
  timestampMs: number;
  /** The chaincode's writes that are not deletes. */
  writes: WriteSummary[];
  /** Whether it (validly) commits a definition of the chaincode. */
  definesChaincode: boolean;
}

export interface BlockSummary {
  header: DecodedBlock['header'];
  config: boolean;
  transactions: TransactionSummary[];
}

function summarize(block: DecodedBlock, chaincode: string): BlockSummary {
  const definition = `namespaces/fields/${chaincode}/ValidationInfo`;
  return {
    header: block.header,
    config: block.transactions.some((t) => t.headerType === HEADER_TYPE.CONFIG),
    transactions: block.transactions.map((tx) => {
      const valid = tx.headerType === HEADER_TYPE.ENDORSER_TRANSACTION && block.validationCodes[tx.index] === 0;
      return {
        index: tx.index,
        txId: tx.txId,
        valid,
        chaincode: tx.chaincode,
        timestampMs: tx.timestampMs,
        writes: tx.writes
          .filter((w) => isChaincodeWrite(w, chaincode))
          .map((w) => {
            const value = jsonOf(w.value);
            return { permits: permitsOf(w.key, value), registersDevice: value?.docType === 'device' ? String(value.deviceId) : null };
          }),
        definesChaincode: valid && tx.writes.some((w) => w.namespace === '_lifecycle' && w.key === definition),
      };
    }),
  };
}

export class BundleSubjectNotFound extends Error {
  override readonly name = 'BundleSubjectNotFound';
}

function jsonOf(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A write of the chaincode's own state that sets a value (the writes a bundle's records come from). */
function isChaincodeWrite(w: Write, chaincode: string): boolean {
  return w.namespace === chaincode && !w.isDelete;
}

/** The permits a record refers to: its own permit number, the permits an alarm suspended, a list of permits. */
export function permitsReferredBy(value: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (typeof value.permitNo === 'string') out.push(value.permitNo);
  for (const field of ['suspendedPermitNos', 'permitNos']) {
    const list = value[field];
    if (Array.isArray(list)) out.push(...list.filter((x): x is string => typeof x === 'string'));
  }
  return out;
}

/** The permits whose trail a write belongs to: those its key names, and those the record refers to. */
function permitsOf(key: string, value: Record<string, unknown> | null): string[] {
  return [...new Set([...key.split('\u0000').filter(Boolean), ...(value ? permitsReferredBy(value) : [])])];
}

/** A bundle's parts before they are written: an archive stores blocks and evidence once for all its bundles. */
export interface BundleParts<E = Uint8Array> {
  manifest: Manifest;
  /** The lowest block whose header the bundle's chain starts at (its headers run from it to the checkpoint). */
  lowestHeader: number;
  /** The header chain from lowestHeader to the checkpoint. */
  headers(): HeaderEntry[];
  /** The carried blocks' bytes, by number. */
  blocks: Map<number, Uint8Array>;
  evidence: Map<string, E>;
}

export async function buildBundle(req: BundleRequest): Promise<{ archive: Uint8Array; manifest: Manifest }> {
  const parts = await collectBundle(req);
  const files = bundleFiles(parts);
  return { archive: writeTar([...files.ledger, ...files.evidence]), manifest: parts.manifest };
}

/** A bundle's files in the order its tar holds them: the ledger's part (manifest first), then the evidence. */
export function bundleFiles<E>(parts: BundleParts<E>): { ledger: [string, Uint8Array][]; evidence: [string, E][] } {
  const enc = new TextEncoder();
  return {
    ledger: [
      ['manifest.json', enc.encode(`${JSON.stringify(parts.manifest, null, 2)}\n`)],
      ['headers.json', enc.encode(`${JSON.stringify(parts.headers())}\n`)],
      ...[...parts.blocks].map(([n, bytes]): [string, Uint8Array] => [`blocks/${n}.block`, bytes]),
    ],
    evidence: [...parts.evidence].map(([cid, file]): [string, E] => [`evidence/${cid}`, file]),
  };
}

export async function collectBundle<E = Uint8Array>(req: BundleRequest<E>): Promise<BundleParts<E>> {
  const height = await req.source.height();
  const bytesOf = async (n: number): Promise<Uint8Array> => req.blockBytes?.get(n) ?? req.decoded?.get(n)?.bytes ?? (await req.source.block(n));
  // Without a cache shared across bundles, the blocks this bundle reads records from are decoded once each.
  const decoded = req.decoded ?? new Map<number, DecodedBlock>();
  const full = async (n: number): Promise<DecodedBlock> => {
    let block = decoded.get(n);
    if (!block) {
      const bytes = await bytesOf(n);
      req.blockBytes?.set(n, bytes);
      block = decodeBlock(bytes);
      decoded.set(n, block);
    }
    return block;
  };
  const summaries: BlockSummary[] = [];
  for (let n = 0; n < height; n++) {
    let summary = req.summaries?.get(n);
    if (!summary) {
      // Selection needs only the summary: the decoded block is kept (in req.decoded) only when carried.
      summary = summarize(req.decoded?.get(n) ?? decodeBlock(await req.source.block(n)), req.chaincode);
      req.summaries?.set(n, summary);
    }
    summaries.push(summary);
  }
  const all: { n: number; tx: TransactionSummary }[] = summaries.flatMap((b, n) => b.transactions.map((tx) => ({ n, tx })));
  const ours = (tx: TransactionSummary) => tx.valid && tx.chaincode === req.chaincode;

  let selected: typeof all;
  const s = req.subject;
  if (s.kind === 'transaction') {
    // The id's first occurrence is the transaction; later copies of its envelope are DUPLICATE_TXID and changed nothing.
    const first = all.find((l) => l.tx.txId === s.txId);
    selected = first ? [first] : [];
  } else if (s.kind === 'range') {
    const from = Date.parse(s.from);
    const to = Date.parse(s.to);
    selected = all.filter((l) => ours(l.tx) && l.tx.timestampMs >= from && l.tx.timestampMs < to);
  } else selected = all.filter((l) => ours(l.tx) && l.tx.writes.some((w) => w.permits.includes(s.permitNo)));
  if (selected.length === 0) throw new BundleSubjectNotFound(`no transaction on channel ${req.channel} matches ${JSON.stringify(s)}`);

  // The records as written, from the full blocks of the selected transactions.
  const records: ManifestRecord[] = [];
  const recordOf = async (l: (typeof all)[number]) => {
    const tx = (await full(l.n)).transactions[l.tx.index]!;
    for (const w of tx.writes) {
      if (!isChaincodeWrite(w, req.chaincode)) continue;
      const value = jsonOf(w.value);
      if (value) records.push({ txId: tx.txId, key: w.key, value });
    }
  };
  for (const l of selected) await recordOf(l);
  // Alarms are checked against the keys registered on the ledger: the device's, and (version 2) the
  // grading ingest service's. Include those registrations.
  const alarmDevices = new Set(
    records
      .filter((r) => (r.value as { docType?: string }).docType === 'alarm')
      .flatMap((r) => {
        const { deviceId, serviceId } = r.value as { deviceId: unknown; serviceId?: unknown };
        return typeof serviceId === 'string' ? [String(deviceId), serviceId] : [String(deviceId)];
      }),
  );
  const registrations = all.filter(
    (l) => ours(l.tx) && !selected.includes(l) && l.tx.writes.some((w) => w.registersDevice !== null && alarmDevices.has(w.registersDevice)),
  );
  for (const l of registrations) await recordOf(l);

  const definitions = all.filter((l) => l.tx.definesChaincode);
  const checkpoint = summaries[summaries.length - 1]!;
  const carried = new Set<number>([...selected, ...registrations, ...definitions].map((l) => l.n));
  summaries.forEach((b, n) => {
    if (b.config) carried.add(n);
  });
  carried.add(checkpoint.header.number);
  const low = Math.min(...carried);
  const headers = (): HeaderEntry[] => summaries.slice(low).map((b) => headerEntry(b.header));

  const evidenceFiles = new Map<string, E>();
  for (const r of records) {
    const v = r.value as { docType?: string; cid?: unknown };
    if (v.docType !== 'evidence' || typeof v.cid !== 'string' || evidenceFiles.has(v.cid) || !req.evidence) continue;
    const file = await req.evidence(v.cid);
    if (file !== null) evidenceFiles.set(v.cid, file);
  }

  const numbers = [...carried].sort((a, b) => a - b);
  const carriedBytes = new Map<number, Uint8Array>();
  for (const n of numbers) {
    // Carried for their signatures, configs and definitions only: their bytes, not their decoding, are kept.
    const bytes = await bytesOf(n);
    req.blockBytes?.set(n, bytes);
    carriedBytes.set(n, bytes);
  }
  const manifest: Manifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    channel: req.channel,
    chaincode: req.chaincode,
    subject: s,
    createdAt: (req.now?.() ?? new Date()).toISOString(),
    checkpoint: { number: checkpoint.header.number, headerHash: toHex(await headerHash(checkpoint.header)) },
    blocks: numbers,
    transactions: selected.map((l) => ({ txId: l.tx.txId, blockNumber: summaries[l.n]!.header.number })),
    records,
    evidenceFiles: [...evidenceFiles.keys()],
  };
  return { manifest, lowestHeader: low, headers, blocks: carriedBytes, evidence: evidenceFiles };
}

/** A block header as a bundle's headers.json lists it. */
export function headerEntry(h: DecodedBlock['header']): HeaderEntry {
  return { number: h.number, previousHash: toHex(h.previousHash), dataHash: toHex(h.dataHash) };
}
