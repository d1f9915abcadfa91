/**
 * Enterprise endpoints: each write maps onto one chaincode transaction, submitted as the caller's
 * own Fabric identity. Bodies are the chaincode's input schemas from @compliance-ledger/schema
 * (minus the permit number, which is in the path), so the gateway refuses exactly what the
 * chaincode would, before anything reaches the ledger.
 */
import { z } from 'zod';
import {
  EVIDENCE_STEPS,
  TX_INPUT_SCHEMAS,
  addCertificateInput,
  applyPermitInput,
  assessRiskInput,
  briefInput,
  closeInput,
  completeInput,
  gateCheckInput,
  idSchema,
  isoTimeSchema,
  permitNoSchema,
  reasonedPermitInput,
  recordGasTestInput,
  registerWorkerInput,
  registerDeviceInput,
  alarmRefInput,
  certificateReviewInput,
  practicalExamInput,
  certificateStatusInput,
  deviceStatusInput,
  reviewDetectionInput,
  flagPermitInput,
  workerStatusInput,
  signOffInput,
  suspendInput,
  workerIdSchema,
  ROLES,
  type Role,
  type TxName,
} from '@compliance-ledger/schema';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors.js';
import type { Access, RouteContext, RouteDef, RouteResult } from '../http.js';
import { readMultipart } from '../multipart.js';
import type { Services } from '../services.js';
import { ledgerRecordSchema, txResultSchema } from './common.js';
import { txResultBody, type TxResultBody } from '../ledger.js';

const ENTERPRISE_SIGNERS: readonly Role[] = ROLES.filter((r) => !['regulator', 'auditor', 'device_gateway'].includes(r));
const ANY: Access = { enterprise: 'any', regulator: 'any' };
const permitParams = z.strictObject({ permitNo: permitNoSchema });
const emptyBody = z.strictObject({});

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

interface ActionSpec {
  path: string;
  operationId: string;
  summary: string;
  tx: TxName;
  roles: readonly Role[];
  /** Body schema: the chaincode input without permitNo. */
  body: z.ZodObject;
  status?: number;
}

function permitAction(s: Services, a: ActionSpec): RouteDef {
  return {
    method: 'post',
    path: `/v1/permits/{permitNo}/${a.path}`,
    operationId: a.operationId,
    summary: a.summary,
    tags: ['enterprise: permits'],
    auth: true,
    access: { enterprise: a.roles },
    params: permitParams,
    body: a.body,
    tx: a.tx,
    responses: [{ status: a.status ?? 200, description: `committed; the record after ${a.tx}`, schema: txResultSchema }],
    errors: ['NOT_FOUND', 'INVALID_STATE', 'RULE_VIOLATION', 'EXPIRED', 'ALREADY_EXISTS', 'CONFLICT'],
    handler: async (ctx) => ({ ...(await submitTx(s, ctx, a.tx, { ...(ctx.body as object), permitNo: ctx.params.permitNo })), status: a.status ?? 200 }),
  };
}

interface KeyedActionSpec {
  /** e.g. /v1/alarms/{alarmId}/acknowledge */
  path: string;
  key: 'alarmId' | 'certificateId' | 'workerId' | 'permitNo' | 'deviceId';
  keySchema: z.ZodType;
  operationId: string;
  summary: string;
  tag: string;
  tx: TxName;
  access: Access;
  body: z.ZodObject;
  status?: number;
  bodyExamples?: RouteDef['bodyExamples'];
}

/** A write on a record named in the path: the body is the input without that key. */
function keyedAction(s: Services, a: KeyedActionSpec): RouteDef {
  return {
    method: 'post',
    path: a.path,
    operationId: a.operationId,
    summary: a.summary,
    tags: [a.tag],
    auth: true,
    access: a.access,
    params: z.strictObject({ [a.key]: a.keySchema }),
    body: a.body.omit({ [a.key]: true } as never) as z.ZodObject,
    ...(a.bodyExamples ? { bodyExamples: a.bodyExamples } : {}),
    tx: a.tx,
    responses: [{ status: a.status ?? 200, description: `committed; the record after ${a.tx}`, schema: txResultSchema }],
    errors: ['NOT_FOUND', 'INVALID_STATE', 'RULE_VIOLATION', 'ALREADY_EXISTS', 'CONFLICT'],
    handler: async (ctx) => ({ ...(await submitTx(s, ctx, a.tx, { ...(ctx.body as object), [a.key]: ctx.params[a.key] })), status: a.status ?? 200 }),
  };
}

