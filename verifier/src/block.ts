/**
 * A Fabric block decoded into what the verifier checks, keeping the exact bytes every hash and
 * signature covers (envelope payloads, signature headers, proposal response payloads).
 */

import { concat, sha256 } from './bytes.js';
import { encodeTlv, encodeUnsigned } from './der.js';
import { common, msp, peer, rwset } from './protos.js';

export interface BlockHeader {
  number: number;
  previousHash: Uint8Array;
  dataHash: Uint8Array;
}

export interface Identity {
  mspId: string;
  /** The PEM certificate bytes as serialized in the transaction. */
  idBytes: Uint8Array;
}

export interface OrdererSignature {
  /** Metadata value + signature header + ASN.1 header bytes: what the orderer signed. */
  signedBytes: Uint8Array;
  signature: Uint8Array;
  /** The signer's identity, from a signature header (Raft and every orderer before Fabric 3). */
  signer: Identity | null;
  /** The signer's consenter id, from an identifier header (SmartBFT): the channel config maps it to an identity. */
  consenterId: number | null;
}

export interface Write {
  namespace: string;
  key: string;
  isDelete: boolean;
  value: Uint8Array;
}

export interface Endorsement {
  endorser: Identity;
  signature: Uint8Array;
  /** proposal_response_payload + endorser bytes. */
  signedBytes: Uint8Array;
}

export interface TransactionEntry {
  index: number;
  envelope: Uint8Array;
  payload: Uint8Array;
  envelopeSignature: Uint8Array;
  headerType: number;
  txId: string;
  channelId: string;
  /** Epoch milliseconds of the channel header timestamp. */
  timestampMs: number;
  creator: Identity;
  /** Endorser transactions only. */
  endorsements: Endorsement[];
  /** All writes of all actions, in order. */
  writes: Write[];
  /** Keys whose validation parameter (key-level endorsement policy) the transaction sets, with the policy (a SignaturePolicyEnvelope). */
  keyPolicyWrites: { namespace: string; key: string; policy: Uint8Array }[];
  /** Public keys the transaction read while they did not exist (a read without version): no key-level policy held them. */
  absentReads: { namespace: string; key: string }[];
  /** Private data collections the transaction wrote (hashed writes or metadata writes), by namespace. */
  collectionWrites: { namespace: string; collection: string }[];
  /** Public keys whose metadata the transaction set (any entry). */
  metadataWrites: { namespace: string; key: string }[];
  chaincode: string | null;
  functionName: string | null;
  /** The ConfigEnvelope's config for CONFIG transactions. */
  config: InstanceType<typeof common.Config> | null;
  /** Why the envelope could not be fully read (null when it could). */
  parseError: string | null;
}

export interface DecodedBlock {
  bytes: Uint8Array;
  header: BlockHeader;
  data: Uint8Array[];
  validationCodes: Uint8Array;
  /** The last config block index from the orderer's SIGNATURES metadata. */
  lastConfigIndex: number | null;
  ordererSignatures: OrdererSignature[];
  transactions: TransactionEntry[];
}

export const HEADER_TYPE = { CONFIG: 1, ENDORSER_TRANSACTION: 3 } as const;
const METADATA_SIGNATURES = 0;
const METADATA_TRANSACTIONS_FILTER = 2;

/** protoutil.BlockHeaderBytes: ASN.1 DER SEQUENCE { number, previousHash, dataHash }. */
export function headerBytes(h: BlockHeader): Uint8Array {
  return encodeTlv(0x30, concat(encodeUnsigned(BigInt(h.number)), encodeTlv(0x04, h.previousHash), encodeTlv(0x04, h.dataHash)));
}

export function headerHash(h: BlockHeader): Promise<Uint8Array> {
  return sha256(headerBytes(h));
}

export function dataHash(entries: readonly Uint8Array[]): Promise<Uint8Array> {
  return sha256(concat(...entries));
}

function identityOf(serialized: Uint8Array): Identity {
  const id = msp.SerializedIdentity.deserializeBinary(serialized);
  return { mspId: id.getMspid(), idBytes: id.getIdBytes_asU8() };
}

function decodeEndorserTransaction(data: Uint8Array, tx: TransactionEntry): void {
  const transaction = peer.Transaction.deserializeBinary(data);
  for (const action of transaction.getActionsList()) {
    const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
    const proposalPayload = peer.ChaincodeProposalPayload.deserializeBinary(actionPayload.getChaincodeProposalPayload_asU8());
    const input = proposalPayload.getInput_asU8();
    if (input.length > 0 && tx.functionName === null) {
      const args = peer.ChaincodeInvocationSpec.deserializeBinary(input).getChaincodeSpec()?.getInput()?.getArgsList_asU8() ?? [];
      if (args[0]) tx.functionName = new TextDecoder().decode(args[0]);
    }
    const endorsed = actionPayload.getAction();
    if (!endorsed) continue;
    const prpBytes = endorsed.getProposalResponsePayload_asU8();
    for (const e of endorsed.getEndorsementsList()) {
      const endorserBytes = e.getEndorser_asU8();
      tx.endorsements.push({ endorser: identityOf(endorserBytes), signature: e.getSignature_asU8(), signedBytes: concat(prpBytes, endorserBytes) });
    }
    const prp = peer.ProposalResponsePayload.deserializeBinary(prpBytes);
    const ccAction = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
    tx.chaincode ??= ccAction.getChaincodeId()?.getName() ?? null;
    const results = ccAction.getResults_asU8();
    if (results.length === 0) continue;
    for (const ns of rwset.TxReadWriteSet.deserializeBinary(results).getNsRwsetList()) {
      for (const coll of ns.getCollectionHashedRwsetList()) {
        const hashed = rwset.HashedRWSet.deserializeBinary(coll.getHashedRwset_asU8());
        if (hashed.getHashedWritesList().length > 0 || hashed.getMetadataWritesList().length > 0)
          tx.collectionWrites.push({ namespace: ns.getNamespace(), collection: coll.getCollectionName() });
      }
      const kv = rwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
      for (const r of kv.getReadsList()) if (!r.getVersion()) tx.absentReads.push({ namespace: ns.getNamespace(), key: r.getKey() });
      for (const w of kv.getWritesList())
        tx.writes.push({ namespace: ns.getNamespace(), key: w.getKey(), isDelete: w.getIsDelete(), value: w.getValue_asU8() });
      for (const m of kv.getMetadataWritesList()) {
        tx.metadataWrites.push({ namespace: ns.getNamespace(), key: m.getKey() });
        const policy = m.getEntriesList().find((entry) => entry.getName() === 'VALIDATION_PARAMETER');
        if (policy) tx.keyPolicyWrites.push({ namespace: ns.getNamespace(), key: m.getKey(), policy: policy.getValue_asU8() });
      }
    }
  }
}

