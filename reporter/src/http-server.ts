import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Health {
  ok: boolean;
  [detail: string]: unknown;
}

/** /healthz (200 or 503 with details), /metrics (Prometheus text) and whatever `extra` answers. */
export async function startHttpServer(
  host: string,
  port: number,
  registry: Registry,
  health: () => Health,
  /** Routes beyond /healthz and /metrics (the push API); answers true when it handled the request. */
  extra: (req: IncomingMessage, res: ServerResponse) => Promise<boolean> = async () => false,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      const h = health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(h));
    } else if (req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (e: unknown) => {
          res.writeHead(500).end(String(e));
        },
      );
    } else {
      extra(req, res).then(
        (handled) => {
          if (!handled) res.writeHead(404).end();
        },
        (e: unknown) => {
          res.writeHead(500).end(String(e));
        },
      );
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
