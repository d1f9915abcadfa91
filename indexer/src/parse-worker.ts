/**
 * The entry of a block-parsing thread (block-parsing.ts): takes a block's bytes, answers with its
 * parsed rows or the reason it cannot be read. The bytes' buffer goes back with the answer, so the
 * parsed values (views into it) cross without a copy.
 */
import { parentPort } from 'node:worker_threads';
import { common } from '@hyperledger/fabric-protos';
import { parseBlock } from './block-parser.js';
import type { ParseReply, ParseRequest } from './block-parsing.js';

const port = parentPort;
if (!port) throw new Error('parse-worker runs as a worker thread (block-parsing.ts starts it)');

port.on('message', ({ id, bytes }: ParseRequest) => {
  let reply: ParseReply;
  try {
    reply = { id, parsed: parseBlock(common.Block.deserializeBinary(bytes)) };
  } catch (err) {
    reply = { id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply, 'parsed' in reply ? [bytes.buffer as ArrayBuffer] : []);
});
