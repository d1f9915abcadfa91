/**
 * What the supervision screen (web/, served at /app/) needs beyond the regulator's queries: who
 * signed in and which views their role opens, the live alarm stream, the area plan and the risk
 * heat map. Every view's data comes from a route with its own access check: the screen only hides
 * what the API would refuse anyway. An enterprise user's data is their own enterprise's, limited by
 * the route (enterpriseScope), not by the screen.
 */
import { idSchema } from '@compliance-ledger/schema';
import { z } from 'zod';
import { mayAccess } from '../auth.js';
import { ApiError } from '../errors.js';
import type { Access, RouteDef } from '../http.js';
import type { RegulatorRepository } from '../regulator-repository.js';
import type { Services } from '../services.js';
import { ALARM_ACKNOWLEDGERS } from './enterprise.js';
import { assertWindow, enterpriseScope, isoTime, SUPERVISORS } from './regulator.js';

/** Who watches the live alarms: the regulator's people, and the enterprise's who act on them. */
export const ALARM_WATCHERS: Access = { regulator: ['regulator', 'auditor'], enterprise: ['safety_officer', 'person_in_charge', 'guardian', 'admin'] };

/** Each view of the screen, and the access of the routes it reads (or, for acknowledge and verify, calls). */
export const SCREEN_VIEWS = {
  alarms: ALARM_WATCHERS,
  acknowledge: ALARM_ACKNOWLEDGERS,
  permits: SUPERVISORS,
  kpis: SUPERVISORS,
  risk: SUPERVISORS,
  timeline: SUPERVISORS,
  verify: SUPERVISORS,
} as const satisfies Record<string, Access>;
export type ScreenView = keyof typeof SCREEN_VIEWS;

/** Open alarms a screen receives when it connects; older ones are in /v1/regulator/alarms. */
const SNAPSHOT_ALARMS = 200;
/** A comment line this often keeps proxies from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;
const YEAR_MS = 365 * 86_400_000;
/** Sites per page of the risk map: a screen's worth of rows (a year is 12 cells a site). */
const RISK_MAP_SITES = 100;
const RISK_MAP_MAX_SITES = 500;

function mirror(s: Services): RegulatorRepository {
  if (!s.regulator || !s.alarmFeed) throw new ApiError('NOT_CONFIGURED', "the screen's data comes from the indexer's mirror: set DATABASE_URL");
  return s.regulator;
}

