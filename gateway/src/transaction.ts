/**
 * Reads a committed transaction as qscc returns it (a ProcessedTransaction): its header, validation
 * code, endorsers, and the chaincode's return value from the endorsed ProposalResponsePayload. The
 * auditors' ledger facts and the recovery of a write whose commit status was lost both need it, and
 * both must read the same bytes the same way.
 */
import { endorsedActions } from '@compliance-ledger/fabric-client/transaction';
import { common, msp, peer } from '@hyperledger/fabric-protos';

export interface DecodedTransaction {
  transactionId: string;
  validationCode: number;
  valid: boolean;
  timestamp: string | null;
  creatorMsp: string;
  endorsingOrgs: string[];
  chaincode: string | null;
  /** What the chaincode returned to the endorsers (the same bytes the submitting client got); null for non-endorser transactions. */
  result: Uint8Array | null;
  /** The transaction as it was ordered, decoded already: its write set resolves a written-key answer (fabric-client answerOf). */
  envelope: common.Envelope;
}

export function decodeProcessedTransaction(bytes: Uint8Array): DecodedTransaction {
  const processed = peer.ProcessedTransaction.deserializeBinary(bytes);
  const envelope = processed.getTransactionenvelope()!;
  const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
  const header = payload.getHeader()!;
  const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
  const signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
  const creator = msp.SerializedIdentity.deserializeBinary(signatureHeader.getCreator_asU8());
  const endorsers = new Set<string>();
  let chaincode: string | null = null;
  let result: Uint8Array | null = null;
  if (channelHeader.getType() === common.HeaderType.ENDORSER_TRANSACTION) {
    for (const { payload: cap, chaincodeAction } of endorsedActions(payload.getData_asU8())) {
      for (const e of cap.getAction()?.getEndorsementsList() ?? []) endorsers.add(msp.SerializedIdentity.deserializeBinary(e.getEndorser_asU8()).getMspid());
      chaincode = chaincodeAction?.getChaincodeId()?.getName() ?? null;
      result = chaincodeAction?.getResponse()?.getPayload_asU8() ?? new Uint8Array();
    }
  }
  const ts = channelHeader.getTimestamp();
  const code = processed.getValidationcode();
  return {
    transactionId: channelHeader.getTxId(),
    validationCode: code,
    valid: code === peer.TxValidationCode.VALID,
    timestamp: ts ? new Date(ts.getSeconds() * 1000 + Math.floor(ts.getNanos() / 1e6)).toISOString() : null,
    creatorMsp: creator.getMspid(),
    endorsingOrgs: [...endorsers].sort(),
    chaincode,
    result,
    envelope,
  };
}

/** The number of a block as qscc's GetBlockByTxID returns it. */
export function blockNumberOf(blockBytes: Uint8Array): number {
  return common.Block.deserializeBinary(blockBytes).getHeader()!.getNumber();
}
