/**
 * One person, one code: a worker's current code as JSON (the QR text and what it states), as a
 * PNG for a badge printer and as an SVG for a phone screen. Only the worker themselves (a token
 * whose workerId is theirs) and the enterprise's safety officers and credential officers get it:
 * anyone holding the code can show it at a gate, so it is handed out like a key. And the gate
 * snapshot a gate syncs to decide offline.
 */

import { workerCodePng, workerCodeSvg } from '@compliance-ledger/gate-verifier';
import { GATE_SNAPSHOT_FORMAT, type GateSnapshot, type GateSnapshotState, permitNoSchema, type Role, workerIdSchema } from '@compliance-ledger/schema';
import { common as fabricCommon } from '@hyperledger/fabric-protos';
import { z } from 'zod';
import { ApiError, ForbiddenError } from '../errors.js';
import type { RouteContext, RouteDef } from '../http.js';
import type { Services } from '../services.js';
import type { IssuedWorkerCode } from '../worker-codes.js';

/** Who may fetch any worker's code, besides the worker themselves. */
export const WORKER_CODE_ROLES: readonly Role[] = ['safety_officer', 'credential_officer'];

const codeBodySchema = z.object({
  workerId: workerIdSchema,
  code: z.string().describe('the QR text: CLW1.<base64url canonical JSON>.<base64url signature>'),
  officeId: z.string(),
  epoch: z.number().int(),
  issuedAt: z.string().describe('ISO 8601'),
  expiresAt: z.string().describe('ISO 8601'),
  certificates: z.array(z.object({ certificateId: z.string(), category: z.string(), validFrom: z.string(), validUntil: z.string(), reviewDue: z.string() })),
  reissued: z.boolean().describe('true when this request issued a new code (first request, or the worker’s records changed)'),
});

const iso = (ms: number) => new Date(ms).toISOString();

async function currentCode(s: Services, ctx: RouteContext): Promise<IssuedWorkerCode> {
  const workerId = ctx.params.workerId!;
  const p = ctx.principal;
  if (p.workerId !== workerId && !WORKER_CODE_ROLES.includes(p.role)) {
    throw new ForbiddenError(
      `a worker code is given to the worker themselves (token workerId) or to a ${WORKER_CODE_ROLES.join(' or ')}; ` +
        `role ${p.role} may not fetch another person's code`,
    );
  }
  if (!s.workerCodes) throw new ApiError('NOT_CONFIGURED', 'this gateway has no credential office key; set GATEWAY_CREDENTIAL_OFFICE_KEY_FILE');
  const issued = await s.workerCodes.current(await ctx.identity(), workerId);
  ctx.log.info({ workerId, officeId: issued.payload.officeId, epoch: issued.payload.epoch, reissued: issued.reissued }, 'worker code served');
  return issued;
}

export function workerCodeRoutes(s: Services): RouteDef[] {
  const common = {
    method: 'get' as const,
    tags: ['enterprise: credentials'],
    auth: true,
    access: { enterprise: 'any' as const },
    params: z.strictObject({ workerId: workerIdSchema }),
    query: z.strictObject({}),
    errors: ['NOT_FOUND', 'NOT_CONFIGURED', 'CREDENTIAL_OFFICE_NOT_REGISTERED'] as const,
  };
  const description =
    'Issued from the ledger with the credential office key and re-issued whenever the worker’s ' +
    'certificates or status change (credential epoch) or a certificate in it expires; older codes ' +
    'are refused at the gate. For the worker themselves (token workerId) or a safety/credential officer.';
  return [
    {
      method: 'get',
      path: '/v1/permits/{permitNo}/gate-snapshot',
      operationId: 'getGateSnapshot',
      summary: 'What a gate needs to decide offline for a permit: credential office keys, crew epochs, categories, and the block height',
      description:
        'A gate-verifier GateSnapshot (format compliance-ledger/gate-snapshot@1) read from the caller’s peer: the channel ' +
        'height first, then credential:GateSnapshot, so the snapshot is never older than the height it states.',
      tags: ['enterprise: credentials'],
      auth: true,
      access: { enterprise: 'any', regulator: 'any' },
      params: z.strictObject({ permitNo: permitNoSchema }),
      query: z.strictObject({}),
      responses: [
        { status: 200, description: 'the GateSnapshot', schema: z.looseObject({ format: z.literal(GATE_SNAPSHOT_FORMAT), blockHeight: z.number() }) },
      ],
      errors: ['NOT_FOUND'],
      handler: async (ctx) => {
        const id = await ctx.identity();
        const blockHeight = Number(fabricCommon.BlockchainInfo.deserializeBinary(await s.ledger.qscc(id, 'GetChainInfo')).getHeight());
        const state = await s.ledger.evaluate<GateSnapshotState>(id, 'credential:GateSnapshot', { permitNo: ctx.params.permitNo });
        const snapshot: GateSnapshot = { format: GATE_SNAPSHOT_FORMAT, channel: s.ledger.channel, blockHeight, takenAt: Date.now(), ...state };
        return { body: snapshot };
      },
    },
    {
      ...common,
      errors: [...common.errors],
      path: '/v1/workers/{workerId}/code',
      operationId: 'getWorkerCode',
      summary: "A worker's current signed code (QR text and what it states)",
      description,
      responses: [{ status: 200, description: 'the current code', schema: codeBodySchema }],
      handler: async (ctx) => {
        const { code, payload: p, reissued } = await currentCode(s, ctx);
        return {
          body: {
            workerId: p.workerId,
            code,
            officeId: p.officeId,
            epoch: p.epoch,
            issuedAt: iso(p.issuedAt),
            expiresAt: iso(p.expiresAt),
            certificates: p.certificates.map((c) => ({ ...c, validFrom: iso(c.validFrom), validUntil: iso(c.validUntil), reviewDue: iso(c.reviewDue) })),
            reissued,
          },
          headers: { 'Cache-Control': 'no-store' },
        };
      },
    },
    ...(
      [
        ['png', 'image/png', 'badge printing', (code: string) => workerCodePng(code)],
        ['svg', 'image/svg+xml', 'phone screen', (code: string) => workerCodeSvg(code)],
      ] as const
    ).map(
      ([ext, contentType, use, render]): RouteDef => ({
        ...common,
        errors: [...common.errors],
        path: `/v1/workers/{workerId}/code.${ext}`,
        operationId: `getWorkerCode${ext === 'png' ? 'Png' : 'Svg'}`,
        summary: `A worker's current code as a QR ${ext.toUpperCase()} (${use})`,
        description,
        responses: [{ status: 200, description: 'QR code, error correction M', contentType }],
        handler: async (ctx) => ({
          body: await render((await currentCode(s, ctx)).code),
          contentType,
          headers: { 'Cache-Control': 'no-store' },
        }),
      }),
    ),
  ];
}
