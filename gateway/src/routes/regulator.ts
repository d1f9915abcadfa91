/**
 * Regulator endpoints (from the indexer's Postgres) and auditor endpoints (from the peer through
 * qscc, and from IPFS). Regulators and auditors are users of the regulator org and see every
 * enterprise. The enterprise's supervisors (SUPERVISORS) read the routes the supervision screen
 * calls, limited to their own enterprise (enterpriseScope); enterprise users may read the
 * certificate-expiry list of their own workers.
 */

import {
  EARLIEST_LEDGER_TIME,
  type EvidenceRecord,
  idSchema,
  isoTimeSchema,
  LATEST_LEDGER_TIME,
  LEDGER_TIME_RANGE,
  OPERATION_TYPES,
  PERMIT_STATUSES,
  type PermitRecord,
  permitNoSchema,
} from '@compliance-ledger/schema';
import type { BundleSubject } from '@compliance-ledger/verifier';
import { z } from 'zod';
import { buildArchive } from '../archive.js';
import {
  bundleVerification,
  bundleVerificationSchema,
  callerBundle,
  callerChain,
  checkEvidence,
  ledgerFacts,
  streamCallerBundle,
  transactionVerification,
  transactionVerificationSchema,
} from '../audit.js';
import { ApiError, ValidationError } from '../errors.js';
import type { Access, RouteContext, RouteDef } from '../http.js';
import { type AlarmFilter, COUNT_CAP, PERMIT_SORT_COLUMNS, type RegulatorRepository } from '../regulator-repository.js';
import { monthWindow } from '../report-calendar.js';
import { reportCsv, reportPdf } from '../report-documents.js';
import type { Services } from '../services.js';
import type { WalletIdentity } from '../wallet.js';
import { pageSchema } from './common.js';

/** The regulator's people, its inspectors and its auditors: every enterprise's records. */
export const REGULATORS: Access = { regulator: ['regulator', 'auditor'] };
/**
 * Who reads the supervision screen's permit views: the regulator's people, of every enterprise; and
 * the enterprise's people who oversee its operations as a whole, of their own enterprise only: the
 * safety officer (the safety management department), the person in charge of the work, and the
 * org's admin. Applicants, approvers, analysts, guardians and workers act on one permit through
 * their own routes and do not need the whole enterprise's list.
 */
export const SUPERVISORS: Access = { regulator: ['regulator', 'auditor'], enterprise: ['safety_officer', 'person_in_charge', 'admin'] };
/**
 * The instants the regulator's queries accept: the ledger's own (isoTimeSchema). Wider inputs pass
 * ISO-8601 but not PostgreSQL (year 0000 does not exist there, and a five-digit year is not
 * ISO-8601 any more), so they are refused here with 400 instead of failing in the database with
 * 500; no ledger record lies outside that range, since every ledger input's instant passes it.
 */
const EARLIEST_MONTH = EARLIEST_LEDGER_TIME.slice(0, 7);
const LATEST_MONTH = LATEST_LEDGER_TIME.slice(0, 7);
const requiredIsoTime = (description: string) => isoTimeSchema.describe(`${description}; ISO-8601 UTC, ${LEDGER_TIME_RANGE}`);
export const isoTime = (description: string) => requiredIsoTime(description).optional().describe(`${description}; ISO-8601 UTC, ${LEDGER_TIME_RANGE}`);
const month = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'use YYYY-MM')
  .refine((v) => v >= EARLIEST_MONTH && v <= LATEST_MONTH, `must be between ${EARLIEST_MONTH} and ${LATEST_MONTH}`)
  .describe(`the calendar month in the regulator's time zone (GATEWAY_REPORT_TIME_ZONE), YYYY-MM between ${EARLIEST_MONTH} and ${LATEST_MONTH}`);