export function screenRoutes(s: Services): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/v1/session',
      operationId: 'session',
      summary: 'Who the credential signs in as, and which views of the supervision screen their role opens',
      description:
        "The screen's sign-in: it presents the user's JWT (or API key) and shows the views listed " +
        'here. Each view reads routes that make their own access check, so the list is a ' +
        'convenience, not the protection.',
      tags: ['screen'],
      auth: true,
      access: { enterprise: 'any', regulator: 'any' },
      query: z.strictObject({}),
      responses: [
        {
          status: 200,
          description: 'the principal and the views',
          schema: z.object({
            sub: z.string(),
            org: z.string(),
            role: z.string(),
            department: z.string().optional(),
            expiresAt: z.string().nullable(),
            views: z.array(z.enum(Object.keys(SCREEN_VIEWS) as [ScreenView, ...ScreenView[]])),
            enterprise: z
              .string()
              .nullable()
              .describe("the MSP id of the enterprise every view is limited to (the user's own); null for the regulator's people, who see every enterprise"),
            timeZone: z.string().describe("the site's time zone the screen shows times in (GATEWAY_SITE_TIME_ZONE)"),
          }),
        },
      ],
      handler: async (ctx) => {
        const p = ctx.principal;
        return {
          body: {
            sub: p.sub,
            org: p.org,
            role: p.role,
            ...(p.department ? { department: p.department } : {}),
            expiresAt: p.expiresAtMs ? new Date(p.expiresAtMs).toISOString() : null,
            views: (Object.keys(SCREEN_VIEWS) as ScreenView[]).filter((v) => mayAccess(p, SCREEN_VIEWS[v])),
            enterprise: enterpriseScope(s, ctx) ?? null,
            timeZone: s.config.GATEWAY_SITE_TIME_ZONE,
          },
        };
      },
    },
    {
      method: 'get',
      path: '/v1/alarm-stream',
      operationId: 'alarmStream',
      summary: 'Live alarms as server-sent events: the open ones first, then every alarm recorded or changed, as the indexer mirrors its block',
      description:
        'A `text/event-stream`. First `event: snapshot` with `data: {"block": <mirrored block>, "alarms": [...]}` ' +
        '(the newest 200 alarms not closed), then `event: alarms` with `id: <block>` and `data: {"alarms": [...]}` ' +
        'for each batch of blocks the indexer mirrors that records or changes alarms (acknowledged, closed, reviewed). ' +
        'An alarm may come twice: keep the one with the higher `blockNumber`. An enterprise user receives only ' +
        "the alarms recorded by their own org; a regulator every org's. Send the credential in the " +
        'Authorization header (read the stream with fetch; EventSource cannot send it). The gateway reads the ' +
        "mirror once for all open streams, as soon as the indexer announces a batch (LISTEN on the indexer's NOTIFY) " +
        'and every GATEWAY_ALARM_STREAM_POLL_MS.',
      tags: ['screen'],
      auth: true,
      access: ALARM_WATCHERS,
      query: z.strictObject({}),
      responses: [
        {
          status: 200,
          description: 'the event stream (never ends by itself); the schema is that of one event, as OpenAPI 3.1 describes `text/event-stream`',
          contentType: 'text/event-stream',
          schema: z.object({
            event: z.enum(['snapshot', 'alarms']),
            id: z.string().regex(/^\d+$/).optional().describe('the newest block of the batch (alarms events only)'),
            data: z.string().describe('JSON: `{"block", "alarms"}` for the snapshot, `{"alarms"}` for a batch'),
          }),
        },
      ],
      errors: ['NOT_CONFIGURED', 'STORE_UNAVAILABLE'],
      handler: async (ctx) => {
        const repo = mirror(s);
        const recordedByMsp = enterpriseScope(s, ctx);
        const since = await repo.mirroredBlock();
        const res = ctx.res;
        const write = (event: string, data: unknown, id?: number) => {
          res.write(`event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`);
        };
        const unsubscribe = s.alarmFeed!.subscribe(
          recordedByMsp,
          since,
          (alarms) => write('alarms', { alarms }, Math.max(...alarms.map((a) => Number(a.blockNumber)))),
          () => res.end(),
        );
        let keepAlive: NodeJS.Timeout | undefined;
        // Registered before anything is awaited: a screen that goes away during the snapshot is unsubscribed too.
        res.on('close', () => {
          clearInterval(keepAlive);
          unsubscribe();
        });
        let snapshot: Record<string, unknown>[];
        try {
          snapshot = await repo.openAlarms(recordedByMsp, SNAPSHOT_ALARMS);
        } catch (e) {
          unsubscribe();
          throw e;
        }
        res.status(200).set({
          'Content-Type': 'text/event-stream; charset=utf-8',
          'Cache-Control': 'no-cache, no-transform',
          'X-Accel-Buffering': 'no',
        });
        res.flushHeaders();
        write('snapshot', { block: since, alarms: snapshot });
        if (!res.writableEnded && !res.destroyed) keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
        return { body: null, streamed: true };
      },
    },
    {
      method: 'get',
      path: '/v1/regulator/areas',
      operationId: 'regulatorAreas',
      summary: 'Each area with work or open alarms now: its active permits and open alarms (the area plan)',
      description: "An enterprise user's plan shows their own enterprise's permits and the alarms its devices recorded.",
      tags: ['regulator'],
      auth: true,
      access: SUPERVISORS,
      query: z.strictObject({}),
      responses: [
        {
          status: 200,
          description: 'areas by site',
          schema: z.object({
            items: z.array(
              z.object({
                siteId: z.string(),
                areaId: z.string(),
                activePermits: z.array(z.string()),
                openAlarms: z.array(z.object({ alarmId: z.string(), grade: z.number().int() })),
              }),
            ),
          }),
        },
      ],
      errors: ['NOT_CONFIGURED', 'STORE_UNAVAILABLE'],
      handler: async (ctx) => ({ body: { items: await mirror(s).areas(enterpriseScope(s, ctx)) } }),
    },
    {
      method: 'get',
      path: '/v1/regulator/risk-map',
      operationId: 'regulatorRiskMap',
      summary: "Alarms and violations per site (or one site's areas) and calendar month (UTC): the risk heat map, by pages of sites",
      description:
        'Without `site`, one page of at most `limit` sites in site id order, each with a cell per month (UTC) that had any alarm ' +
        'or violation; `nextCursor` fetches the next page (null on the last). The park pages through every site that has any ' +
        "alarm or permit (a site without cells had none in the window); an enterprise user's pages list their sites with cells. " +
        'With `site`, that one site with a cell per area and month. Every count is exact for the mirror as it was when the page ' +
        'was read (pages read at different times may straddle a block). ' +
        'Violations are investigation flags on a permit and permits suspended for a violation, counted in the site and area of the permit. ' +
        "An enterprise user's map counts their own enterprise's alarms and permits only.",
      tags: ['regulator'],
      auth: true,
      access: SUPERVISORS,
      query: z
        .strictObject({
          from: isoTime('window start (default: one year before `to`)'),
          to: isoTime('window end, exclusive (default: now)'),
          site: idSchema.optional().describe("one site: its cells per area and month (no pages); default: the park's sites, by pages"),
          cursor: idSchema.optional().describe("the previous page's `nextCursor`: the sites after it (not with `site`)"),
          limit: z.coerce
            .number()
            .int()
            .min(1)
            .max(RISK_MAP_MAX_SITES)
            .optional()
            .describe(`sites per page, 1–${RISK_MAP_MAX_SITES} (default ${RISK_MAP_SITES}; not with \`site\`)`),
        })
        .superRefine((q, ctx) => {
          for (const k of ['cursor', 'limit'] as const) {
            if (q.site !== undefined && q[k] !== undefined) {
              ctx.addIssue({ code: 'custom', path: [k], message: `${k} pages the park's sites; leave it out with site (one site is one answer)` });
            }
          }
        }),
      responses: [
        {
          status: 200,
          description: 'one page of sites, or one site by area: a cell per site (or area) and month that had any',
          schema: z.object({
            window: z.object({ from: z.string(), to: z.string() }),
            level: z.enum(['site', 'area']).describe('site: cells per site and month; area: cells per area and month of `site`'),
            sites: z.array(z.string()).describe("this page's sites, in order; cells exist only for those with any in the window"),
            cells: z.array(
              z.object({
                siteId: z.string(),
                areaId: z.string().optional().describe('set at the area level only'),
                month: z.string(),
                alarms: z.number().int(),
                violations: z.number().int(),
              }),
            ),
            nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null: this was the last (always null with `site`)'),
            workUnits: z
              .array(z.object({ workUnit: z.string(), month: z.string(), violations: z.number().int() }))
              .optional()
              .describe(
                'violations per work unit (contractor or team) and month, of the whole park (or enterprise): more than one in a month is a repeat. ' +
                  'On the first page only (no `cursor`, no `site`): it does not depend on the page, so later pages do not read it again',
              ),
          }),
        },
      ],
      errors: ['NOT_CONFIGURED', 'STORE_UNAVAILABLE'],
      handler: async (ctx) => {
        const q = ctx.query as { to?: string; from?: string; site?: string; cursor?: string; limit?: number };
        const to = q.to ?? new Date().toISOString();
        const from = q.from ?? new Date(Date.parse(to) - YEAR_MS).toISOString();
        assertWindow(from, to);
        const own = enterpriseScope(s, ctx);
        const at = q.site !== undefined ? { site: q.site } : { after: q.cursor ?? null, limit: q.limit ?? RISK_MAP_SITES };
        const firstPage = q.site === undefined && q.cursor === undefined;
        const [map, workUnits] = await Promise.all([
          mirror(s).riskMap(from, to, at, own),
          firstPage ? mirror(s).violationsByWorkUnit(from, to, own) : undefined,
        ]);
        return { body: { window: { from, to }, level: q.site !== undefined ? 'area' : 'site', ...map, ...(workUnits ? { workUnits } : {}) } };
      },
    },
  ];
}
