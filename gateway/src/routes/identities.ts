/**
 * Onboarding and revocation by the org's admin, at the org's own CA. A user's role, department and
 * worker id are registered once and issued in every certificate the user enrols: from then on the
 * certificate is the user's role. A role change is a revocation and a new registration; the
 * revoked certificate is refused by the peers once the org's admin has put the CA's CRL into the
 * channel configuration (scripts/revoke-user.sh), which this gateway cannot do: it has no admin key.
 */

import { ROLES, workerIdSchema } from '@compliance-ledger/schema';
import { z } from 'zod';
import { type Org, subjectSchema } from '../auth.js';
import { ApiError } from '../errors.js';
import type { RouteDef } from '../http.js';
import type { Services } from '../services.js';
import type { Wallet } from '../wallet.js';

const TAG = 'identities';
/** Each org's administrators: the enterprise's `admin`, the regulator's `regulator`. */
const ADMINS = { enterprise: ['admin'], regulator: ['regulator'] } as const;
const departmentSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'department must be 1-64 characters of A-Z a-z 0-9 . _ -');

export function identityRoutes(s: Services, wallet: Wallet): RouteDef[] {
  const ca = (org: Org) => {
    const c = s.ledger.profile.organizations[org].ca;
    if (!c) throw new ApiError('NOT_CONFIGURED', `the ${org} org has no Fabric CA in the connection profile`);
    return c;
  };
  return [
    {
      method: 'post',
      path: '/v1/identities',
      operationId: 'onboardIdentity',
      summary: 'Register a user of your org at its CA with role, department and worker id in the certificate (org admin)',
      description:
        'Without `custodial`, answers the one-time enrolment secret: the user enrols at the CA ' +
        'with it (fabric-ca-client enroll, or gateway/tools/ledger-sign.ts enroll), keeps the ' +
        'private key and signs their own transactions (/v1/transactions/prepare). With `custodial: ' +
        'true` the gateway enrols the user into its wallet and signs for them. The attributes ' +
        'cannot be changed later: revoke and register a new enrolment id.',
      tags: [TAG],
      auth: true,
      access: ADMINS,
      body: z.strictObject({
        sub: subjectSchema,
        role: z.enum(ROLES),
        department: departmentSchema.optional(),
        workerId: workerIdSchema.optional(),
        custodial: z.boolean().default(false),
      }),
      responses: [
        {
          status: 201,
          description: 'registered (and, custodial, enrolled)',
          schema: z.object({
            sub: z.string(),
            org: z.string(),
            mspId: z.string(),
            custodial: z.boolean(),
            enrollmentSecret: z.string().optional(),
            ca: z.object({ url: z.string(), caName: z.string() }),
          }),
        },
      ],
      errors: ['ALREADY_EXISTS', 'IDENTITY_UNAVAILABLE', 'NOT_CONFIGURED'],
      handler: async (ctx) => {
        const b = ctx.body as { sub: string; role: (typeof ROLES)[number]; department?: string; workerId?: string; custodial: boolean };
        const org = ctx.principal.org;
        const c = ca(org);
        const r = await wallet.onboard(org, b, b.custodial);
        return { status: 201, body: { sub: b.sub, org, mspId: s.ledger.mspId(org), custodial: b.custodial, ...r, ca: { url: c.url, caName: c.caName } } };
      },
    },
    {
      method: 'post',
      path: '/v1/identities/{sub}/revoke',
      operationId: 'revokeIdentity',
      summary: 'Revoke every certificate of a user of your org at its CA; answers the CRL for the channel configuration (org admin)',
      tags: [TAG],
      auth: true,
      access: ADMINS,
      params: z.strictObject({ sub: subjectSchema }),
      body: z.strictObject({
        reason: z.enum(['unspecified', 'keycompromise', 'affiliationchange', 'superseded', 'cessationofoperation']).default('unspecified'),
      }),
      responses: [
        {
          status: 200,
          description: 'revoked at the CA; the CRL (PEM) still has to reach the channel configuration',
          schema: z.object({ sub: z.string(), org: z.string(), crl: z.string() }),
        },
      ],
      errors: ['NOT_FOUND', 'IDENTITY_UNAVAILABLE', 'NOT_CONFIGURED'],
      handler: async (ctx) => {
        const org = ctx.principal.org;
        ca(org);
        const crl = await wallet.revoke(org, ctx.params.sub!, (ctx.body as { reason: string }).reason);
        return { body: { sub: ctx.params.sub, org, crl } };
      },
    },
  ];
}