function decodeTransaction(index: number, envelopeBytes: Uint8Array): TransactionEntry {
  const envelope = common.Envelope.deserializeBinary(envelopeBytes);
  const payloadBytes = envelope.getPayload_asU8();
  const payload = common.Payload.deserializeBinary(payloadBytes);
  const header = payload.getHeader();
  const channelHeader = common.ChannelHeader.deserializeBinary(header?.getChannelHeader_asU8() ?? new Uint8Array());
  const signatureHeader = common.SignatureHeader.deserializeBinary(header?.getSignatureHeader_asU8() ?? new Uint8Array());
  const ts = channelHeader.getTimestamp();
  const tx: TransactionEntry = {
    index,
    envelope: envelopeBytes,
    payload: payloadBytes,
    envelopeSignature: envelope.getSignature_asU8(),
    headerType: channelHeader.getType(),
    txId: channelHeader.getTxId(),
    channelId: channelHeader.getChannelId(),
    timestampMs: ts ? ts.getSeconds() * 1000 + Math.floor(ts.getNanos() / 1e6) : 0,
    creator: identityOf(signatureHeader.getCreator_asU8()),
    endorsements: [],
    writes: [],
    keyPolicyWrites: [],
    absentReads: [],
    collectionWrites: [],
    metadataWrites: [],
    chaincode: null,
    functionName: null,
    config: null,
    parseError: null,
  };
  try {
    if (tx.headerType === HEADER_TYPE.ENDORSER_TRANSACTION) decodeEndorserTransaction(payload.getData_asU8(), tx);
    if (tx.headerType === HEADER_TYPE.CONFIG) tx.config = common.ConfigEnvelope.deserializeBinary(payload.getData_asU8()).getConfig() ?? null;
  } catch (e) {
    tx.parseError = (e as Error).message;
  }
  return tx;
}

/** What a block's orderer signatures cover and name, read without decoding its transactions. */
export type BlockSignatures = Pick<DecodedBlock, 'header' | 'lastConfigIndex' | 'ordererSignatures'>;

/**
 * The header and orderer signatures of an already deserialized block. A follower that decodes the
 * transactions its own way (the indexer) checks signatures with this instead of decodeBlock, which
 * would decode every transaction a second time.
 */
export function decodeBlockSignatures(block: InstanceType<typeof common.Block>): BlockSignatures {
  const h = block.getHeader();
  if (!h) throw new Error('block has no header');
  const header: BlockHeader = { number: h.getNumber(), previousHash: h.getPreviousHash_asU8(), dataHash: h.getDataHash_asU8() };
  const metadata = block.getMetadata()?.getMetadataList_asU8() ?? [];
  const ordererSignatures: OrdererSignature[] = [];
  let lastConfigIndex: number | null = null;
  const sigBytes = metadata[METADATA_SIGNATURES];
  if (sigBytes && sigBytes.length > 0) {
    const md = common.Metadata.deserializeBinary(sigBytes);
    const value = md.getValue_asU8();
    if (value.length > 0) lastConfigIndex = common.OrdererBlockMetadata.deserializeBinary(value).getLastConfig()?.getIndex() ?? null;
    const headerAsn1 = headerBytes(header);
    for (const s of md.getSignaturesList()) {
      const sigHeader = s.getSignatureHeader_asU8();
      const signer = sigHeader.length > 0 ? identityOf(common.SignatureHeader.deserializeBinary(sigHeader).getCreator_asU8()) : null;
      // BFT consenters sign with an identifier header instead; the signed bytes then carry it.
      const idHeader = sigHeader.length > 0 ? sigHeader : s.getIdentifierHeader_asU8();
      const consenterId = sigHeader.length > 0 || idHeader.length === 0 ? null : common.IdentifierHeader.deserializeBinary(idHeader).getIdentifier();
      ordererSignatures.push({ signedBytes: concat(value, idHeader, headerAsn1), signature: s.getSignature_asU8(), signer, consenterId });
    }
  }
  return { header, lastConfigIndex, ordererSignatures };
}

export function decodeBlock(bytes: Uint8Array): DecodedBlock {
  const block = common.Block.deserializeBinary(bytes);
  const { header, lastConfigIndex, ordererSignatures } = decodeBlockSignatures(block);
  const data = block.getData()?.getDataList_asU8() ?? [];
  const metadata = block.getMetadata()?.getMetadataList_asU8() ?? [];
  return {
    bytes,
    header,
    data,
    validationCodes: metadata[METADATA_TRANSACTIONS_FILTER] ?? new Uint8Array(),
    lastConfigIndex,
    ordererSignatures,
    transactions: data.map((d, i) => decodeTransaction(i, d)),
  };
}
