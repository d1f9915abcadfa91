/**
 * Reads every block of the channel through qscc (GetChainInfo, GetBlockByNumber) and parses each
 * endorser transaction with @hyperledger/fabric-protos down to what a block can carry: the
 * invocation arguments, the transient map left in the proposal payload, public writes, private
 * write hashes, the chaincode event and the response.
 */
import { common, ledger, peer } from '@hyperledger/fabric-protos';
import { heightOf } from './ledger';
import type { OrgConnection } from './network';

const { rwset } = ledger;

export interface ParsedTx {
  blockNumber: number;
  txId: string;
  type: number;
  args: Uint8Array[];
  transientKeys: string[];
  publicWrites: { namespace: string; key: string; value: Uint8Array }[];
  privateWriteHashes: { namespace: string; collection: string; keyHash: Uint8Array; valueHash: Uint8Array }[];
  event: { name: string; payload: Uint8Array } | null;
  response: Uint8Array;
}

export interface ParsedBlock {
  number: number;
  raw: Uint8Array;
  txs: ParsedTx[];
}

function parseEndorserTx(blockNumber: number, txId: string, type: number, data: Uint8Array): ParsedTx {
  const out: ParsedTx = {
    blockNumber,
    txId,
    type,
    args: [],
    transientKeys: [],
    publicWrites: [],
    privateWriteHashes: [],
    event: null,
    response: new Uint8Array(),
  };
  const tx = peer.Transaction.deserializeBinary(data);
  for (const action of tx.getActionsList()) {
    const cap = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
    const cpp = peer.ChaincodeProposalPayload.deserializeBinary(cap.getChaincodeProposalPayload_asU8());
    out.transientKeys.push(
      ...cpp
        .getTransientmapMap()
        .getEntryList()
        .map((e) => String(e[0])),
    );
    const spec = peer.ChaincodeInvocationSpec.deserializeBinary(cpp.getInput_asU8()).getChaincodeSpec();
    out.args.push(...(spec?.getInput()?.getArgsList_asU8() ?? []));
    const prp = peer.ProposalResponsePayload.deserializeBinary(cap.getAction()!.getProposalResponsePayload_asU8());
    const cca = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
    const txrw = rwset.TxReadWriteSet.deserializeBinary(cca.getResults_asU8());
    for (const ns of txrw.getNsRwsetList()) {
      const kv = rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
      for (const w of kv.getWritesList()) out.publicWrites.push({ namespace: ns.getNamespace(), key: w.getKey(), value: w.getValue_asU8() });
      for (const coll of ns.getCollectionHashedRwsetList()) {
        const hashed = rwset.kvrwset.HashedRWSet.deserializeBinary(coll.getHashedRwset_asU8());
        for (const w of hashed.getHashedWritesList()) {
          out.privateWriteHashes.push({
            namespace: ns.getNamespace(),
            collection: coll.getCollectionName(),
            keyHash: w.getKeyHash_asU8(),
            valueHash: w.getValueHash_asU8(),
          });
        }
      }
    }
    const events = cca.getEvents_asU8();
    if (events.length > 0) {
      const e = peer.ChaincodeEvent.deserializeBinary(events);
      out.event = { name: e.getEventName(), payload: e.getPayload_asU8() };
    }
    out.response = cca.getResponse()?.getPayload_asU8() ?? new Uint8Array();
  }
  return out;
}

/** Every block of the channel, from the genesis block to the current height. */
export async function readAllBlocks(conn: OrgConnection, channel: string): Promise<ParsedBlock[]> {
  const qscc = conn.gateway.getNetwork(channel).getContract('qscc');
  const height = Number(await heightOf(conn, channel));
  const blocks: ParsedBlock[] = [];
  for (let n = 0; n < height; n++) {
    const raw = await qscc.evaluateTransaction('GetBlockByNumber', channel, String(n));
    const block = common.Block.deserializeBinary(raw);
    const txs: ParsedTx[] = [];
    for (const envBytes of block.getData()!.getDataList_asU8()) {
      const env = common.Envelope.deserializeBinary(envBytes);
      const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
      const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8());
      if (ch.getType() === common.HeaderType.ENDORSER_TRANSACTION) {
        txs.push(parseEndorserTx(n, ch.getTxId(), ch.getType(), payload.getData_asU8()));
      } else {
        txs.push({
          blockNumber: n,
          txId: ch.getTxId(),
          type: ch.getType(),
          args: [],
          transientKeys: [],
          publicWrites: [],
          privateWriteHashes: [],
          event: null,
          response: new Uint8Array(),
        });
      }
    }
    blocks.push({ number: n, raw, txs });
  }
  return blocks;
}
