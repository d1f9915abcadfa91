/**
 * Workflow templates and the ledger policy: versioned ledger data that the regulator (or, only
 * tightening GB 30871, the enterprise's safety officer) publishes and everyone reads.
 */

import {
  DEFAULT_TEMPLATES,
  ENTERPRISE_MSP,
  OPERATION_LEVELS,
  OPERATION_TYPES,
  publishPolicyInput,
  publishTemplateInput,
  REGULATOR_MSP,
  type Role,
  TX_ACCESS,
  type WorkflowTemplate,
} from '@compliance-ledger/schema';
import { z } from 'zod';
import type { Access, RouteDef } from '../http.js';
import type { Services } from '../services.js';
import { ledgerRecordSchema, txResultSchema } from './common.js';
import { submitTx } from './enterprise.js';

const ANY: Access = { enterprise: 'any', regulator: 'any' };
const ALL_LEVELS = [...new Set(Object.values(OPERATION_LEVELS).flat())] as [string, ...string[]];

/** The gateway's role check for a transaction, read from the chaincode's own table. */
function accessOf(tx: keyof typeof TX_ACCESS): Access {
  const rule = TX_ACCESS[tx];
  return {
    ...(rule[ENTERPRISE_MSP] ? { enterprise: rule[ENTERPRISE_MSP] as readonly Role[] } : {}),
    ...(rule[REGULATOR_MSP] ? { regulator: rule[REGULATOR_MSP] as readonly Role[] } : {}),
  };
}

export const templateParams = z
  .strictObject({
    operationType: z.enum(OPERATION_TYPES),
    level: z.enum(ALL_LEVELS).describe(`the level of the operation type: ${OPERATION_TYPES.map((t) => `${t} ${OPERATION_LEVELS[t].join('/')}`).join('; ')}`),
  })
  .refine((p) => OPERATION_LEVELS[p.operationType].includes(p.level), {
    path: ['level'],
    error: 'this level does not exist for the operation type; see the levels in the parameter description',
  });

const templateBody = publishTemplateInput.omit({ operationType: true, level: true });

const unpublished = (t: WorkflowTemplate) => {
  const { operationType: _o, level: _l, version: _v, publishedBy: _b, publishedAt: _a, ...body } = t;
  return body;
};
const hotWork2 = DEFAULT_TEMPLATES.find((t) => t.operationType === 'hot_work' && t.level === '2')!;
const blindPlate = DEFAULT_TEMPLATES.find((t) => t.operationType === 'blind_plate')!;

export const POLICY_EXAMPLE = {
  alarmSuspendMaxGrade: 2,
  gateCheckWindowMinutes: 60,
  faceMatchMinScoreBp: 8000,
  personalDataAccessWindowMinutes: 15,
  simopsRules: [
    {
      ruleId: 'hot-vs-painting-10m',
      a: { operationType: 'hot_work' },
      b: { activity: 'painting' },
      withinMetres: 10,
      sameDike: false,
      samePipeline: false,
      fireExplosionZoneOnly: false,
    },
  ],
  workCalendar: { utcOffsetMinutes: 480, nightStartMinute: 1320, nightEndMinute: 360, restDays: [0, 6], holidays: ['2026-10-01'], workdays: ['2026-09-27'] },
};

