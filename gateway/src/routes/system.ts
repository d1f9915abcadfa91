/** Health, metrics and the OpenAPI document. Only health and the docs (/openapi.json, /docs/) need no authentication. */
import * as crypto from 'node:crypto';
import { z } from 'zod';
import type { RouteDef } from '../http.js';
import type { Services } from '../services.js';

export function systemRoutes(s: Services, openapi: () => unknown): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/healthz',
      operationId: 'health',
      summary: 'Liveness and dependency checks (ledger peers, PostgreSQL)',
      tags: ['system'],
      auth: false,
      query: z.strictObject({}),
      responses: [
        {
          status: 200,
          description: 'every dependency answers',
          schema: z.object({ status: z.enum(['ok', 'degraded']), checks: z.record(z.string(), z.boolean()), contentStore: z.string() }),
        },
        { status: 503, description: 'a dependency does not answer (same body, status degraded)' },
      ],
      handler: async () => {
        const [enterprise, regulator, db] = await Promise.all([
          s.ledger.ping('enterprise', 2000),
          s.ledger.ping('regulator', 2000),
          s.pool
            ? s.pool.query('SELECT 1').then(
                () => true,
                () => false,
              )
            : Promise.resolve(true),
        ]);
        const checks = { enterprisePeer: enterprise, regulatorPeer: regulator, database: db };
        const ok = Object.values(checks).every(Boolean);
        return {
          status: ok ? 200 : 503,
          body: { status: ok ? 'ok' : 'degraded', checks, contentStore: s.content.kind },
          headers: (ok ? {} : { 'Retry-After': String(s.config.GATEWAY_RETRY_AFTER_SECONDS) }) as Record<string, string>,
        };
      },
    },
    {
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics (scrape token, or a user: enterprise admin, regulator, auditor)',
      tags: ['system'],
      auth: true,
      access: { enterprise: ['admin'], regulator: ['regulator', 'auditor'] },
      tokenAuth: (req) => {
        const token = s.config.GATEWAY_METRICS_TOKEN;
        const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (!token || !given) return false;
        const a = crypto.createHash('sha256').update(given).digest();
        const b = crypto.createHash('sha256').update(token).digest();
        return crypto.timingSafeEqual(a, b);
      },
      query: z.strictObject({}),
      responses: [{ status: 200, description: 'Prometheus text format', contentType: 'text/plain' }],
      handler: async () => ({ body: await s.metrics.registry.metrics(), contentType: s.metrics.registry.contentType }),
    },
    {
      method: 'get',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This OpenAPI 3.1 document',
      tags: ['system'],
      auth: false,
      query: z.strictObject({}),
      responses: [{ status: 200, description: 'the document', schema: z.object({}).catchall(z.unknown()) }],
      handler: async () => ({ body: openapi() }),
    },
  ];
}
