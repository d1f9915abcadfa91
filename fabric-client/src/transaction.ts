/**
 * The one walk from an endorser transaction down to its chaincode actions, for every reader of
 * ordered transactions here: the answer a client sees (answer.ts), the gateway's reading of a
 * transaction qscc returns, the indexer's block parser. It imports nothing but the protobuf
 * messages, so the indexer's parsing threads can load it alone (`@compliance-ledger/fabric-client/transaction`).
 * The auditors' verifier keeps a walk of its own on purpose: it trusts no code of the services.
 */
import { common, ledger, peer } from '@hyperledger/fabric-protos';

/** One action of an endorser transaction: what was proposed and, when it was endorsed, what the chaincode did. */
export interface EndorsedAction {
  /** The proposal's payload (the chaincode's input) and the endorsement (`getAction()`: endorsers, their signatures). */
  payload: peer.ChaincodeActionPayload;
  /** The chaincode's response, events and read-write set, as every endorser signed them; undefined for an action no one endorsed. */
  chaincodeAction: peer.ChaincodeAction | undefined;
}

/** The actions of an endorser transaction, from its payload's data (`Payload.getData`). */
export function endorsedActions(transactionData: Uint8Array): EndorsedAction[] {
  return peer.Transaction.deserializeBinary(transactionData)
    .getActionsList()
    .map((action) => {
      const payload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
      const endorsed = payload.getAction();
      if (!endorsed) return { payload, chaincodeAction: undefined };
      const response = peer.ProposalResponsePayload.deserializeBinary(endorsed.getProposalResponsePayload_asU8());
      return { payload, chaincodeAction: peer.ChaincodeAction.deserializeBinary(response.getExtension_asU8()) };
    });
}

/** The value an endorser transaction (an Envelope, or its bytes) writes to `key` of `namespace`; undefined when it writes none there. */
export function writtenValue(envelope: Uint8Array | common.Envelope, namespace: string, key: string): Uint8Array | undefined {
  const env = envelope instanceof Uint8Array ? common.Envelope.deserializeBinary(envelope) : envelope;
  const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
  for (const { chaincodeAction } of endorsedActions(payload.getData_asU8())) {
    const results = chaincodeAction?.getResults_asU8() ?? new Uint8Array();
    if (results.length === 0) continue;
    for (const ns of ledger.rwset.TxReadWriteSet.deserializeBinary(results).getNsRwsetList()) {
      if (ns.getNamespace() !== namespace) continue;
      for (const w of ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8()).getWritesList()) {
        if (w.getKey() === key && !w.getIsDelete()) return w.getValue_asU8();
      }
    }
  }
  return undefined;
}
