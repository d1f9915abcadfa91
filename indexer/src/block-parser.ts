/**
 * Turns a Fabric block (protobuf) into plain rows: the block header, and for every transaction its
 * validation code, id, creator, timestamp, chaincode call, events and write sets. Pure: no I/O, so it
 * is unit-tested on blocks captured from the real network.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { endorsedActions } from '@compliance-ledger/fabric-client/transaction';
import { common, ledger, msp, peer } from '@hyperledger/fabric-protos';
import { blockDataHash, blockHeaderHash } from './header-hash.js';

export interface ParsedWrite {
  namespace: string;
  /** null for public state; the collection name for private data (hashes only). */
  collection: string | null;
  /** Public key as text; for private data the hex of the key hash. */
  key: string;
  isDelete: boolean;
  /** Public value bytes, or null for private writes (values never appear in blocks). */
  value: Buffer | null;
  /** SHA-256 of the private value (as in the block), null for public writes. */
  valueHash: Buffer | null;
  isPurge: boolean;
}

export interface ParsedEvent {
  chaincodeId: string;
  name: string;
  payload: Buffer;
}

export interface ParsedTransaction {
  index: number;
  /** Empty for config transactions (Fabric gives them no id). */
  txId: string;
  headerType: number;
  headerTypeName: string;
  validationCode: number;
  validationCodeName: string;
  valid: boolean;
  creatorMsp: string | null;
  /** Same string as fabric-shim's ClientIdentity.getID(): x509::<subject>::<issuer>. */
  creatorId: string | null;
  /** SHA-256 (hex) of the creator's PEM certificate bytes as serialized in the transaction. */
  creatorCertSha256: string | null;
  /** ISO-8601 with microseconds (Postgres timestamptz precision); null when absent. */
  timestamp: string | null;
  chaincode: string | null;
  /** First argument of the invocation (e.g. `heartbeat:Record`). */
  functionName: string | null;
  events: ParsedEvent[];
  writes: ParsedWrite[];
  /** Why an invalid transaction could not be read completely (null when it could). */
  parseError: string | null;
}

export interface ParsedBlock {
  number: number;
  headerHash: Buffer;
  previousHash: Buffer;
  dataHash: Buffer;
  /** SHA-256 recomputed over the block's data entries; must equal dataHash. */
  computedDataHash: Buffer;
  transactions: ParsedTransaction[];
}

const headerTypeNames = invert(common.HeaderType);
const validationCodeNames = invert(peer.TxValidationCode);

function invert(e: object): Map<number, string> {
  return new Map(Object.entries(e).map(([name, value]) => [value as number, name]));
}

/**
 * A text field of an envelope as PostgreSQL can store it: each U+0000 (which no `text` column
 * takes) as U+FFFD. In a transaction the peers invalidated (an endorsement forged or missing) these
 * fields are whatever its creator wrote, and anyone allowed to broadcast can put such a transaction
 * into a block: one NUL must not stop the mirror at that block for good. The block's own bytes,
 * which auditors verify, keep the original.
 */
