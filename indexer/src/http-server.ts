/**
 * /healthz (JSON) and /metrics (Prometheus text). Healthy means: no fatal error, and either
 * streaming now or recovering from an error less than `unhealthyAfterMs` old.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IndexerMetrics } from './metrics.js';

export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

export async function startHttpServer(metrics: IndexerMetrics, host: string, port: number, unhealthyAfterMs = 60_000): Promise<HttpServer> {
  const startedAt = Date.now();
  const server = http.createServer((req, res) => {
    void (async () => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
        return;
      }
      if (req.url === '/healthz' || req.url === '/health') {
        const s = metrics.state;
        const lastProgress = Math.max(startedAt, s.lastCommitAt ? Date.parse(s.lastCommitAt) : 0);
        const stalled = !s.streaming && Date.now() - lastProgress > unhealthyAfterMs;
        const ok = s.fatal === null && !stalled;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ok' : 'unhealthy', ...s }));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'not found: try /healthz or /metrics' }));
    })().catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
