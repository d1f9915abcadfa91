/**
 * Enterprise endpoints: each write maps onto one chaincode transaction, submitted as the caller's
 * own Fabric identity. Bodies are the chaincode's input schemas from @compliance-ledger/schema
 * (minus the permit number, which is in the path), so the gateway refuses exactly what the
 * chaincode would, before anything reaches the ledger.
 */

import {
  addCertificateInput,
  alarmRefInput,
  applyPermitInput,
  assessRiskInput,
  briefInput,
  certificateReviewInput,
  certificateStatusInput,
  closeInput,
  completeInput,
  deviceStatusInput,
  EVIDENCE_STEPS,
  flagPermitInput,
  gateCheckInput,
  idSchema,
  isoTimeSchema,
  permitNoSchema,
  practicalExamInput,
  ROLES,
  type Role,
  reasonedPermitInput,
  recordGasTestInput,
  registerDeviceInput,
  registerWorkerInput,
  reviewDetectionInput,
  signOffInput,
  suspendInput,
  TX_INPUT_SCHEMAS,
  type TxName,
  workerIdSchema,
  workerStatusInput,
} from '@compliance-ledger/schema';
import { z } from 'zod';
import { type GatewayErrorCode, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors.js';
import { type Access, checkInput, type RouteContext, type RouteDef, type RouteResult } from '../http.js';
import type { StoredContent } from '../ipfs.js';
import { type TxResultBody, txResultBody } from '../ledger.js';
import { checkedStream } from '../media-check.js';
import { readMultipart } from '../multipart.js';
import type { Services } from '../services.js';
import type { EvidenceDeclaration } from '../uploads.js';
import { ledgerRecordSchema, txResultSchema } from './common.js';

const ENTERPRISE_SIGNERS: readonly Role[] = ROLES.filter((r) => !['regulator', 'auditor', 'device_gateway', 'sweeper'].includes(r));
const ANY: Access = { enterprise: 'any', regulator: 'any' };
/** The input of the permit steps that take nothing but the permit. */
const permitRef = z.strictObject({ permitNo: permitNoSchema });

/** Submits one transaction as the caller; the input is checked again with the chaincode's own schema. */
export async function submitTx(s: Services, ctx: RouteContext, tx: TxName, input: unknown, transient?: unknown): Promise<RouteResult & { body: TxResultBody }> {
  const checked = TX_INPUT_SCHEMAS[tx].safeParse(input);
  if (!checked.success) throw ValidationError.fromZod(checked.error, 'body');
  const id = await ctx.identity();
  const r = await s.ledger.submit(id, tx, input, { transient, beforeSubmit: ctx.beforeSubmit });
  s.metrics.ledgerTx.inc({ tx });
  ctx.log.info({ tx, transactionId: r.transactionId, block: r.blockNumber }, 'transaction committed');
  return { status: 200, body: txResultBody(r) };
}

/** A path parameter that names the record a route writes or reads. */
interface KeyParam {
  name: 'permitNo' | 'workerId' | 'certificateId' | 'alarmId' | 'deviceId';
  schema: z.ZodType;
}
const PERMIT_NO: KeyParam = { name: 'permitNo', schema: permitNoSchema };
const WORKER_ID: KeyParam = { name: 'workerId', schema: workerIdSchema };
const CERTIFICATE_ID: KeyParam = { name: 'certificateId', schema: idSchema };
const ALARM_ID: KeyParam = { name: 'alarmId', schema: idSchema };
const DEVICE_ID: KeyParam = { name: 'deviceId', schema: idSchema };

const PERMIT_STEP_ERRORS: GatewayErrorCode[] = ['NOT_FOUND', 'INVALID_STATE', 'RULE_VIOLATION', 'EXPIRED', 'ALREADY_EXISTS', 'CONFLICT'];
const RECORD_ERRORS: GatewayErrorCode[] = ['NOT_FOUND', 'INVALID_STATE', 'RULE_VIOLATION', 'ALREADY_EXISTS', 'CONFLICT'];

/** Every write: one chaincode transaction; the body is its input without the key in the path. */
interface WriteSpec {
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  tx: TxName;
  access: Access;
  /** The chaincode's input schema (the key in the path is left out of the body). */
  input: z.ZodType;
  key?: KeyParam;
  /** 201 for writes that add a record. */
  status?: 200 | 201;
  errors: GatewayErrorCode[];
  bodyExamples?: RouteDef['bodyExamples'];
}

function ledgerWrite(s: Services, w: WriteSpec): RouteDef {
  const status = w.status ?? 200;
  const key = w.key;
  return {
    method: 'post',
    path: w.path,
    operationId: w.operationId,
    summary: w.summary,
    tags: [w.tag],
    auth: true,
    access: w.access,
    ...(key ? { params: z.strictObject({ [key.name]: key.schema }) } : {}),
    body: key ? (w.input as z.ZodObject).omit({ [key.name]: true } as never) : w.input,
    ...(w.bodyExamples ? { bodyExamples: w.bodyExamples } : {}),
    tx: w.tx,
    responses: [{ status, description: `committed; the record after ${w.tx}`, schema: txResultSchema }],
    errors: w.errors,
    handler: async (ctx) => ({ ...(await submitTx(s, ctx, w.tx, key ? { ...(ctx.body as object), [key.name]: ctx.params[key.name] } : ctx.body)), status }),
  };
}

/** permit:GetLedgerHistory's answer: each version the ledger committed, not the record's own history array. */
export const permitLedgerHistorySchema = z.object({
  permitNo: z.string(),
  versions: z.array(
    z.object({
      txId: z.string(),
      at: z.string().meta({ description: "the committing transaction's timestamp (ISO 8601)" }),
      isDelete: z.boolean(),
      status: z.string().nullable().meta({ description: "the permit's status in that version; null for a deletion" }),
      action: z.string().nullable().meta({ description: 'the step that wrote that version; null for a deletion' }),
    }),
  ),
});

/** Every read: one chaincode query, as the caller, of the record (or list) named in the path. */
interface ReadSpec {
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  tx: TxName;
  key: KeyParam;
  /** What the answer is, for the OpenAPI document. */
  answer: string;
  list?: boolean;
  /** The answer's shape when it is not a ledger record or a list of them. */
  schema?: z.ZodType;
}

function ledgerRead(s: Services, r: ReadSpec): RouteDef {
  return {
    method: 'get',
    path: r.path,
    operationId: r.operationId,
    summary: r.summary,
    tags: [r.tag],
    auth: true,
    access: ANY,
    params: z.strictObject({ [r.key.name]: r.key.schema }),
    query: z.strictObject({}),
    responses: [{ status: 200, description: r.answer, schema: r.schema ?? (r.list ? z.array(ledgerRecordSchema) : ledgerRecordSchema) }],
    errors: ['NOT_FOUND'],
    handler: async (ctx) => ({ body: await s.ledger.evaluate(await ctx.identity(), r.tx, { [r.key.name]: ctx.params[r.key.name] }) }),
  };
}

export const evidenceFieldsSchema = z.strictObject({
  step: z.enum(EVIDENCE_STEPS),
  capturedAt: isoTimeSchema,
  deviceId: idSchema.optional(),
});

const PERMITS = 'enterprise: permits';
const CREDENTIALS = 'enterprise: credentials';
const ALARMS = 'enterprise: alarms';
/** Who may acknowledge an alarm (its response time ends then); the supervision screen offers the button to them. */
export const ALARM_ACKNOWLEDGERS = { enterprise: ['safety_officer', 'person_in_charge', 'guardian'] } as const satisfies Access;
const DEVICES = 'enterprise: devices';

/** A step of a permit's lifecycle: POST /v1/permits/{permitNo}/<step>. */
const permitStep = (step: string, w: Omit<WriteSpec, 'path' | 'tag' | 'key' | 'errors'>): WriteSpec => ({
  ...w,
  path: `/v1/permits/{permitNo}/${step}`,
  tag: PERMITS,
  key: PERMIT_NO,
  errors: PERMIT_STEP_ERRORS,
});

export function enterpriseRoutes(s: Services): RouteDef[] {
  const writes: WriteSpec[] = [
    {
      path: '/v1/permits',
      operationId: 'applyPermit',
      summary: 'Apply for a permit',
      tag: PERMITS,
      tx: 'permit:Apply',
      access: { enterprise: ['applicant'] },
      input: applyPermitInput,
      status: 201,
      errors: ['ALREADY_EXISTS', 'NOT_FOUND', 'RULE_VIOLATION'],
    },
    permitStep('risk-assessment', {
      operationId: 'assessRisk',
      summary: 'Record the risk assessment: every measure confirmed by a named person',
      tx: 'permit:AssessRisk',
      access: { enterprise: ['person_in_charge', 'safety_officer'] },
      input: assessRiskInput,
    }),
    permitStep('gas-tests', {
      operationId: 'recordGasTest',
      summary: 'Record a gas test (the chaincode judges pass/fail)',
      tx: 'permit:RecordGasTest',
      access: { enterprise: ['gas_analyst'] },
      input: recordGasTestInput,
      status: 201,
    }),
    permitStep('sign-offs', {
      operationId: 'signOff',
      summary: 'Sign off the next step of the template (review, co-sign, approval)',
      tx: 'permit:SignOff',
      access: { enterprise: ENTERPRISE_SIGNERS },
      input: signOffInput,
      status: 201,
    }),
    permitStep('reject', {
      operationId: 'rejectPermit',
      summary: 'Reject the permit',
      tx: 'permit:Reject',
      access: { enterprise: ['approver', 'safety_officer'] },
      input: reasonedPermitInput,
    }),
    permitStep('issue', {
      operationId: 'issuePermit',
      summary: 'Issue the permit (validity clock starts)',
      tx: 'permit:Issue',
      access: { enterprise: ['approver', 'safety_officer'] },
      input: permitRef,
    }),
    permitStep('brief', {
      operationId: 'briefPermit',
      summary: 'Record the safety briefing of every worker',
      tx: 'permit:Brief',
      access: { enterprise: ['person_in_charge'] },
      input: briefInput,
    }),
    permitStep('start', {
      operationId: 'startWork',
      summary: 'Start the work (activate)',
      tx: 'permit:Activate',
      access: { enterprise: ['person_in_charge'] },
      input: permitRef,
    }),
    permitStep('suspend', {
      operationId: 'suspendWork',
      summary: 'Suspend the work',
      tx: 'permit:Suspend',
      access: { enterprise: ['person_in_charge', 'safety_officer', 'guardian', 'sweeper'] },
      input: suspendInput,
    }),
    permitStep('resume', {
      operationId: 'resumeWork',
      summary: 'Resume suspended work',
      tx: 'permit:Resume',
      access: { enterprise: ['person_in_charge'] },
      input: permitRef,
    }),
    permitStep('complete', {
      operationId: 'completeWork',
      summary: 'Complete the work (site restored)',
      tx: 'permit:Complete',
      access: { enterprise: ['person_in_charge'] },
      input: completeInput,
    }),
    permitStep('close', {
      operationId: 'closePermit',
      summary: 'Close the permit after acceptance',
      tx: 'permit:Close',
      access: { enterprise: ['acceptor'] },
      input: closeInput,
    }),
    permitStep('cancel', {
      operationId: 'cancelPermit',
      summary: 'Cancel the permit before work starts',
      tx: 'permit:Cancel',
      access: { enterprise: ['applicant', 'person_in_charge'] },
      input: reasonedPermitInput,
    }),
    permitStep('revoke', {
      operationId: 'revokePermit',
      summary: 'Revoke an issued permit',
      tx: 'permit:Revoke',
      access: { enterprise: ['approver', 'safety_officer'] },
      input: reasonedPermitInput,
    }),
    permitStep('gate-checks', {
      operationId: 'recordGateCheck',
      summary: "Legacy: record a worker's gate check as the caller asserts it (QR, face score, health); gates use POST /v1/gate-checks",
      tx: 'credential:RecordGateCheck',
      access: { enterprise: ['device_gateway', 'guardian', 'safety_officer'] },
      input: gateCheckInput,
      status: 201,
    }),
    {
      path: '/v1/permits/{permitNo}/flags',
      key: PERMIT_NO,
      operationId: 'flagPermit',
      summary: 'Flag a permit for investigation (regulator, auditor)',
      tag: 'regulator',
      tx: 'permit:Flag',
      access: { regulator: ['regulator', 'auditor'] },
      input: flagPermitInput,
      status: 201,
      errors: RECORD_ERRORS,
    },
    {
      path: '/v1/workers',
      operationId: 'registerWorker',
      summary: 'Register a worker by pseudonymous id (HMAC of the ID number)',
      tag: CREDENTIALS,
      tx: 'credential:RegisterWorker',
      access: { enterprise: ['credential_officer'] },
      input: registerWorkerInput,
      status: 201,
      errors: ['ALREADY_EXISTS'],
    },
    {
      path: '/v1/workers/{workerId}/status',
      key: WORKER_ID,
      operationId: 'setWorkerStatus',
      summary: "Change a worker's status (active, suspended, left)",
      tag: CREDENTIALS,
      tx: 'credential:SetWorkerStatus',
      access: { enterprise: ['credential_officer'] },
      input: workerStatusInput,
      errors: RECORD_ERRORS,
    },
    {
      path: '/v1/certificates',
      operationId: 'addCertificate',
      summary: "Register a worker's special-operation certificate (after a person confirmed OCR output, if OCR was used)",
      tag: CREDENTIALS,
      tx: 'credential:AddCertificate',
      access: { enterprise: ['credential_officer'] },
      input: addCertificateInput,
      status: 201,
      errors: ['ALREADY_EXISTS', 'NOT_FOUND', 'RULE_VIOLATION'],
    },
    {
      path: '/v1/certificates/{certificateId}/status',
      key: CERTIFICATE_ID,
      operationId: 'setCertificateStatus',
      summary: "Change a certificate's status (valid, suspended, revoked)",
      tag: CREDENTIALS,
      tx: 'credential:SetCertificateStatus',
      access: { enterprise: ['credential_officer'], regulator: ['regulator'] },
      input: certificateStatusInput,
      errors: RECORD_ERRORS,
    },
    {
      path: '/v1/certificates/{certificateId}/reviews',
      key: CERTIFICATE_ID,
      operationId: 'recordCertificateReview',
      summary: "Record a certificate's periodic review (复审) and the next due date",
      tag: CREDENTIALS,
      tx: 'credential:RecordCertificateReview',
      access: { enterprise: ['credential_officer'] },
      input: certificateReviewInput,
      status: 201,
      errors: RECORD_ERRORS,
    },
    {
      path: '/v1/certificates/{certificateId}/practical-exams',
      key: CERTIFICATE_ID,
      operationId: 'recordPracticalExam',
      summary: 'Record a practical exam passed again after six months or more off the job (it restarts the off-the-job clock)',
      tag: CREDENTIALS,
      tx: 'credential:RecordPracticalExam',
      access: { enterprise: ['credential_officer'] },
      input: practicalExamInput,
      status: 201,
      errors: RECORD_ERRORS,
    },
    {
      path: '/v1/alarms/{alarmId}/acknowledge',
      key: ALARM_ID,
      operationId: 'acknowledgeAlarm',
      summary: 'Acknowledge an alarm (its response time is measured to this moment)',
      tag: ALARMS,
      tx: 'alarm:Acknowledge',
      access: ALARM_ACKNOWLEDGERS,
      input: alarmRefInput,
      errors: RECORD_ERRORS,
    },
    {
      path: '/v1/alarms/{alarmId}/review',
      key: ALARM_ID,
      operationId: 'reviewDetection',
      summary: "A reviewer's verdict on an AI camera detection (true_positive / false_positive), once per alarm; it feeds model precision",
      tag: ALARMS,
      tx: 'alarm:ReviewDetection',
      access: { enterprise: ['reviewer'], regulator: ['reviewer'] },
      input: reviewDetectionInput,
      status: 201,
      errors: RECORD_ERRORS,
      bodyExamples: {
        falsePositive: {
          summary: 'a shadow taken for a person without a helmet',
          value: { verdict: 'false_positive', note: 'shadow of the rack, helmet worn' },
        },
      },
    },
    {
      path: '/v1/alarms/{alarmId}/close',
      key: ALARM_ID,
      operationId: 'closeAlarm',
      summary: 'Close an alarm',
      tag: ALARMS,
      tx: 'alarm:Close',
      access: { enterprise: ['safety_officer'] },
      input: alarmRefInput,
      errors: RECORD_ERRORS,
    },
    {
      path: '/v1/devices',
      operationId: 'registerDevice',
      summary: 'Register a site device (gate, camera, sensor) with its signing address',
      tag: DEVICES,
      tx: 'device:Register',
      access: { enterprise: ['admin', 'safety_officer'] },
      input: registerDeviceInput,
      status: 201,
      errors: ['ALREADY_EXISTS'],
    },
    {
      path: '/v1/devices/{deviceId}/status',
      key: DEVICE_ID,
      operationId: 'setDeviceStatus',
      summary: "Disable or re-enable a device (owner org only); a disabled device's alarms are refused",
      tag: DEVICES,
      tx: 'device:SetStatus',
      access: { enterprise: ['admin', 'safety_officer'] },
      input: deviceStatusInput,
      errors: RECORD_ERRORS,
      bodyExamples: { disable: { summary: 'key compromised', value: { status: 'disabled', reason: 'signing key may be compromised; replaced by gate-2' } } },
    },
  ];
  const reads: ReadSpec[] = [
    {
      path: '/v1/permits/{permitNo}',
      key: PERMIT_NO,
      operationId: 'getPermit',
      summary: 'The permit as the ledger holds it now',
      tag: PERMITS,
      tx: 'permit:Get',
      answer: 'the PermitRecord',
    },
    {
      path: '/v1/permits/{permitNo}/history',
      key: PERMIT_NO,
      operationId: 'getPermitLedgerHistory',
      summary: "The permit's committed versions from the ledger's history (getHistoryForKey)",
      tag: PERMITS,
      tx: 'permit:GetLedgerHistory',
      answer: "the permit's number and its committed versions, oldest first",
      schema: permitLedgerHistorySchema,
    },
    {
      path: '/v1/permits/{permitNo}/evidence',
      key: PERMIT_NO,
      operationId: 'listEvidence',
      summary: "The permit's evidence records",
      tag: 'enterprise: evidence',
      tx: 'evidence:List',
      answer: 'EvidenceRecord[]',
      list: true,
    },
    {
      path: '/v1/permits/{permitNo}/gate-checks',
      key: PERMIT_NO,
      operationId: 'listGateChecks',
      summary: "The permit's gate checks",
      tag: CREDENTIALS,
      tx: 'credential:ListGateChecks',
      answer: 'GateCheckRecord[]',
      list: true,
    },
    {
      path: '/v1/workers/{workerId}',
      key: WORKER_ID,
      operationId: 'getWorker',
      summary: 'A worker record',
      tag: CREDENTIALS,
      tx: 'credential:GetWorker',
      answer: 'the WorkerRecord',
    },
    {
      path: '/v1/workers/{workerId}/certificates',
      key: WORKER_ID,
      operationId: 'listWorkerCertificates',
      summary: "A worker's certificates",
      tag: CREDENTIALS,
      tx: 'credential:ListCertificates',
      answer: 'CertificateRecord[]',
      list: true,
    },
    {
      path: '/v1/certificates/{certificateId}',
      key: CERTIFICATE_ID,
      operationId: 'getCertificate',
      summary: 'A certificate record',
      tag: CREDENTIALS,
      tx: 'credential:GetCertificate',
      answer: 'the CertificateRecord',
    },
    {
      path: '/v1/alarms/{alarmId}',
      key: ALARM_ID,
      operationId: 'getAlarm',
      summary: 'An alarm record',
      tag: ALARMS,
      tx: 'alarm:Get',
      answer: 'the AlarmRecord',
    },
    {
      path: '/v1/devices/{deviceId}',
      key: DEVICE_ID,
      operationId: 'getDevice',
      summary: 'A device record',
      tag: DEVICES,
      tx: 'device:Get',
      answer: 'the DeviceRecord',
    },
  ];
  return [
    ...writes.map((w) => ledgerWrite(s, w)),
    ...reads.map((r) => ledgerRead(s, r)),
    // The one route that is not a plain transaction: the file streams to IPFS before evidence:Record.
    {
      method: 'post',
      path: '/v1/permits/{permitNo}/evidence',
      operationId: 'uploadEvidence',
      summary: 'Upload evidence for a permit step (multipart, streamed to IPFS, sha256 computed on the way)',
      description:
        'multipart/form-data with the fields `step`, `capturedAt`, optional `deviceId`, then one ' +
        "part `file`. The fields must come before the file. The file's first bytes must be of the " +
        'declared media type (415 CONTENT_TYPE_MISMATCH otherwise). The content is stored in IPFS ' +
        '(CIDv1, kubo-compatible DAG) and recorded with evidence:Record. Files larger than ' +
        'GATEWAY_EVIDENCE_MAX_BYTES go through the resumable upload (/v1/uploads, tus).',
      tags: ['enterprise: evidence'],
      auth: true,
      access: { enterprise: ['applicant', 'person_in_charge', 'safety_officer', 'gas_analyst', 'guardian', 'approver', 'acceptor', 'device_gateway'] },
      params: z.strictObject({ permitNo: permitNoSchema }),
      multipart: { fields: evidenceFieldsSchema, fileField: 'file', fileDescription: 'the evidence file; its media type must be on the allow-list' },
      tx: 'evidence:Record',
      responses: [{ status: 201, description: 'stored and committed; the EvidenceRecord', schema: txResultSchema }],
      errors: ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'CONTENT_TYPE_MISMATCH', 'NOT_FOUND', 'ALREADY_EXISTS', 'EXPIRED'],
      handler: async (ctx) => ({ ...(await uploadEvidence(s, ctx)), status: 201 }),
    },
  ];
}

