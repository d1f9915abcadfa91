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
  type TransactionEntry,
  toHex,
  writeTar,
} from '@compliance-ledger/verifier';

export interface BlockSource {
  /** Number of blocks on the channel. */
  height(): Promise<number>;
  block(n: number): Promise<Uint8Array>;
}

export interface BundleRequest {
  source: BlockSource;
  channel: string;
  chaincode: string;
  subject: BundleSubject;
  /** The evidence file's bytes, or null when the content store does not have it (the bundle then carries the CID only). */
  evidence?: (cid: string) => Promise<Uint8Array | null>;
  now?: () => Date;
  /** Blocks already decoded by an earlier bundle from the same source (an archive builds many), filled as blocks are decoded. */
  decoded?: Map<number, DecodedBlock>;
}

export class BundleSubjectNotFound extends Error {
  override readonly name = 'BundleSubjectNotFound';
}

interface Located {
  block: DecodedBlock;
  tx: TransactionEntry;
}

function jsonOf(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Whether a write belongs to a permit's trail: its key names the permit, or the record refers to it. */
function touchesPermit(key: string, value: Record<string, unknown> | null, permitNo: string): boolean {
  if (key.split('\u0000').includes(permitNo)) return true;
  if (!value) return false;
  if (value.permitNo === permitNo) return true;
  for (const field of ['suspendedPermitNos', 'permitNos']) {
    const list = value[field];
    if (Array.isArray(list) && list.includes(permitNo)) return true;
  }
  return false;
}

export async function buildBundle(req: BundleRequest): Promise<{ archive: Uint8Array; manifest: Manifest }> {
  const height = await req.source.height();
  const blocks: DecodedBlock[] = [];
  for (let n = 0; n < height; n++) {
    let block = req.decoded?.get(n);
    if (!block) {
      block = decodeBlock(await req.source.block(n));
      req.decoded?.set(n, block);
    }
    blocks.push(block);
  }
  const valid = (b: DecodedBlock, t: TransactionEntry) => t.headerType === HEADER_TYPE.ENDORSER_TRANSACTION && b.validationCodes[t.index] === 0;
  const all: Located[] = blocks.flatMap((block) => block.transactions.map((tx) => ({ block, tx })));
  const ours = (l: Located) => valid(l.block, l.tx) && l.tx.chaincode === req.chaincode;
  const chaincodeWrites = (l: Located) => l.tx.writes.filter((w) => w.namespace === req.chaincode && !w.isDelete);

  let selected: Located[];
  const s = req.subject;
  if (s.kind === 'transaction') selected = all.filter((l) => l.tx.txId === s.txId);
  else if (s.kind === 'range') {
    const from = Date.parse(s.from);
    const to = Date.parse(s.to);
    selected = all.filter((l) => ours(l) && l.tx.timestampMs >= from && l.tx.timestampMs < to);
  } else selected = all.filter((l) => ours(l) && chaincodeWrites(l).some((w) => touchesPermit(w.key, jsonOf(w.value), s.permitNo)));
  if (selected.length === 0) throw new BundleSubjectNotFound(`no transaction on channel ${req.channel} matches ${JSON.stringify(s)}`);

  const records: ManifestRecord[] = [];
  const recordOf = (l: Located) => {
    for (const w of chaincodeWrites(l)) {
      const value = jsonOf(w.value);
      if (value) records.push({ txId: l.tx.txId, key: w.key, value });
    }
  };
  selected.forEach(recordOf);
  // Alarms are checked against the device key registered on the ledger: include those registrations.
  const alarmDevices = new Set(
    records.filter((r) => (r.value as { docType?: string }).docType === 'alarm').map((r) => String((r.value as { deviceId: unknown }).deviceId)),
  );
  const registrations = all.filter(
    (l) =>
      ours(l) &&
      !selected.includes(l) &&
      chaincodeWrites(l).some((w) => {
        const v = jsonOf(w.value);
        return v?.docType === 'device' && alarmDevices.has(String(v.deviceId));
      }),
  );
  registrations.forEach(recordOf);

  const definitions = all.filter(
    (l) => valid(l.block, l.tx) && l.tx.writes.some((w) => w.namespace === '_lifecycle' && w.key === `namespaces/fields/${req.chaincode}/ValidationInfo`),
  );
  const configBlocks = blocks.filter((b) => b.transactions.some((t) => t.headerType === HEADER_TYPE.CONFIG));
  const checkpoint = blocks[blocks.length - 1]!;
  const full = new Set<number>([...selected, ...registrations, ...definitions].map((l) => l.block.header.number));
  for (const b of configBlocks) full.add(b.header.number);
  full.add(checkpoint.header.number);
  const low = Math.min(...full);
  const headers: HeaderEntry[] = blocks
    .slice(low)
    .map((b) => ({ number: b.header.number, previousHash: toHex(b.header.previousHash), dataHash: toHex(b.header.dataHash) }));

  const evidenceFiles = new Map<string, Uint8Array>();
  for (const r of records) {
    const v = r.value as { docType?: string; cid?: unknown };
    if (v.docType !== 'evidence' || typeof v.cid !== 'string' || evidenceFiles.has(v.cid) || !req.evidence) continue;
    const bytes = await req.evidence(v.cid);
    if (bytes) evidenceFiles.set(v.cid, bytes);
  }

  const numbers = [...full].sort((a, b) => a - b);
  const manifest: Manifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    channel: req.channel,
    chaincode: req.chaincode,
    subject: s,
    createdAt: (req.now?.() ?? new Date()).toISOString(),
    checkpoint: { number: checkpoint.header.number, headerHash: toHex(await headerHash(checkpoint.header)) },
    blocks: numbers,
    transactions: selected.map((l) => ({ txId: l.tx.txId, blockNumber: l.block.header.number })),
    records,
    evidenceFiles: [...evidenceFiles.keys()],
  };
  const enc = new TextEncoder();
  const files: [string, Uint8Array][] = [
    ['manifest.json', enc.encode(`${JSON.stringify(manifest, null, 2)}\n`)],
    ['headers.json', enc.encode(`${JSON.stringify(headers)}\n`)],
    ...numbers.map((n): [string, Uint8Array] => [`blocks/${n}.block`, blocks[n]!.bytes]),
    ...[...evidenceFiles].map(([cid, bytes]): [string, Uint8Array] => [`evidence/${cid}`, bytes]),
  ];
  return { archive: writeTar(files), manifest };
}