const omitPermitNo = <T extends z.ZodObject>(schema: T) => schema.omit({ permitNo: true } as never) as z.ZodObject;

export const evidenceFieldsSchema = z.strictObject({
  step: z.enum(EVIDENCE_STEPS),
  capturedAt: isoTimeSchema,
  deviceId: idSchema.optional(),
});

export function enterpriseRoutes(s: Services): RouteDef[] {
  const actions: ActionSpec[] = [
    { path: 'risk-assessment', operationId: 'assessRisk', summary: 'Record the risk assessment: every measure confirmed by a named person', tx: 'permit:AssessRisk', roles: ['person_in_charge', 'safety_officer'], body: omitPermitNo(assessRiskInput) },
    { path: 'gas-tests', operationId: 'recordGasTest', summary: 'Record a gas test (the chaincode judges pass/fail)', tx: 'permit:RecordGasTest', roles: ['gas_analyst'], body: omitPermitNo(recordGasTestInput), status: 201 },
    { path: 'sign-offs', operationId: 'signOff', summary: 'Sign off the next step of the template (review, co-sign, approval)', tx: 'permit:SignOff', roles: ENTERPRISE_SIGNERS, body: omitPermitNo(signOffInput), status: 201 },
    { path: 'reject', operationId: 'rejectPermit', summary: 'Reject the permit', tx: 'permit:Reject', roles: ['approver', 'safety_officer'], body: omitPermitNo(reasonedPermitInput) },
    { path: 'issue', operationId: 'issuePermit', summary: 'Issue the permit (validity clock starts)', tx: 'permit:Issue', roles: ['approver', 'safety_officer'], body: emptyBody },
    { path: 'brief', operationId: 'briefPermit', summary: 'Record the safety briefing of every worker', tx: 'permit:Brief', roles: ['person_in_charge'], body: omitPermitNo(briefInput) },
    { path: 'start', operationId: 'startWork', summary: 'Start the work (activate)', tx: 'permit:Activate', roles: ['person_in_charge'], body: emptyBody },
    { path: 'suspend', operationId: 'suspendWork', summary: 'Suspend the work', tx: 'permit:Suspend', roles: ['person_in_charge', 'safety_officer', 'guardian'], body: omitPermitNo(suspendInput) },
    { path: 'resume', operationId: 'resumeWork', summary: 'Resume suspended work', tx: 'permit:Resume', roles: ['person_in_charge'], body: emptyBody },
    { path: 'complete', operationId: 'completeWork', summary: 'Complete the work (site restored)', tx: 'permit:Complete', roles: ['person_in_charge'], body: omitPermitNo(completeInput) },
    { path: 'close', operationId: 'closePermit', summary: 'Close the permit after acceptance', tx: 'permit:Close', roles: ['acceptor'], body: omitPermitNo(closeInput) },
    { path: 'cancel', operationId: 'cancelPermit', summary: 'Cancel the permit before work starts', tx: 'permit:Cancel', roles: ['applicant', 'person_in_charge'], body: omitPermitNo(reasonedPermitInput) },
    { path: 'revoke', operationId: 'revokePermit', summary: 'Revoke an issued permit', tx: 'permit:Revoke', roles: ['approver', 'safety_officer'], body: omitPermitNo(reasonedPermitInput) },
    { path: 'gate-checks', operationId: 'recordGateCheck', summary: "Record a worker's gate check (QR, face match result, certificate, health)", tx: 'credential:RecordGateCheck', roles: ['device_gateway', 'guardian', 'safety_officer'], body: omitPermitNo(gateCheckInput), status: 201 },
  ];

  const routes: RouteDef[] = [
    {
      method: 'post',
      path: '/v1/permits',
      operationId: 'applyPermit',
      summary: 'Apply for a permit',
      tags: ['enterprise: permits'],
      auth: true,
      access: { enterprise: ['applicant'] },
      body: applyPermitInput,
      tx: 'permit:Apply',
      responses: [{ status: 201, description: 'committed; the permit as applied', schema: txResultSchema }],
      errors: ['ALREADY_EXISTS', 'NOT_FOUND', 'RULE_VIOLATION'],
      handler: async (ctx) => ({ ...(await submitTx(s, ctx, 'permit:Apply', ctx.body)), status: 201 }),
    },
    ...actions.map((a) => permitAction(s, a)),
    keyedAction(s, { path: '/v1/permits/{permitNo}/flags', key: 'permitNo', keySchema: permitNoSchema, operationId: 'flagPermit', summary: 'Flag a permit for investigation (regulator, auditor)', tag: 'regulator', tx: 'permit:Flag', access: { regulator: ['regulator', 'auditor'] }, body: flagPermitInput, status: 201 }),
    keyedAction(s, { path: '/v1/workers/{workerId}/status', key: 'workerId', keySchema: workerIdSchema, operationId: 'setWorkerStatus', summary: "Change a worker's status (active, suspended, left)", tag: 'enterprise: credentials', tx: 'credential:SetWorkerStatus', access: { enterprise: ['credential_officer'] }, body: workerStatusInput }),
    keyedAction(s, { path: '/v1/certificates/{certificateId}/status', key: 'certificateId', keySchema: idSchema, operationId: 'setCertificateStatus', summary: "Change a certificate's status (valid, suspended, revoked)", tag: 'enterprise: credentials', tx: 'credential:SetCertificateStatus', access: { enterprise: ['credential_officer'], regulator: ['regulator'] }, body: certificateStatusInput }),
    keyedAction(s, { path: '/v1/certificates/{certificateId}/reviews', key: 'certificateId', keySchema: idSchema, operationId: 'recordCertificateReview', summary: "Record a certificate's periodic review (复审) and the next due date", tag: 'enterprise: credentials', tx: 'credential:RecordCertificateReview', access: { enterprise: ['credential_officer'] }, body: certificateReviewInput, status: 201 }),
    keyedAction(s, { path: '/v1/certificates/{certificateId}/practical-exams', key: 'certificateId', keySchema: idSchema, operationId: 'recordPracticalExam', summary: 'Record a practical exam passed again after six months or more off the job (it restarts the off-the-job clock)', tag: 'enterprise: credentials', tx: 'credential:RecordPracticalExam', access: { enterprise: ['credential_officer'] }, body: practicalExamInput, status: 201 }),
    keyedAction(s, { path: '/v1/alarms/{alarmId}/acknowledge', key: 'alarmId', keySchema: idSchema, operationId: 'acknowledgeAlarm', summary: 'Acknowledge an alarm (its response time is measured to this moment)', tag: 'enterprise: alarms', tx: 'alarm:Acknowledge', access: { enterprise: ['safety_officer', 'person_in_charge', 'guardian'] }, body: alarmRefInput }),
    keyedAction(s, { path: '/v1/devices/{deviceId}/status', key: 'deviceId', keySchema: idSchema, operationId: 'setDeviceStatus', summary: "Disable or re-enable a device (owner org only); a disabled device's alarms are refused", tag: 'enterprise: devices', tx: 'device:SetStatus', access: { enterprise: ['admin', 'safety_officer'] }, body: deviceStatusInput, bodyExamples: { disable: { summary: 'key compromised', value: { status: 'disabled', reason: 'signing key may be compromised; replaced by gate-2' } } } }),
    keyedAction(s, { path: '/v1/alarms/{alarmId}/review', key: 'alarmId', keySchema: idSchema, operationId: 'reviewDetection', summary: "A reviewer's verdict on an AI camera detection (true_positive / false_positive), once per alarm; it feeds model precision", tag: 'enterprise: alarms', tx: 'alarm:ReviewDetection', access: { enterprise: ['reviewer'], regulator: ['reviewer'] }, body: reviewDetectionInput, status: 201, bodyExamples: { falsePositive: { summary: 'a shadow taken for a person without a helmet', value: { verdict: 'false_positive', note: 'shadow of the rack, helmet worn' } } } }),
    keyedAction(s, { path: '/v1/alarms/{alarmId}/close', key: 'alarmId', keySchema: idSchema, operationId: 'closeAlarm', summary: 'Close an alarm', tag: 'enterprise: alarms', tx: 'alarm:Close', access: { enterprise: ['safety_officer'] }, body: alarmRefInput }),
    {
      method: 'get',
      path: '/v1/permits/{permitNo}',
      operationId: 'getPermit',
      summary: 'The permit as the ledger holds it now',
      tags: ['enterprise: permits'],
      auth: true,
      access: ANY,
      params: permitParams,
      query: z.strictObject({}),
      responses: [{ status: 200, description: 'the PermitRecord', schema: ledgerRecordSchema }],
      errors: ['NOT_FOUND'],
      handler: async (ctx) => ({ body: await s.ledger.evaluate(await ctx.identity(), 'permit:Get', { permitNo: ctx.params.permitNo }) }),
    },
    {
      method: 'get',
      path: '/v1/permits/{permitNo}/evidence',
      operationId: 'listEvidence',
      summary: "The permit's evidence records",
      tags: ['enterprise: evidence'],
      auth: true,
      access: ANY,
      params: permitParams,
      query: z.strictObject({}),
      responses: [{ status: 200, description: 'EvidenceRecord[]', schema: z.array(ledgerRecordSchema) }],
      handler: async (ctx) => ({ body: await s.ledger.evaluate(await ctx.identity(), 'evidence:List', { permitNo: ctx.params.permitNo }) }),
    },
    {
      method: 'post',
      path: '/v1/permits/{permitNo}/evidence',
      operationId: 'uploadEvidence',
      summary: 'Upload evidence for a permit step (multipart, streamed to IPFS, sha256 computed on the way)',
      description:
        'multipart/form-data with the fields `step`, `capturedAt`, optional `deviceId`, then one part `file`. The fields must come before the file. The content is stored in IPFS (CIDv1, kubo-compatible DAG) and recorded with evidence:Record.',
      tags: ['enterprise: evidence'],
      auth: true,
      access: { enterprise: ['applicant', 'person_in_charge', 'safety_officer', 'gas_analyst', 'guardian', 'approver', 'acceptor', 'device_gateway'] },
      params: permitParams,
      multipart: { fields: evidenceFieldsSchema, fileField: 'file', fileDescription: 'the evidence file; its media type must be on the allow-list' },
      tx: 'evidence:Record',
      responses: [{ status: 201, description: 'stored and committed; the EvidenceRecord', schema: txResultSchema }],
      errors: ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'NOT_FOUND', 'ALREADY_EXISTS', 'EXPIRED'],
      handler: async (ctx) => ({ ...(await uploadEvidence(s, ctx)), status: 201 }),
    },
    ...(
      [
        ['/v1/permits/{permitNo}/history', 'getPermitLedgerHistory', "The permit's committed versions from the ledger's history (getHistoryForKey)", 'permit:GetLedgerHistory', 'permitNo', permitNoSchema, 'enterprise: permits'],
        ['/v1/permits/{permitNo}/gate-checks', 'listGateChecks', "The permit's gate checks", 'credential:ListGateChecks', 'permitNo', permitNoSchema, 'enterprise: credentials'],
        ['/v1/workers/{workerId}/certificates', 'listWorkerCertificates', "A worker's certificates", 'credential:ListCertificates', 'workerId', workerIdSchema, 'enterprise: credentials'],
        ['/v1/alarms/{alarmId}', 'getAlarm', 'An alarm record', 'alarm:Get', 'alarmId', idSchema, 'enterprise: alarms'],
      ] as const
    ).map(
      ([p, operationId, summary, tx, key, keySchema, tag]): RouteDef => ({
        method: 'get',
        path: p,
        operationId,
        summary,
        tags: [tag],
        auth: true,
        access: ANY,
        params: z.strictObject({ [key]: keySchema }),
        query: z.strictObject({}),
        responses: [{ status: 200, description: `the result of ${tx}`, schema: z.union([ledgerRecordSchema, z.array(ledgerRecordSchema)]) }],
        errors: ['NOT_FOUND'],
        handler: async (ctx) => ({ body: await s.ledger.evaluate(await ctx.identity(), tx, { [key]: ctx.params[key] }) }),
      }),
    ),
    {
      method: 'post',
      path: '/v1/workers',
      operationId: 'registerWorker',
      summary: 'Register a worker by pseudonymous id (HMAC of the ID number)',
      tags: ['enterprise: credentials'],
      auth: true,
      access: { enterprise: ['credential_officer'] },
      body: registerWorkerInput,
      tx: 'credential:RegisterWorker',
      responses: [{ status: 201, description: 'committed; the WorkerRecord', schema: txResultSchema }],
      errors: ['ALREADY_EXISTS'],
      handler: async (ctx) => ({ ...(await submitTx(s, ctx, 'credential:RegisterWorker', ctx.body)), status: 201 }),
    },
    {
      method: 'get',
      path: '/v1/workers/{workerId}',
      operationId: 'getWorker',
      summary: 'A worker record',
      tags: ['enterprise: credentials'],
      auth: true,
      access: ANY,
      params: z.strictObject({ workerId: workerIdSchema }),
      query: z.strictObject({}),
      responses: [{ status: 200, description: 'the WorkerRecord', schema: ledgerRecordSchema }],
      errors: ['NOT_FOUND'],
      handler: async (ctx) => ({ body: await s.ledger.evaluate(await ctx.identity(), 'credential:GetWorker', { workerId: ctx.params.workerId }) }),
    },
    {
      method: 'post',
      path: '/v1/certificates',
      operationId: 'addCertificate',
      summary: "Register a worker's special-operation certificate (after a person confirmed OCR output, if OCR was used)",
      tags: ['enterprise: credentials'],
      auth: true,
      access: { enterprise: ['credential_officer'] },
      body: addCertificateInput,
      tx: 'credential:AddCertificate',
      responses: [{ status: 201, description: 'committed; the CertificateRecord', schema: txResultSchema }],
      errors: ['ALREADY_EXISTS', 'NOT_FOUND', 'RULE_VIOLATION'],
      handler: async (ctx) => ({ ...(await submitTx(s, ctx, 'credential:AddCertificate', ctx.body)), status: 201 }),
    },
    {
      method: 'get',
      path: '/v1/certificates/{certificateId}',
      operationId: 'getCertificate',
      summary: 'A certificate record',
      tags: ['enterprise: credentials'],
      auth: true,
      access: ANY,
      params: z.strictObject({ certificateId: idSchema }),
      query: z.strictObject({}),
      responses: [{ status: 200, description: 'the CertificateRecord', schema: ledgerRecordSchema }],
      errors: ['NOT_FOUND'],
      handler: async (ctx) => ({ body: await s.ledger.evaluate(await ctx.identity(), 'credential:GetCertificate', { certificateId: ctx.params.certificateId }) }),
    },
    {
      method: 'post',
      path: '/v1/devices',
      operationId: 'registerDevice',
      summary: 'Register a site device (gate, camera, sensor) with its signing address',
      tags: ['enterprise: devices'],
      auth: true,
      access: { enterprise: ['admin', 'safety_officer'] },
      body: registerDeviceInput,
      tx: 'device:Register',
      responses: [{ status: 201, description: 'committed; the DeviceRecord', schema: txResultSchema }],
      errors: ['ALREADY_EXISTS'],
      handler: async (ctx) => ({ ...(await submitTx(s, ctx, 'device:Register', ctx.body)), status: 201 }),
    },
    {
      method: 'get',
      path: '/v1/devices/{deviceId}',
      operationId: 'getDevice',
      summary: 'A device record',
      tags: ['enterprise: devices'],
      auth: true,
      access: ANY,
      params: z.strictObject({ deviceId: idSchema }),
      query: z.strictObject({}),
      responses: [{ status: 200, description: 'the DeviceRecord', schema: ledgerRecordSchema }],
      errors: ['NOT_FOUND'],
      handler: async (ctx) => ({ body: await s.ledger.evaluate(await ctx.identity(), 'device:Get', { deviceId: ctx.params.deviceId }) }),
    },
  ];
  return routes;
}