async function uploadEvidence(s: Services, ctx: RouteContext): Promise<RouteResult> {
  const permitNo = ctx.params.permitNo!;
  const max = s.config.GATEWAY_EVIDENCE_MAX_BYTES;
  const allowed = s.config.GATEWAY_EVIDENCE_MEDIA_TYPES;

  type Stored = { fields: z.infer<typeof evidenceFieldsSchema>; mediaType: string; cid: string; sha256: string; sizeBytes: number };
  const expected = 'the fields step, capturedAt, deviceId? and one part named file';
  const stored = await readMultipart<Stored>(ctx, { files: 1, fields: 10, fieldSize: 1024, parts: 12 }, expected, (bb, upload) => {
    const fail = (e: unknown) => upload.fail(e);
    const fields: Record<string, string> = {};
    let work: Promise<void> | undefined;
    let result: Stored | undefined;
    bb.on('field', (name, value) => {
      fields[name] = value;
    });
    bb.on('file', (name, stream, info) => {
      if (name !== 'file') {
        stream.resume();
        return fail(new ValidationError([{ path: `form.${name}`, message: 'unknown part; the file part must be named "file"' }]));
      }
      const checked = checkInput(evidenceFieldsSchema, fields, 'form');
      if ('error' in checked) {
        stream.resume();
        return fail(checked.error);
      }
      const mediaType = info.mimeType.toLowerCase();
      if (!allowed.includes(mediaType)) {
        stream.resume();
        return fail(new UnsupportedMediaTypeError(mediaType, allowed));
      }
      // Refuse an unknown permit before storing anything; the file stream waits meanwhile.
      work = ctx
        .identity()
        .then((id) => s.ledger.evaluate(id, 'permit:Get', { permitNo }))
        .then(() => checkedStream(stream, mediaType))
        .then((checked) => s.content.add(checked, max, () => new PayloadTooLargeError(max)))
        .then(
          (c) => {
            result = { fields: checked.data, mediaType, ...c };
          },
          (e) => {
            stream.resume();
            fail(e);
          },
        );
    });
    bb.on('filesLimit', () => fail(new ValidationError([{ path: 'form', message: 'send exactly one file' }])));
    bb.on('fieldsLimit', () => fail(new ValidationError([{ path: 'form', message: 'too many fields' }])));
    bb.on('close', () => {
      if (upload.settled) return;
      if (!work) return fail(new ValidationError([{ path: 'form.file', message: 'the part "file" is missing' }]));
      void work.then(() => {
        if (upload.settled || !result) return;
        if (result.sizeBytes === 0) return fail(new ValidationError([{ path: 'form.file', message: 'the file is empty' }]));
        upload.succeed(result);
      });
    });
  });

  return recordEvidence(s, ctx, { permitNo, ...stored.fields, mediaType: stored.mediaType }, stored);
}

/** evidence:Record of content already in the content store, as the caller. */
export function recordEvidence(
  s: Services,
  ctx: RouteContext,
  declared: EvidenceDeclaration,
  stored: StoredContent,
): Promise<RouteResult & { body: TxResultBody }> {
  const input = {
    permitNo: declared.permitNo,
    step: declared.step,
    cid: stored.cid,
    sha256: stored.sha256,
    sizeBytes: stored.sizeBytes,
    mediaType: declared.mediaType,
    capturedAt: declared.capturedAt,
    deviceId: declared.deviceId ?? null,
  };
  return submitTx(s, ctx, 'evidence:Record', input);
}
