/**
 * Personal data of workers (name, ID number, phone) and certificates (the certificate number):
 * stored in the enterprise's implicit private collection, read only after a logged access, erased
 * on request (PIPL). The values travel to the chaincode as transient data, endorsed by the
 * enterprise's peers alone (ledger.ts), and are never logged, stored with an Idempotency-Key
 * (write answers carry only the subject id) or put into a proposal's arguments.
 */
import * as crypto from 'node:crypto';
import {
  certificatePersonalTransient,
  idSchema,
  type PersonalDataAccessRecord,
  type TxName,
  textSchema,
  workerIdSchema,
  workerPersonalTransient,
} from '@compliance-ledger/schema';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import type { Access, RouteDef } from '../http.js';
import type { Services } from '../services.js';
import { pageSchema, txResultSchema } from './common.js';
import { submitTx } from './enterprise.js';
import { enterpriseScope } from './regulator.js';

const OFFICER: Access = { enterprise: ['credential_officer'] };
const LOG_READERS: Access = { enterprise: ['credential_officer', 'admin'], regulator: ['regulator', 'auditor'] };

interface Subject {
  kind: 'worker' | 'certificate';
  /** e.g. /v1/workers/{workerId} */
  base: string;
  key: 'workerId' | 'certificateId';
  keySchema: z.ZodType;
  storeTx: TxName;
  personal: z.ZodObject;
  what: string;
  example: Record<string, unknown>;
}

const SUBJECTS: Subject[] = [
  {
    kind: 'worker',
    base: '/v1/workers/{workerId}',
    key: 'workerId',
    keySchema: workerIdSchema,
    storeTx: 'credential:StoreWorkerPersonalData',
    personal: workerPersonalTransient,
    what: "a worker's name, ID number and phone",
    example: { name: '张伟', idNumber: '110101199001011234', phone: '13800000000', salt: 'k3J9vQz7Rt2LpX8wYb4NcA' },
  },
  {
    kind: 'certificate',
    base: '/v1/certificates/{certificateId}',
    key: 'certificateId',
    keySchema: idSchema,
    storeTx: 'credential:StoreCertificateNumber',
    personal: certificatePersonalTransient,
    what: "a certificate's number (often the holder's ID number)",
    example: { certificateNo: 'T110101199001011234', salt: 'Qm8sVw2Xe5RtYk7LpN3bZa' },
  },
];

export const personalDataReadQuery = z.strictObject({
  purpose: textSchema(500).describe('why the data is read; recorded in the public access log (no personal data here)'),
});
export const eraseBody = z.strictObject({ reason: textSchema(500) });

