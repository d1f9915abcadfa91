import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The small HTTP server of the background services (indexer, ingest, reporter): /healthz, /metrics
 * and, for the reporter, its push API. One implementation, so that every service answers probes
 * and scrapers the same way: GET only, 200 or 503 with the health details as JSON, and a coded
 * JSON 404 naming what is served.
 */

export interface Health {
  ok: boolean;
  [detail: string]: unknown;
}

/** What /metrics needs of a prom-client Registry (schema does not depend on prom-client). */
export interface MetricsRegistry {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface ServiceHttpOptions {
  host: string;
  /** 0 picks a free port (tests); the chosen one is in the result. */
  port: number;
  registry: MetricsRegistry;
  health: () => Health;
  /** Routes beyond /healthz and /metrics (the reporter's push API); answers true when it handled the request. */
  extra?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

export interface ServiceHttpServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function answer(o: ServiceHttpOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/healthz') {
    const health = o.health();
    sendJson(res, health.ok ? 200 : 503, health);
  } else if (req.method === 'GET' && path === '/metrics') {
    const text = await o.registry.metrics();
    res.writeHead(200, { 'content-type': o.registry.contentType });
    res.end(text);
  } else if (!(await (o.extra?.(req, res) ?? false))) {
    sendJson(res, 404, { error: { code: 'ROUTE_NOT_FOUND', message: `no route ${req.method} ${path}; GET /healthz and GET /metrics are served` } });
  }
}

export async function startServiceHttpServer(o: ServiceHttpOptions): Promise<ServiceHttpServer> {
  const server = createServer((req, res) => {
    answer(o, req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