export function templateRoutes(s: Services): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/v1/templates/{operationType}/{level}',
      operationId: 'getTemplate',
      summary: 'The workflow template of an operation type and level: the newest version, or the one asked for',
      description: 'Version 1 is the built-in GB 30871 template; published versions follow. A permit keeps the version it was applied under.',
      tags: ['templates and policy'],
      auth: true,
      access: ANY,
      params: templateParams,
      query: z.strictObject({ version: z.coerce.number().int().min(1).max(1_000_000).optional().describe('a published version; default the newest') }),
      tx: 'template:Get',
      responses: [{ status: 200, description: 'the WorkflowTemplate', schema: ledgerRecordSchema, example: { ...hotWork2 } }],
      errors: ['NOT_FOUND'],
      handler: async (ctx) => ({
        body: await s.ledger.evaluate(await ctx.identity(), 'template:Get', {
          operationType: ctx.params.operationType,
          level: ctx.params.level,
          ...(ctx.query.version ? { version: ctx.query.version } : {}),
        }),
      }),
    },
    {
      method: 'get',
      path: '/v1/templates/{operationType}/{level}/versions',
      operationId: 'listTemplateVersions',
      summary: 'Every version of a template, oldest first (version 1 is the built-in one)',
      tags: ['templates and policy'],
      auth: true,
      access: ANY,
      params: templateParams,
      query: z.strictObject({}),
      tx: 'template:Get',
      responses: [{ status: 200, description: 'WorkflowTemplate[]', schema: z.array(ledgerRecordSchema) }],
      handler: async (ctx) => {
        const id = await ctx.identity();
        const key = { operationType: ctx.params.operationType, level: ctx.params.level };
        const newest = await s.ledger.evaluate<WorkflowTemplate>(id, 'template:Get', key);
        const versions: WorkflowTemplate[] = [];
        for (let v = 1; v < newest.version; v++) versions.push(await s.ledger.evaluate<WorkflowTemplate>(id, 'template:Get', { ...key, version: v }));
        return { body: [...versions, newest] };
      },
    },
    {
      method: 'post',
      path: '/v1/templates/{operationType}/{level}',
      operationId: 'publishTemplate',
      summary: 'Publish a new version of a template (regulator; the enterprise safety officer only if it is not looser than GB 30871)',
      description:
        'Appends version n+1; nothing is overwritten, and permits already applied for keep their ' +
        'version. Every step role must be able to sign permits. From the enterprise, a template ' +
        'looser than the built-in one (longer standard validity, weaker gas criteria, a default ' +
        'step removed or weakened, a certificate category or the gate check dropped) is 422 ' +
        'RULE_VIOLATION: only the regulator may publish that.',
      tags: ['templates and policy'],
      auth: true,
      access: accessOf('template:Publish'),
      params: templateParams,
      body: templateBody,
      bodyExamples: {
        builtIn: { summary: 'hot work level 2 as built in (version 1)', value: unpublished(hotWork2) },
        extraStep: {
          summary: 'blind plate with an environmental review before the approval',
          value: {
            ...unpublished(blindPlate),
            signOffSteps: [
              {
                stepId: 'eia',
                name: 'Environmental impact assessment',
                kind: 'review',
                role: 'approver',
                department: 'environment',
                distinctSigners: 1,
                atSite: false,
              },
              ...blindPlate.signOffSteps,
            ],
          },
        },
      },
      tx: 'template:Publish',
      responses: [{ status: 201, description: 'committed; the WorkflowTemplate with its new version', schema: txResultSchema }],
      errors: ['RULE_VIOLATION', 'NOT_FOUND', 'CONFLICT'],
      handler: async (ctx) => ({
        ...(await submitTx(s, ctx, 'template:Publish', { ...(ctx.body as object), operationType: ctx.params.operationType, level: ctx.params.level })),
        status: 201,
      }),
    },
    {
      method: 'get',
      path: '/v1/policy',
      operationId: 'getPolicy',
      summary:
        'The ledger policy in force: suspending alarm grade, gate-check window, face-match score, personal-data access window, SIMOPS rules, work calendar',
      tags: ['templates and policy'],
      auth: true,
      access: ANY,
      query: z.strictObject({}),
      tx: 'template:GetPolicy',
      responses: [{ status: 200, description: 'the LedgerPolicy (version 1 is the built-in one)', schema: ledgerRecordSchema }],
      handler: async (ctx) => ({ body: await s.ledger.evaluate(await ctx.identity(), 'template:GetPolicy', {}) }),
    },
    {
      method: 'post',
      path: '/v1/policy',
      operationId: 'publishPolicy',
      summary: 'Publish a new version of the ledger policy (regulator; enterprise safety officer or admin)',
      description:
        'Appends version n+1. With a workCalendar, hot work whose planned window reaches the ' +
        "site's night, a rest day or a holiday is raised one level by the chaincode itself.",
      tags: ['templates and policy'],
      auth: true,
      access: accessOf('template:PublishPolicy'),
      body: publishPolicyInput,
      bodyExamples: { calendar: { summary: 'suspend at grade ≤ 2, one SIMOPS rule, a site calendar in UTC+8', value: POLICY_EXAMPLE } },
      tx: 'template:PublishPolicy',
      responses: [{ status: 201, description: 'committed; the LedgerPolicy with its new version', schema: txResultSchema }],
      errors: ['CONFLICT'],
      handler: async (ctx) => ({ ...(await submitTx(s, ctx, 'template:PublishPolicy', ctx.body)), status: 201 }),
    },
  ];
}
