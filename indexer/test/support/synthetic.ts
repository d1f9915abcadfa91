/**
 * Hand-made chains of parsed blocks with correct hashes, for store and projection tests of event
 * types the chaincode does not emit yet. Real blocks are used wherever the network can make them.
 */
import { createHash } from 'node:crypto';
import type { ParsedBlock, ParsedTransaction } from '../../src/block-parser.js';
import { blockHeaderHash } from '../../src/header-hash.js';

let counter = 0;

export function syntheticTx(index: number, events: { type: string; payload: unknown }[], valid = true): ParsedTransaction {
  const txId = createHash('sha256').update(`tx-${counter++}-${Math.random()}`).digest('hex');
  return {
    index,
    txId,
    headerType: 3,
    headerTypeName: 'ENDORSER_TRANSACTION',
    validationCode: valid ? 0 : 11,
    validationCodeName: valid ? 'VALID' : 'MVCC_READ_CONFLICT',
    valid,
    creatorMsp: 'EnterpriseMSP',
    creatorId: 'x509::/CN=test::/CN=ca',
    creatorCertSha256: '00'.repeat(32),
    timestamp: '2026-11-30T10:00:00.123456Z',
    chaincode: 'compliance',
    functionName: 'test:Fn',
    events: events.map((e) => ({
      chaincodeId: 'compliance',
      name: e.type,
      payload: Buffer.from(JSON.stringify({ schemaVersion: 1, type: e.type, txId, at: '2026-11-30T10:00:00.123Z', payload: e.payload })),
    })),
    parseError: null,
    writes: [
      {
        namespace: 'compliance',
        collection: null,
        key: `\u0000k\u0000${txId}\u0000`,
        isDelete: false,
        value: Buffer.from('{}'),
        valueHash: null,
        isPurge: false,
      },
    ],
  };
}

/** Blocks `from`..: each entry is the transactions of one block; hashes chain from `previousHash`. */
export function syntheticChain(txsPerBlock: ParsedTransaction[][], from = 0, previousHash: Buffer = Buffer.alloc(0)): ParsedBlock[] {
  const blocks: ParsedBlock[] = [];
  let prev = previousHash;
  txsPerBlock.forEach((transactions, i) => {
    const number = from + i;
    const dataHash = createHash('sha256')
      .update(`data-${number}-${transactions.map((t) => t.txId).join()}`)
      .digest();
    const headerHash = blockHeaderHash(BigInt(number), prev, dataHash);
    blocks.push({ number, headerHash, previousHash: prev, dataHash, computedDataHash: dataHash, transactions });
    prev = headerHash;
  });
  return blocks;
}

export const syntheticActor = (mspId: string) => ({ mspId, certificateId: 'x509::/CN=a::/CN=ca', role: 'safety_officer', department: 'hse', workerId: null });

/** A permit record as the chaincode writes it, with `steps` history entries (the first an application). */
export function syntheticPermit(permitNo: string, status: string, steps: number) {
  const history = Array.from({ length: steps }, (_, i) => ({
    action: i === 0 ? 'apply' : 'gas_test',
    from: i === 0 ? null : 'applied',
    to: status,
    actor: syntheticActor('EnterpriseMSP'),
    at: `2026-11-30T10:0${i}:00Z`,
    txId: `t${i}`,
  }));
  return {
    docType: 'permit',
    permitNo,
    operationType: 'hot_work',
    level: '1',
    requestedLevel: '1',
    nightOrHoliday: false,
    location: { siteId: 'S1', zoneId: 'Z1', coordinates: null, fireExplosionZone: true, outdoor: true, dikeId: null, pipelineId: null },
    workUnit: 'maintenance',
    description: 'd',
    plannedStart: '2026-11-30T10:00:00Z',
    plannedEnd: '2026-11-30T18:00:00Z',
    workers: [],
    personInChargeId: 'w1',
    guardianId: 'w2',
    hazards: [],
    measures: [],
    activities: [],
    relatedPermitNos: [],
    servesPermitNo: null,
    templateVersion: 1,
    template: {},
    status,
    confirmations: [],
    gasTests:
      steps > 1
        ? [
            {
              testId: `${permitNo}-g1`,
              sampleTakenAt: '2026-11-30T10:01:00Z',
              recordedAt: '2026-11-30T10:01:30Z',
              lelClass: 'lel_ge_4',
              flammableVolPct: 0.1,
              oxygenVolPct: null,
              toxic: [],
              passed: true,
              failures: [],
              analyst: syntheticActor('EnterpriseMSP'),
              txId: 't1',
            },
          ]
        : [],
    signOffs: [],
    briefedWorkerIds: [],
    validFrom: null,
    validUntil: null,
    suspension: null,
    history,
  };
}
