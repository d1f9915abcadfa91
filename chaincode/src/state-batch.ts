/**
 * Many state reads in one request to the peer, and a transaction's writes in one more. fabric-shim
 * sends one gRPC message per getState, putState, deleteState and setStateValidationParameter, and
 * both the chaincode server and the peer pay for each (a permit:Apply made fifteen state calls on
 * each endorsing peer; bench/RESULTS.md, issue 18 point 3). Fabric 3.1 peers take a list of keys in
 * one GET_STATE_MULTIPLE and a list of writes in one WRITE_BATCH_STATE; fabric-shim 2.5.8 does
 * not send either, so the messages are built here and go through the shim's own queue for the
 * transaction, exactly as its single calls do. The peer records each key of a multiple read in the
 * read set with its version, as for a single read, and applies a batch's writes in their order, as
 * if each had been sent alone: the endorsement's read and write sets are the same.
 */
import { createRequire } from 'node:module';
import type { ChaincodeStub } from 'fabric-shim';
import { bytesFields, encodeMessage, type Field, text } from './protobuf-wire';

/** One write of a transaction, in the order the transaction made it. */
export type StateWrite =
  | { kind: 'put'; key: string; value: Uint8Array }
  | { kind: 'delete'; key: string }
  /** A key's endorsement policy (state-based endorsement): the VALIDATION_PARAMETER metadata entry. */
  | { kind: 'policy'; key: string; policy: Uint8Array };

/** Reads and writes many keys of the public state per request. */
export interface BatchedState {
  /** The committed value of each key, in the keys' order; empty where a key has none. */
  getStates(keys: string[]): Promise<Uint8Array[]>;
  /** Applies the writes in their order. */
  writeBatch(writes: StateWrite[]): Promise<void>;
}

/** The metadata key of a key-level endorsement policy, as fabric-shim's setStateValidationParameter names it. */
const VALIDATION_PARAMETER = 'VALIDATION_PARAMETER';
/** Fabric's default for both (chaincode.runtimeParams.maxSizeWriteBatch and maxSizeGetMultipleKeys in core.yaml). */
export const MAX_KEYS_PER_REQUEST = 1000;

/**
 * Numbers from Fabric 3.1's peer/chaincode_shim.proto: ChaincodeMessage.Type, WriteRecord.Type,
 * and the fields of GetStateMultiple (keys 1, collection 2), GetStateMultipleResult (values 1),
 * WriteBatchState (rec 1), WriteRecord (key 1, value 2, collection 3, metadata 4, type 5) and
 * StateMetadata (metakey 1, value 2).
 */
export const MESSAGE = { WRITE_BATCH_STATE: 24, GET_STATE_MULTIPLE: 25 } as const;
export const WRITE_RECORD = { PUT_STATE: 9, DEL_STATE: 10, PUT_STATE_METADATA: 21 } as const;

// The envelope is the class fabric-shim itself sends, whatever the hoisting (see protobuf-wire.ts).
const shimRequire = createRequire(require.resolve('fabric-shim'));
interface ShimMessage {
  setType(type: number): void;
  setPayload(payload: Uint8Array): void;
  setTxid(txId: string): void;
  setChannelId(channelId: string): void;
}
const ShimChaincodeMessage = (shimRequire('@hyperledger/fabric-protos') as { peer: { ChaincodeMessage: new () => ShimMessage } }).peer.ChaincodeMessage;

interface ShimHandler {
  _askPeerAndListen(msg: ShimMessage, method: string): Promise<unknown>;
}

/** What fabric-shim's ChaincodeStub holds that a request needs: the stream's handler and the transaction. */
interface ShimStub {
  handler?: Partial<ShimHandler>;
  channel_id?: string;
  txId?: string;
}

/** A peer request through the shim's per-transaction queue: one at a time, answered in order. */
class PeerBatchedState implements BatchedState {
  constructor(
    private readonly handler: ShimHandler,
    private readonly channelId: string,
    private readonly txId: string,
  ) {}

  private async ask(type: number, payload: Uint8Array, method: string): Promise<Uint8Array> {
    const msg = new ShimChaincodeMessage();
    msg.setType(type);
    msg.setPayload(payload);
    msg.setTxid(this.txId);
    msg.setChannelId(this.channelId);
    // An ERROR answer is thrown by the shim with the peer's text; RESPONSE comes back as its payload bytes.
    const answer = await this.handler._askPeerAndListen(msg, method);
    if (!(answer instanceof Uint8Array)) throw new Error(`the peer answered ${method} with ${typeof answer}, not bytes`);
    return answer;
  }

  async getStates(keys: string[]): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (let i = 0; i < keys.length; i += MAX_KEYS_PER_REQUEST) {
      const part = keys.slice(i, i + MAX_KEYS_PER_REQUEST);
      const request = encodeMessage(part.map((k) => ({ field: 1, bytes: text(k) })));
      const answer = await this.ask(MESSAGE.GET_STATE_MULTIPLE, request, 'GetStateMultiple');
      const values = bytesFields(answer, 1);
      // Fabric 3.1.5's query executor answers a database failure with no values at all rather than
      // an error: a short answer must not read as "these keys are absent".
      if (values.length !== part.length) {
        throw new Error(`the peer answered ${values.length} values for ${part.length} keys; the state database may have failed`);
      }
      out.push(...values);
    }
    return out;
  }

  async writeBatch(writes: StateWrite[]): Promise<void> {
    for (let i = 0; i < writes.length; i += MAX_KEYS_PER_REQUEST) {
      const batch = encodeMessage(writes.slice(i, i + MAX_KEYS_PER_REQUEST).map((w) => ({ field: 1, bytes: writeRecord(w) })));
      await this.ask(MESSAGE.WRITE_BATCH_STATE, batch, 'WriteBatchState');
    }
  }
}

function writeRecord(w: StateWrite): Uint8Array {
  const fields: Field[] = [{ field: 1, bytes: text(w.key) }];
  if (w.kind === 'put') fields.push({ field: 2, bytes: w.value }, { field: 5, varint: WRITE_RECORD.PUT_STATE });
  else if (w.kind === 'delete') fields.push({ field: 5, varint: WRITE_RECORD.DEL_STATE });
  else {
    const metadata = encodeMessage([
      { field: 1, bytes: text(VALIDATION_PARAMETER) },
      { field: 2, bytes: w.policy },
    ]);
    fields.push({ field: 4, bytes: metadata }, { field: 5, varint: WRITE_RECORD.PUT_STATE_METADATA });
  }
  return encodeMessage(fields);
}

/**
 * The batched reads and writes of a transaction's stub: the stub's own where it has them (the unit
 * tests' in-memory stub), else requests to the peer through fabric-shim's stream.
 */
export function batchedStateOf(stub: ChaincodeStub): BatchedState {
  const own = stub as unknown as Partial<BatchedState>;
  if (typeof own.getStates === 'function' && typeof own.writeBatch === 'function') return own as BatchedState;
  const s = stub as unknown as ShimStub;
  const handler = s.handler;
  if (typeof handler?._askPeerAndListen !== 'function' || typeof s.channel_id !== 'string' || typeof s.txId !== 'string') {
    // fabric-shim is pinned; a version that no longer has these fails every transaction loudly here.
    throw new Error('this fabric-shim has no per-transaction request queue (handler._askPeerAndListen); batched state access needs fabric-shim 2.5');
  }
  return new PeerBatchedState(handler as ShimHandler, s.channel_id, s.txId);
}