/** `from` after `to` selects nothing and is almost always a swapped pair: refused, naming both. */
export function assertWindow(from: string | undefined, to: string | undefined): void {
  if (from !== undefined && to !== undefined && Date.parse(from) > Date.parse(to)) {
    throw new ValidationError([{ path: 'query.from', message: `from (${from}) is later than to (${to}); swap them, or leave one out` }]);
  }
}
const orderedWindow = (q: { from?: string | undefined; to?: string | undefined }, ctx: z.RefinementCtx) => {
  try {
    assertWindow(q.from, q.to);
  } catch (e) {
    ctx.addIssue({ code: 'custom', path: ['from'], message: (e as ValidationError).fields[0]!.message });
  }
};
const limit = z.coerce.number().int().min(1).max(500).default(50);
const offset = z.coerce.number().int().min(0).max(1_000_000).default(0);
const row = z.object({}).catchall(z.unknown());

function repo(s: Services): RegulatorRepository {
  if (!s.regulator) throw new ApiError('NOT_CONFIGURED', 'regulator queries need the indexer database: set DATABASE_URL');
  return s.regulator;
}

export const permitQuerySchema = z
  .strictObject({
    org: z.string().min(1).max(64).optional().describe('MSP id of the applicant org, e.g. EnterpriseMSP'),
    site: idSchema.optional(),
    area: idSchema.optional().describe('zone id'),
    type: z.enum(OPERATION_TYPES).optional(),
    level: z.string().min(1).max(16).optional(),
    state: z
      .string()
      .regex(/^[a-z_]+(,[a-z_]+)*$/)
      .optional()
      .describe(`comma-separated statuses: ${PERMIT_STATUSES.join(', ')}`),
    from: isoTime('applied at or after'),
    to: isoTime('applied before'),
    sort: z.enum(PERMIT_SORT_COLUMNS).default('applied_at'),
    order: z.enum(['asc', 'desc']).default('desc'),
    limit,
    offset,
  })
  .superRefine(orderedWindow);

const txIdSchema = z.string().regex(/^[0-9a-f]{64}$/, 'a Fabric transaction id: 64 lowercase hex characters');

const ledgerFactsSchema = z.object({
  transactionId: z.string(),
  blockNumber: z.number().int(),
  validationCode: z.number().int(),
  validationCodeName: z.string(),
  valid: z.boolean().describe("the peer's validation code is VALID"),
  timestamp: z.string().nullable(),
  chaincode: z.string().nullable(),
});

const auditTransactionSchema = ledgerFactsSchema.extend({
  verification: transactionVerificationSchema,
  bundle: bundleVerificationSchema,
  mirror: row.nullable().describe('where the indexer mirrored the transaction, or null'),
  mirrorError: z.string().optional().describe("why the indexer's database could not be asked (the verification above does not depend on it)"),
});

const auditPermitSchema = z.object({
  permitNo: z.string(),
  status: z.string(),
  steps: z.array(
    z.object({
      action: z.string(),
      from: z.string().nullable(),
      to: z.string(),
      at: z.string(),
      actorMsp: z.string(),
      actorRole: z.string(),
      ledger: ledgerFactsSchema,
      verification: transactionVerificationSchema,
    }),
  ),
  allValid: z.boolean().describe("every step's validation code is VALID"),
  allVerified: z.boolean().describe("every step's transaction passed the verifier's checks"),
  bundle: bundleVerificationSchema,
});

/** How long a bundle waits for one evidence file from the content store before leaving it out (CID only). */
const BUNDLE_EVIDENCE_TIMEOUT_MS = 30_000;

/**
 * Evidence for a download from the content store: a file that has not started within
 * BUNDLE_EVIDENCE_TIMEOUT_MS is left out (CID only); one that has may take as long as an evidence download.
 */
function bundleEvidence(s: Services) {
  return {
    spoolDir: s.config.GATEWAY_ARCHIVE_SPOOL_DIR,
    content: (cid: string, signal: AbortSignal) => s.content.cat(cid, s.config.GATEWAY_DOWNLOAD_TIMEOUT_MS, undefined, signal),
    firstByteMs: BUNDLE_EVIDENCE_TIMEOUT_MS,
  };
}

