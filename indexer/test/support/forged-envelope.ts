/**
 * An endorsed envelope rewritten as a forger would write it: text PostgreSQL cannot store (U+0000)
 * in its function name, chaincode name, event and namespaces, in its transaction id, or a timestamp
 * no database column holds. The endorsements then no longer match what they signed, so the peers
 * mark the transaction invalid, but anyone allowed to broadcast gets it into a block all the same.
 */
import { common, ledger, peer } from '@hyperledger/fabric-protos';

export const FORGED_FUNCTION = 'heartbeat:Record\u0000forged';
export const FORGED_EVENT = 'Heartbeat\u0000Recorded';

export interface Forgery {
  /** U+0000 in the function, chaincode, event and namespace names. */
  nulText?: boolean;
  /** U+0000 at the end of the transaction id. */
  nulInTxId?: boolean;
  /** The channel header's timestamp. */
  timestamp?: { seconds: number; nanos: number };
}

/** Rewrites the envelope's payload in place; its signature no longer matches and is cleared. */
export function forgeEnvelope(envelope: common.Envelope, forgery: Forgery): void {
  const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
  const header = payload.getHeader()!;
  const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
  if (forgery.nulInTxId) channelHeader.setTxId(`${channelHeader.getTxId()}\u0000`);
  if (forgery.timestamp) {
    const at = channelHeader.getTimestamp()!;
    at.setSeconds(forgery.timestamp.seconds);
    at.setNanos(forgery.timestamp.nanos);
    channelHeader.setTimestamp(at);
  }
  header.setChannelHeader(channelHeader.serializeBinary());
  if (forgery.nulText) forgeText(payload);
  envelope.setPayload(payload.serializeBinary());
  envelope.setSignature(new Uint8Array());
}

function forgeText(payload: common.Payload): void {
  const transaction = peer.Transaction.deserializeBinary(payload.getData_asU8());
  const action = transaction.getActionsList()[0]!;
  const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
  const proposalPayload = peer.ChaincodeProposalPayload.deserializeBinary(actionPayload.getChaincodeProposalPayload_asU8());
  const spec = peer.ChaincodeInvocationSpec.deserializeBinary(proposalPayload.getInput_asU8());
  const input = spec.getChaincodeSpec()!.getInput()!;
  input.setArgsList([Buffer.from(FORGED_FUNCTION), ...input.getArgsList_asU8().slice(1)]);
  proposalPayload.setInput(spec.serializeBinary());
  actionPayload.setChaincodeProposalPayload(proposalPayload.serializeBinary());
  const endorsed = actionPayload.getAction()!;
  const response = peer.ProposalResponsePayload.deserializeBinary(endorsed.getProposalResponsePayload_asU8());
  const chaincodeAction = peer.ChaincodeAction.deserializeBinary(response.getExtension_asU8());
  chaincodeAction.getChaincodeId()!.setName(`${chaincodeAction.getChaincodeId()!.getName()}\u0000`);
  const event = peer.ChaincodeEvent.deserializeBinary(chaincodeAction.getEvents_asU8());
  event.setEventName(FORGED_EVENT);
  event.setChaincodeId('\u0000');
  chaincodeAction.setEvents(event.serializeBinary());
  const rwset = ledger.rwset.TxReadWriteSet.deserializeBinary(chaincodeAction.getResults_asU8());
  for (const ns of rwset.getNsRwsetList()) ns.setNamespace(`${ns.getNamespace()}\u0000`);
  chaincodeAction.setResults(rwset.serializeBinary());
  // `setExtension` is jspb's own (protobuf extensions); the generated setter of the field is `$`-suffixed.
  response.setExtension$(chaincodeAction.serializeBinary());
  endorsed.setProposalResponsePayload(response.serializeBinary());
  action.setPayload(actionPayload.serializeBinary());
  payload.setData(transaction.serializeBinary());
}