export function storableText(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z in Unix seconds: the years ISO-8601 writes in four digits. */
const FIRST_SECOND = -62_135_596_800;
const END_SECOND = 253_402_300_800;

/**
 * Fabric's timestamps carry nanoseconds; Postgres keeps microseconds, so we format to that. The
 * chaincode refuses a proposal more than two minutes off the peers' clocks, but an invalidated
 * transaction's timestamp is whatever its creator wrote: one outside the years 1–9999 (or with
 * nanoseconds outside a second) throws, and the transaction is stored with that reason.
 */
export function timestampToIso(ts: { getSeconds(): number; getNanos(): number } | undefined): string | null {
  if (!ts) return null;
  const seconds = ts.getSeconds();
  const nanos = ts.getNanos();
  if (!(seconds >= FIRST_SECOND && seconds < END_SECOND && nanos >= 0 && nanos < 1e9)) {
    throw new RangeError(`the transaction's timestamp (${seconds} s, ${nanos} ns) is outside the years 1–9999`);
  }
  const micros = Math.floor(nanos / 1000);
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${base}.${micros.toString().padStart(6, '0')}Z`;
}

interface CreatorInfo {
  id: string;
  sha256: string;
}

// Parsing X.509 is the costliest step per transaction and a channel has few distinct creators.
const creatorCache = new Map<string, CreatorInfo>();

/** Mirrors fabric-shim's formatDN: `/SHORT=value` per attribute, first `/` in a value escaped. */
function formatDn(multiline: string): string {
  return multiline
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const at = line.indexOf('=');
      return `/${line.slice(0, at)}=${line.slice(at + 1).replace('/', '\\/')}`;
    })
    .join('');
}

export function creatorIdentity(idBytes: Uint8Array): CreatorInfo {
  const sha256 = createHash('sha256').update(idBytes).digest('hex');
  let info = creatorCache.get(sha256);
  if (!info) {
    let id: string;
    try {
      const cert = new X509Certificate(asBuffer(idBytes));
      id = storableText(`x509::${formatDn(cert.subject)}::${formatDn(cert.issuer)}`);
    } catch {
      // Not an X.509 certificate (e.g. an idemix identity): keep the hash only.
      id = `sha256::${sha256}`;
    }
    info = { id, sha256 };
    if (creatorCache.size > 10_000) creatorCache.clear();
    creatorCache.set(sha256, info);
  }
  return info;
}

function parseWriteSets(resultsBytes: Uint8Array): ParsedWrite[] {
  if (resultsBytes.length === 0) return [];
  const writes: ParsedWrite[] = [];
  const rwset = ledger.rwset.TxReadWriteSet.deserializeBinary(resultsBytes);
  for (const ns of rwset.getNsRwsetList()) {
    const namespace = storableText(ns.getNamespace());
    const kv = ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
    for (const w of kv.getWritesList()) {
      writes.push({
        namespace,
        collection: null,
        key: w.getKey(),
        isDelete: w.getIsDelete(),
        value: w.getIsDelete() ? null : asBuffer(w.getValue_asU8()),
        valueHash: null,
        isPurge: false,
      });
    }
    for (const coll of ns.getCollectionHashedRwsetList()) {
      const hashed = ledger.rwset.kvrwset.HashedRWSet.deserializeBinary(coll.getHashedRwset_asU8());
      for (const w of hashed.getHashedWritesList()) {
        writes.push({
          namespace,
          collection: storableText(coll.getCollectionName()),
          key: asBuffer(w.getKeyHash_asU8()).toString('hex'),
          isDelete: w.getIsDelete(),
          value: null,
          valueHash: w.getIsDelete() ? null : asBuffer(w.getValueHash_asU8()),
          isPurge: w.getIsPurge(),
        });
      }
    }
  }
  return writes;
}

function parseEndorserTransaction(data: Uint8Array, tx: ParsedTransaction): void {
  for (const { payload, chaincodeAction } of endorsedActions(data)) {
    const proposalPayload = peer.ChaincodeProposalPayload.deserializeBinary(payload.getChaincodeProposalPayload_asU8());
    const input = proposalPayload.getInput_asU8();
    if (input.length > 0 && tx.functionName === null) {
      const spec = peer.ChaincodeInvocationSpec.deserializeBinary(input).getChaincodeSpec();
      const args = spec?.getInput()?.getArgsList_asU8() ?? [];
      if (args[0]) tx.functionName = storableText(Buffer.from(args[0]).toString('utf8'));
    }
    if (!chaincodeAction) continue;
    const chaincode = chaincodeAction.getChaincodeId()?.getName();
    tx.chaincode ??= chaincode === undefined ? null : storableText(chaincode);
    tx.writes.push(...parseWriteSets(chaincodeAction.getResults_asU8()));
    const eventBytes = chaincodeAction.getEvents_asU8();
    if (eventBytes.length > 0) {
      const event = peer.ChaincodeEvent.deserializeBinary(eventBytes);
      if (event.getEventName() !== '') {
        tx.events.push({
          chaincodeId: storableText(event.getChaincodeId()),
          name: storableText(event.getEventName()),
          payload: asBuffer(event.getPayload_asU8()),
        });
      }
    }
  }
}

function parseTransaction(index: number, envelopeBytes: Uint8Array, validationCode: number): ParsedTransaction {
  const tx: ParsedTransaction = {
    index,
    txId: '',
    headerType: -1,
    headerTypeName: 'UNPARSED',
    validationCode,
    validationCodeName: validationCodeNames.get(validationCode) ?? `UNKNOWN_${validationCode}`,
    valid: validationCode === peer.TxValidationCode.VALID,
    creatorMsp: null,
    creatorId: null,
    creatorCertSha256: null,
    timestamp: null,
    chaincode: null,
    functionName: null,
    events: [],
    writes: [],
    parseError: null,
  };
  try {
    fillTransaction(tx, envelopeBytes);
  } catch (err) {
    // Anyone allowed to broadcast can put a malformed envelope into a block; the committer then
    // marks it invalid. Such a transaction changed nothing, so it is stored with what could be read
    // and the reason. A valid transaction that cannot be read is a real problem: stop.
    if (tx.valid) throw err;
    tx.parseError = storableText(err instanceof Error ? err.message : String(err));
    tx.events = [];
    tx.writes = [];
  }
  return tx;
}

function fillTransaction(tx: ParsedTransaction, envelopeBytes: Uint8Array): void {
  const envelope = common.Envelope.deserializeBinary(envelopeBytes);
  const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
  const header = payload.getHeader();
  const channelHeader = common.ChannelHeader.deserializeBinary(header?.getChannelHeader_asU8() ?? new Uint8Array());
  const headerType = channelHeader.getType();
  tx.txId = storableText(channelHeader.getTxId());
  tx.headerType = headerType;
  tx.headerTypeName = headerTypeNames.get(headerType) ?? `UNKNOWN_${headerType}`;
  const signatureHeader = common.SignatureHeader.deserializeBinary(header?.getSignatureHeader_asU8() ?? new Uint8Array());
  const creatorBytes = signatureHeader.getCreator_asU8();
  if (creatorBytes.length > 0) {
    const creator = msp.SerializedIdentity.deserializeBinary(creatorBytes);
    const info = creatorIdentity(creator.getIdBytes_asU8());
    tx.creatorMsp = storableText(creator.getMspid());
    tx.creatorId = info.id;
    tx.creatorCertSha256 = info.sha256;
  }
  // After the creator: a timestamp out of range leaves the transaction stored with its creator and the reason.
  tx.timestamp = timestampToIso(channelHeader.getTimestamp());
  if (headerType === common.HeaderType.ENDORSER_TRANSACTION) parseEndorserTransaction(payload.getData_asU8(), tx);
}

/**
 * Parses a block. Throws when the block itself or a valid transaction cannot be read: the caller
 * must not index what it cannot read.
 */
export function parseBlock(block: common.Block): ParsedBlock {
  const header = block.getHeader();
  if (!header) throw new Error('block without header');
  const number = header.getNumber();
  const previousHash = asBuffer(header.getPreviousHash_asU8());
  const dataHash = asBuffer(header.getDataHash_asU8());
  const entries = block.getData()?.getDataList_asU8() ?? [];
  // TRANSACTIONS_FILTER holds one validation code byte per data entry, written by the committer.
  const filter = block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER] ?? new Uint8Array();
  const transactions = entries.map((entry, i) =>
    // A missing filter byte means the peer has not validated it; treat as invalid rather than guess.
    parseTransaction(i, entry, filter[i] ?? peer.TxValidationCode.NOT_VALIDATED),
  );
  return {
    number,
    headerHash: blockHeaderHash(BigInt(number), previousHash, dataHash),
    previousHash,
    dataHash,
    computedDataHash: blockDataHash(entries),
    transactions,
  };
}