/**
 * A bundle download: built from the caller's own peer, the evidence files the content store has
 * included. The checkpoint headers are informative only: an auditor pins the hash from their own
 * peer (verifier/README.md), never from this response.
 */
function bundleRoute(
  s: Services,
  o: {
    path: string;
    operationId: string;
    summary: string;
    params?: z.ZodObject;
    query: z.ZodObject;
    subject: (ctx: RouteContext) => BundleSubject;
    filename: (ctx: RouteContext) => string;
    /** Default REGULATORS. */
    access?: Access;
    /** Before the bundle is built: throws when the caller may not have this subject. */
    guard?: (ctx: RouteContext, id: WalletIdentity) => Promise<void>;
  },
): RouteDef {
  return {
    method: 'get',
    path: o.path,
    operationId: o.operationId,
    summary: o.summary,
    description:
      "A proof bundle (format: verifier/README.md, version 1) built from the caller's own peer: " +
      "the subject's blocks, every config block, the chaincode definition blocks, the header " +
      'chain to the newest block (the checkpoint), the records and the evidence files the ' +
      'content store holds. Verify it offline with `npx ledger-verify bundle.tar --trust <block ' +
      'hash from your own peer>`. Reads every block of the channel once (later requests read ' +
      'only new blocks).',
    tags: ['auditor'],
    auth: true,
    access: o.access ?? REGULATORS,
    ...(o.params ? { params: o.params } : {}),
    query: o.query,
    responses: [
      {
        status: 200,
        description: 'the bundle (POSIX ustar); X-Bundle-Checkpoint-Block and X-Bundle-Checkpoint-Hash name its newest block',
        contentType: 'application/x-tar',
        schema: z.string().meta({ format: 'binary' }),
      },
    ],
    errors: ['NOT_FOUND'],
    handler: async (ctx) => {
      const id = await ctx.identity();
      await o.guard?.(ctx, id);
      const built = await streamCallerBundle(s.ledger, id, o.subject(ctx), bundleEvidence(s));
      return {
        body: undefined,
        stream: built.readable(),
        contentType: 'application/x-tar',
        headers: {
          'Content-Disposition': `attachment; filename="${o.filename(ctx)}.tar"`,
          'Content-Length': String(built.sizeBytes),
          'X-Bundle-Checkpoint-Block': String(built.checkpoint.number),
          'X-Bundle-Checkpoint-Hash': built.checkpoint.headerHash,
        },
      };
    },
  };
}

/**
 * The indexer's mirror holds every enterprise's records: the MSP id an enterprise user's reads of
 * it are limited to (their own enterprise's); none for regulators and auditors, who see all.
 */
export function enterpriseScope(s: Services, ctx: RouteContext<unknown, unknown>): string | undefined {
  return ctx.principal.org === 'regulator' ? undefined : s.ledger.mspId(ctx.principal.org);
}

/**
 * The enterprise a scoped read covers: for the regulator's people the one their `org` filter names
 * (or every one); for an enterprise user always their own, and a filter naming another one is
 * refused (403 OTHER_ENTERPRISE) rather than answered with an empty page that would look like data.
 */
export function scopedOrg(s: Services, ctx: RouteContext<unknown, unknown>, asked: string | undefined): string | undefined {
  const own = enterpriseScope(s, ctx);
  if (own === undefined) return asked;
  if (asked !== undefined && asked !== own) {
    throw new ApiError('OTHER_ENTERPRISE', `you see only your own enterprise's records (${own}); leave out org, or give org=${own}`, {
      org: asked,
      own,
    });
  }
  return own;
}