function routesFor(s: Services, subj: Subject): RouteDef[] {
  const params = z.strictObject({ [subj.key]: subj.keySchema });
  const tag = 'enterprise: personal data';
  return [
    {
      method: 'post',
      path: `${subj.base}/personal-data`,
      operationId: `store${subj.kind === 'worker' ? 'Worker' : 'Certificate'}PersonalData`,
      summary: `Store ${subj.what} in the enterprise's private collection (replaces an earlier value)`,
      description:
        "The body goes to the chaincode only as transient data, endorsed by the enterprise's peers " +
        'alone; the channel sees only a salted hash. `salt` is a random value of at least 128 bits ' +
        '(22+ characters) chosen by the client. The answer names the subject and the collection, ' +
        'never the data.',
      tags: [tag],
      auth: true,
      access: OFFICER,
      params,
      body: subj.personal,
      bodyExamples: { example: { summary: 'made-up data', value: subj.example } },
      tx: subj.storeTx,
      responses: [{ status: 201, description: 'committed; {subject id, collection}', schema: txResultSchema }],
      errors: ['NOT_FOUND', 'CONFLICT'],
      handler: async (ctx) => ({ ...(await submitTx(s, ctx, subj.storeTx, { [subj.key]: ctx.params[subj.key] }, ctx.body)), status: 201 }),
    },
    {
      method: 'get',
      path: `${subj.base}/personal-data`,
      operationId: `read${subj.kind === 'worker' ? 'Worker' : 'Certificate'}PersonalData`,
      summary: `Read ${subj.what}: logs the access on the ledger first (credential:LogPersonalDataAccess), then reads it (credential:ReadPersonalData)`,
      description:
        'Every call writes one public access-log entry (who, when, purpose; no personal data) and ' +
        'answers its accessId and transaction id with the data. An attempt for a subject with ' +
        'nothing stored is logged too, then answered 404. `Cache-Control: no-store`.',
      tags: [tag],
      auth: true,
      access: OFFICER,
      params,
      query: personalDataReadQuery,
      tx: 'credential:LogPersonalDataAccess',
      responses: [
        {
          status: 200,
          description: 'the stored value and the access that was logged',
          schema: z.object({
            accessId: z.string(),
            accessTransactionId: z.string(),
            accessBlockNumber: z.number().int().optional(),
            subject: z.object({ kind: z.string(), id: z.string() }),
            personal: z.object({}).catchall(z.unknown()),
          }),
          example: {
            accessId: 'pda-0b0c…',
            accessTransactionId: '4f1e…',
            accessBlockNumber: 42,
            subject: { kind: subj.kind, id: '…' },
            personal: subj.example,
          },
        },
      ],
      errors: ['NOT_FOUND', 'CONFLICT'],
      handler: async (ctx) => {
        const id = await ctx.identity();
        const subject = { kind: subj.kind, id: ctx.params[subj.key] as string };
        const accessId = `pda-${crypto.randomUUID()}`;
        const logged = await s.ledger.submit<PersonalDataAccessRecord>(id, 'credential:LogPersonalDataAccess', {
          accessId,
          subject,
          purpose: ctx.query.purpose,
        });
        s.metrics.ledgerTx.inc({ tx: 'credential:LogPersonalDataAccess' });
        ctx.log.info({ tx: 'credential:LogPersonalDataAccess', transactionId: logged.transactionId, accessId }, 'personal data access logged');
        const personal = await s.ledger.evaluate<Record<string, unknown>>(id, 'credential:ReadPersonalData', { accessId });
        return {
          body: { accessId, accessTransactionId: logged.transactionId, accessBlockNumber: logged.blockNumber, subject, personal },
          headers: { 'Cache-Control': 'no-store' },
        };
      },
    },
    {
      method: 'post',
      path: `${subj.base}/personal-data/erase`,
      operationId: `erase${subj.kind === 'worker' ? 'Worker' : 'Certificate'}PersonalData`,
      summary: `Erase ${subj.what} on request (PIPL): purged from the enterprise's peers; only the salted hash stays on the chain`,
      tags: [tag],
      auth: true,
      access: OFFICER,
      params,
      body: eraseBody,
      bodyExamples: { request: { summary: 'the holder asked for erasure', value: { reason: 'erasure requested by the data subject on 2026-03-01' } } },
      tx: 'credential:ErasePersonalData',
      responses: [{ status: 200, description: 'committed; {subject, reason, collection, erasedBy}', schema: txResultSchema }],
      errors: ['NOT_FOUND', 'CONFLICT'],
      handler: async (ctx) =>
        submitTx(s, ctx, 'credential:ErasePersonalData', {
          subject: { kind: subj.kind, id: ctx.params[subj.key] },
          reason: (ctx.body as z.infer<typeof eraseBody>).reason,
        }),
    },
    {
      method: 'get',
      path: `${subj.base}/personal-data/accesses`,
      operationId: `list${subj.kind === 'worker' ? 'Worker' : 'Certificate'}PersonalDataAccesses`,
      summary: `The access log of ${subj.what}, newest first (from the indexer's mirror of the ledger)`,
      tags: [tag],
      auth: true,
      access: LOG_READERS,
      params,
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50), offset: z.coerce.number().int().min(0).max(1_000_000).default(0) }),
      responses: [
        {
          status: 200,
          description: 'a page of access-log entries: accessId, purpose, accessor (MSP, role), time, block and transaction',
          schema: pageSchema(z.object({}).catchall(z.unknown())),
        },
      ],
      errors: ['NOT_CONFIGURED', 'STORE_UNAVAILABLE'],
      handler: async (ctx) => {
        if (!s.regulator) throw new ApiError('NOT_CONFIGURED', 'the access log is read from the indexer database: set DATABASE_URL');
        return {
          body: await s.regulator.personalDataAccesses(
            subj.kind,
            ctx.params[subj.key] as string,
            ctx.query.limit as number,
            ctx.query.offset as number,
            enterpriseScope(s, ctx),
          ),
        };
      },
    },
  ];
}

export function personalDataRoutes(s: Services): RouteDef[] {
  return SUBJECTS.flatMap((subj) => routesFor(s, subj));
}