async function uploadEvidence(s: Services, ctx: RouteContext<{ permitNo: string }>): Promise<RouteResult> {
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
      const parsed = evidenceFieldsSchema.safeParse(fields);
      if (!parsed.success) {
        stream.resume();
        return fail(ValidationError.fromZod(parsed.error, 'form'));
      }
      const mediaType = info.mimeType.toLowerCase();
      if (!allowed.includes(mediaType)) {
        stream.resume();
        return fail(new UnsupportedMediaTypeError(mediaType, allowed));
      }
      // Refuse an unknown permit before storing anything; the file stream waits meanwhile.
      work = ctx
        .identity()
        .then((id) => s.ledger.evaluate(id, 'permit:Get', { permitNo: ctx.params.permitNo }))
        .then(() => s.content.add(stream, max, () => new PayloadTooLargeError(max)))
        .then(
        (c) => {
          result = { fields: parsed.data, mediaType, ...c };
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

  const input = {
    permitNo: ctx.params.permitNo,
    step: stored.fields.step,
    cid: stored.cid,
    sha256: stored.sha256,
    sizeBytes: stored.sizeBytes,
    mediaType: stored.mediaType,
    capturedAt: stored.fields.capturedAt,
    deviceId: stored.fields.deviceId ?? null,
  };
  return submitTx(s, ctx, 'evidence:Record', input);
}