export function regulatorRoutes(s: Services): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/v1/regulator/permits',
      operationId: 'regulatorListPermits',
      summary: 'Permits with filters, pagination and sorting',
      description: "An enterprise user's list holds their own enterprise's permits only; `org` naming another enterprise is refused (OTHER_ENTERPRISE).",
      tags: ['regulator'],
      auth: true,
      access: SUPERVISORS,
      query: permitQuerySchema,
      responses: [{ status: 200, description: 'a page of permits', schema: pageSchema(row) }],
      errors: ['NOT_CONFIGURED', 'STORE_UNAVAILABLE', 'OTHER_ENTERPRISE'],
      handler: async (ctx: RouteContext<never, z.infer<typeof permitQuerySchema>>) => {
        const q = ctx.query;
        return { body: await repo(s).listPermits({ ...q, org: scopedOrg(s, ctx, q.org), state: q.state?.split(',') }) };
      },
    },
    {
      method: 'get',
      path: '/v1/regulator/permits/{permitNo}/timeline',
      operationId: 'regulatorPermitTimeline',
      summary: "A permit's whole timeline: steps, sign-offs, gas tests, gate checks, evidence, flags",
      description: "For an enterprise user, another enterprise's permit is NOT_FOUND, as an unknown one: its existence does not show.",
      tags: ['regulator'],
      auth: true,
      access: SUPERVISORS,
      params: z.strictObject({ permitNo: permitNoSchema }),
      query: z.strictObject({}),
      responses: [{ status: 200, description: 'permit, ordered events and evidence', schema: row }],
      errors: ['NOT_FOUND', 'NOT_CONFIGURED'],
      handler: async (ctx) => ({ body: await repo(s).timeline(ctx.params.permitNo!, enterpriseScope(s, ctx)) }),
    },
    {
      method: 'get',
      path: '/v1/regulator/alarms',
      operationId: 'regulatorListAlarms',
      summary: 'Alarms with response times (acknowledged − recorded)',
      description: "An enterprise user's list holds the alarms their own enterprise recorded; `org` naming another enterprise is refused (OTHER_ENTERPRISE).",
      tags: ['regulator'],
      auth: true,
      access: SUPERVISORS,
      query: z
        .strictObject({
          org: z.string().min(1).max(64).optional().describe('MSP id of the enterprise whose device gateway recorded the alarm, e.g. EnterpriseMSP'),
          site: idSchema.optional(),
          area: idSchema.optional(),
          grade: z.coerce.number().int().min(1).max(4).optional(),
          status: z
            .string()
            .regex(/^[a-z_]+$/)
            .optional(),
          kind: idSchema.optional(),
          from: isoTime('recorded at or after'),
          to: isoTime('recorded before'),
          limit,
          offset,
        })
        .superRefine(orderedWindow),
      responses: [
        {
          status: 200,
          description:
            `a page of alarms, the number matching (at most ${COUNT_CAP.toLocaleString('en')}: totalIsExact false when more match) ` +
            `and the response-time statistics of those (the newest ${COUNT_CAP.toLocaleString('en')} when more match)`,
          schema: row,
        },
      ],
      errors: ['OTHER_ENTERPRISE'],
      handler: async (ctx) => {
        const q = ctx.query as unknown as AlarmFilter;
        return { body: await repo(s).listAlarms({ ...q, org: scopedOrg(s, ctx, q.org) }) };
      },
    },
    {
      method: 'get',
      path: '/v1/regulator/kpis',
      operationId: 'regulatorKpis',
      summary:
        'KPIs: average alarm response, training coverage, repeat violation rate, permits by type and state, overdue reviews; ' +
        'permits and alarms per enterprise (MSP id) and per site',
      description: "An enterprise user's figures are their own enterprise's (permits it applied for, alarms of its devices, its workers).",
      tags: ['regulator'],
      auth: true,
      access: SUPERVISORS,
      query: z
        .strictObject({ from: isoTime('window start (default: 30 days before to)'), to: isoTime('window end, exclusive (default: now)') })
        .superRefine(orderedWindow),
      responses: [
        {
          status: 200,
          description:
            'KPI figures; window defaults to the last 30 days. p90AlarmResponseSeconds is exact (percentile_cont over the acknowledged alarms ' +
            "of the window): the indexer's histogram of response times per day finds the bucket of the p90, whose alarms alone are then read",
          schema: row,
        },
      ],
      handler: async (ctx) => {
        const to = (ctx.query.to as string | undefined) ?? new Date().toISOString();
        // Only a given `from` can be later than the defaulted `to` (now): the same 400 as for two given ones.
        assertWindow(ctx.query.from as string | undefined, to);
        const from = (ctx.query.from as string | undefined) ?? new Date(Date.parse(to) - 30 * 86_400_000).toISOString();
        return { body: await repo(s).kpis(from, to, enterpriseScope(s, ctx)) };
      },
    },
    {
      method: 'get',
      path: '/v1/regulator/reports/monthly',
      operationId: 'regulatorMonthlyReport',
      summary: "Monthly safety report per enterprise and site, in the regulator's time zone, as JSON, CSV or PDF with charts",
      description:
        "The month's days begin at midnight in GATEWAY_REPORT_TIME_ZONE (default Asia/Shanghai): a " +
        'transaction at 23:30 UTC on the last day of a month counts in the next month there. Read in ' +
        "one snapshot of the indexer's mirror; `builtFrom` (and the PDF) name its newest block by " +
        'number and header hash, to be checked against the ledger. Evidence counts by capture time.',
      tags: ['regulator'],
      auth: true,
      access: REGULATORS,
      query: z.strictObject({
        month,
        org: z.string().min(1).max(64).optional().describe('MSP id of one enterprise, e.g. EnterpriseMSP (default: all)'),
        site: idSchema.optional().describe('one site (default: all)'),
        format: z.enum(['json', 'csv', 'pdf']).default('json'),
      }),
      responses: [
        { status: 200, description: 'the report (JSON; text/csv with format=csv; application/pdf with format=pdf)', schema: row },
        { status: 200, description: 'CSV: section,key,value', contentType: 'text/csv' },
        { status: 200, description: 'PDF (A4) with charts', contentType: 'application/pdf', schema: z.string().meta({ format: 'binary' }) },
      ],
      errors: ['NOT_CONFIGURED', 'STORE_UNAVAILABLE'],
      handler: async (ctx) => {
        const q = ctx.query as { month: string; org?: string; site?: string; format: 'json' | 'csv' | 'pdf' };
        const r = await repo(s).monthlyReport(monthWindow(q.month, s.config.GATEWAY_REPORT_TIME_ZONE), { org: q.org, site: q.site });
        const name = ['report', q.month, q.org, q.site].filter(Boolean).join('-');
        if (q.format === 'csv') {
          return { body: reportCsv(r), contentType: 'text/csv; charset=utf-8', headers: { 'Content-Disposition': `attachment; filename="${name}.csv"` } };
        }
        if (q.format === 'pdf') {
          return { body: await reportPdf(r), contentType: 'application/pdf', headers: { 'Content-Disposition': `attachment; filename="${name}.pdf"` } };
        }
        return { body: r };
      },
    },
    {
      method: 'get',
      path: '/v1/certificates-expiring',
      operationId: 'listExpiringCertificates',
      summary: 'Certificates expiring within N days (default 60)',
      tags: ['regulator', 'enterprise: credentials'],
      auth: true,
      access: { regulator: ['regulator', 'auditor'], enterprise: ['credential_officer', 'safety_officer', 'admin'] },
      query: z.strictObject({ days: z.coerce.number().int().min(1).max(3650).default(60), limit, offset }),
      responses: [{ status: 200, description: 'a page of certificates', schema: pageSchema(row) }],
      // Many enterprises share the mirror: an enterprise's users see the certificates their own enterprise added.
      handler: async (ctx) => {
        const own = enterpriseScope(s, ctx);
        return { body: await repo(s).expiringCertificates(ctx.query.days as number, ctx.query.limit as number, ctx.query.offset as number, own) };
      },
    },
    {
      method: 'get',
      path: '/v1/audit/transactions/{txId}',
      operationId: 'auditTransaction',
      summary:
        "A transaction verified on the caller's own peer: the verifier's checks of its signatures, certificate chains, endorsement policy and validation code",
      description:
        "Builds the transaction's proof bundle from the caller's peer (qscc), pins the checkpoint " +
        "to that peer's current block hash (GetChainInfo) and runs @compliance-ledger/verifier on " +
        "it. `verification` holds the verifier's checks for this transaction; `bundle` the whole " +
        "bundle's result. Reads every block of the channel once (later requests read only new " +
        'blocks).',
      tags: ['auditor'],
      auth: true,
      access: REGULATORS,
      params: z.strictObject({ txId: txIdSchema }),
      query: z.strictObject({}),
      responses: [{ status: 200, description: 'ledger facts, the verification, and where the indexer mirrored it', schema: auditTransactionSchema }],
      errors: ['NOT_FOUND'],
      handler: async (ctx) => {
        const id = await ctx.identity();
        const facts = await ledgerFacts(s.ledger, id, ctx.params.txId!);
        const verified = await callerBundle(s.ledger, id, { kind: 'transaction', txId: ctx.params.txId! });
        // The mirror is a convenience next to what the peer proves: its database being unreachable
        // or unmigrated is reported beside the verification instead of withholding it.
        let mirror: unknown = null;
        let mirrorError: string | undefined;
        try {
          mirror = s.regulator ? ((await s.regulator.transaction(ctx.params.txId!)) ?? null) : null;
        } catch (e) {
          if (!(e instanceof ApiError && e.code === 'STORE_UNAVAILABLE')) throw e;
          mirrorError = e.message;
        }
        return {
          body: {
            ...facts,
            verification: transactionVerification(verified.report, ctx.params.txId!, facts.blockNumber),
            bundle: bundleVerification(verified),
            mirror,
            ...(mirrorError ? { mirrorError } : {}),
          },
        };
      },
    },
    {
      method: 'get',
      path: '/v1/audit/permits/{permitNo}',
      operationId: 'auditPermit',
      summary: "Every transaction in a permit's history, verified on the caller's own peer",
      description:
        "Builds the permit's proof bundle from the caller's peer, verifies it against that peer's " +
        'current block hash with @compliance-ledger/verifier, and reports each history step with ' +
        "its ledger facts and the verifier's checks of its transaction. `allVerified` is true only " +
        "when every step's transaction verified; `bundle.ok` when every check of the bundle passed.",
      tags: ['auditor'],
      auth: true,
      access: REGULATORS,
      params: z.strictObject({ permitNo: permitNoSchema }),
      query: z.strictObject({}),
      responses: [
        { status: 200, description: 'the permit status, each step with its ledger facts and verification, and the bundle result', schema: auditPermitSchema },
      ],
      errors: ['NOT_FOUND'],
      handler: async (ctx) => {
        const id = await ctx.identity();
        const permit = await s.ledger.evaluate<PermitRecord>(id, 'permit:Get', { permitNo: ctx.params.permitNo });
        const verified = await callerBundle(s.ledger, id, { kind: 'permit', permitNo: ctx.params.permitNo! });
        const steps = [];
        for (const h of permit.history) {
          const ledger = await ledgerFacts(s.ledger, id, h.txId);
          steps.push({
            action: h.action,
            from: h.from,
            to: h.to,
            at: h.at,
            actorMsp: h.actor.mspId,
            actorRole: h.actor.role,
            ledger,
            verification: transactionVerification(verified.report, h.txId, ledger.blockNumber),
          });
        }
        return {
          body: {
            permitNo: permit.permitNo,
            status: permit.status,
            steps,
            allValid: steps.every((x) => x.ledger.valid),
            allVerified: steps.every((x) => x.verification.verified),
            bundle: bundleVerification(verified),
          },
        };
      },
    },
    bundleRoute(s, {
      path: '/v1/audit/permits/{permitNo}/bundle',
      operationId: 'auditPermitBundle',
      summary:
        "A permit's proof bundle (every transaction of its trail) as a tar, for ledger-verify; an enterprise's supervisors get their own enterprise's " +
        "permits' (another enterprise's is NOT_FOUND, as the chaincode answers them)",
      params: z.strictObject({ permitNo: permitNoSchema }),
      query: z.strictObject({}),
      subject: (ctx) => ({ kind: 'permit', permitNo: ctx.params.permitNo as string }),
      filename: (ctx) => `permit-${ctx.params.permitNo as string}`,
      access: SUPERVISORS,
      // The peer holds every enterprise's blocks, so the bundle builder would find another's permit:
      // the chaincode's own read decides, answering NOT_FOUND for a permit of another enterprise.
      guard: async (ctx, id) => {
        if (enterpriseScope(s, ctx) !== undefined) await s.ledger.evaluate(id, 'permit:Get', { permitNo: ctx.params.permitNo });
      },
    }),
    bundleRoute(s, {
      path: '/v1/audit/transactions/{txId}/bundle',
      operationId: 'auditTransactionBundle',
      summary: "One transaction's proof bundle as a tar, for ledger-verify",
      params: z.strictObject({ txId: txIdSchema }),
      query: z.strictObject({}),
      subject: (ctx) => ({ kind: 'transaction', txId: ctx.params.txId as string }),
      filename: (ctx) => `tx-${ctx.params.txId as string}`,
    }),
    bundleRoute(s, {
      path: '/v1/audit/bundle',
      operationId: 'auditRangeBundle',
      summary: 'The proof bundle of every valid chaincode transaction in a time range [from, to) as a tar, for ledger-verify',
      query: z
        .strictObject({
          from: requiredIsoTime('transactions at or after (channel header timestamp), required'),
          to: requiredIsoTime('transactions before, required'),
        })
        .superRefine(orderedWindow),
      subject: (ctx) => ({ kind: 'range', from: new Date(ctx.query.from as string).toISOString(), to: new Date(ctx.query.to as string).toISOString() }),
      filename: (ctx) => `range-${(ctx.query.from as string).replace(/[^0-9TZ]/g, '')}-${(ctx.query.to as string).replace(/[^0-9TZ]/g, '')}`,
    }),
    {
      method: 'get',
      path: '/v1/audit/archive',
      operationId: 'auditArchive',
      summary: "The archive of a month (in the regulator's time zone) or a time range: proof bundles sharing their blocks, one tar, verifiable offline",
      description:
        'One POSIX ustar: `manifest.json` (format compliance-ledger-archive, version 2: the window, ' +
        'the block range of its transactions, the checkpoint, and each file with its SHA-256 and size), ' +
        '`bundles/range.json` (the proof-bundle manifest of every valid chaincode transaction in the window), ' +
        '`bundles/permits/<permitNo>.json` (that of the whole trail of each permit those transactions touched), and, once each ' +
        'however many bundles use them, `blocks/<n>.block`, `headers.json` (the header chain from the lowest carried block to the ' +
        "checkpoint) and `evidence/<cid>`; all built from the caller's own peer at one height. The verifier reassembles each bundle " +
        'from these and checks it as a proof bundle; archives of version 1 (whole bundles, `bundles/*.tar`) still verify. ' +
        'Give `month`, or both `from` and `to`. Import and verify it with no network: ' +
        '`ledger-verify archive import archive.tar dir && ledger-verify archive verify dir --trust <hash>`.',
      tags: ['auditor'],
      auth: true,
      access: REGULATORS,
      query: z
        .strictObject({
          month: month.optional(),
          from: isoTime('transactions at or after (channel header timestamp); with to, instead of month'),
          to: isoTime('transactions before; with from, instead of month'),
        })
        .superRefine(orderedWindow)
        .superRefine((q, ctx) => {
          const range = q.from !== undefined || q.to !== undefined;
          if (q.month !== undefined && range) ctx.addIssue({ code: 'custom', path: ['month'], message: 'give month, or from and to, not both' });
          else if (q.month === undefined && !(q.from !== undefined && q.to !== undefined))
            ctx.addIssue({ code: 'custom', path: [q.from === undefined ? 'from' : 'to'], message: 'give month (YYYY-MM), or both from and to' });
        }),
      responses: [
        {
          status: 200,
          description: 'the archive (POSIX ustar); X-Archive-Checkpoint-Block and X-Archive-Checkpoint-Hash name the block every bundle ends at',
          contentType: 'application/x-tar',
          schema: z.string().meta({ format: 'binary' }),
        },
      ],
      errors: ['NOT_FOUND'],
      handler: async (ctx) => {
        const q = ctx.query as { month?: string; from?: string; to?: string };
        const id = await ctx.identity();
        const tz = s.config.GATEWAY_REPORT_TIME_ZONE;
        const request = q.month
          ? (() => {
              const w = monthWindow(q.month, tz);
              return { subject: { kind: 'month' as const, month: q.month, timeZone: tz }, window: { from: w.from, to: w.to } };
            })()
          : { subject: { kind: 'range' as const }, window: { from: new Date(q.from!).toISOString(), to: new Date(q.to!).toISOString() } };
        const chain = await callerChain(s.ledger, id);
        const evidence = bundleEvidence(s);
        const built = await buildArchive({
          source: chain.source,
          summaries: chain.summaries,
          channel: s.ledger.channel,
          chaincode: s.ledger.chaincode,
          ...request,
          spoolDir: evidence.spoolDir,
          evidence: evidence.content,
          evidenceFirstByteMs: evidence.firstByteMs,
        });
        const name = q.month ? `archive-${q.month}` : `archive-${q.from!.replace(/[^0-9TZ]/g, '')}-${q.to!.replace(/[^0-9TZ]/g, '')}`;
        return {
          body: undefined,
          stream: built.readable(),
          contentType: 'application/x-tar',
          headers: {
            'Content-Disposition': `attachment; filename="${name}.tar"`,
            'Content-Length': String(built.sizeBytes),
            'X-Archive-Checkpoint-Block': String(built.manifest.checkpoint.number),
            'X-Archive-Checkpoint-Hash': built.manifest.checkpoint.headerHash,
          },
        };
      },
    },
    {
      method: 'get',
      path: '/v1/audit/permits/{permitNo}/evidence-check',
      operationId: 'auditEvidenceCheck',
      summary: "Re-read each evidence file of a permit from IPFS and compare sha256 and CID with the ledger's record",
      tags: ['auditor'],
      auth: true,
      access: REGULATORS,
      params: z.strictObject({ permitNo: permitNoSchema }),
      query: z.strictObject({ timeoutMs: z.coerce.number().int().min(100).max(600_000).default(30_000) }),
      responses: [{ status: 200, description: 'one check per evidence record; ok is true only when every file matches', schema: row }],
      errors: ['NOT_FOUND'],
      handler: async (ctx) => {
        const id = await ctx.identity();
        await s.ledger.evaluate(id, 'permit:Get', { permitNo: ctx.params.permitNo });
        const records = await s.ledger.evaluate<EvidenceRecord[]>(id, 'evidence:List', { permitNo: ctx.params.permitNo });
        const checks = [];
        for (const e of records) checks.push(await checkEvidence(s.content, e, ctx.query.timeoutMs as number));
        return { body: { permitNo: ctx.params.permitNo, store: s.content.kind, ok: checks.every((c) => c.ok), checks } };
      },
    },
  ];
}
