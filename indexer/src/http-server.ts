/**
 * /healthz (JSON) and /metrics (Prometheus text), served by the services' shared server. Healthy
 * means: no fatal error, and either streaming now or recovering from an error less than
 * `unhealthyAfterMs` old.
 */
import { type ServiceHttpServer, startServiceHttpServer } from '@compliance-ledger/schema';
import type { IndexerMetrics } from './metrics.js';

export async function startHttpServer(metrics: IndexerMetrics, host: string, port: number, unhealthyAfterMs = 60_000): Promise<ServiceHttpServer> {
  const startedAt = Date.now();
  return startServiceHttpServer({
    host,
    port,
    registry: metrics.registry,
    health: () => {
      const s = metrics.state;
      const lastProgress = Math.max(startedAt, s.lastCommitAt ? Date.parse(s.lastCommitAt) : 0);
      const stalled = !s.streaming && Date.now() - lastProgress > unhealthyAfterMs;
      const ok = s.fatal === null && !stalled;
      return { ok, status: ok ? 'ok' : 'unhealthy', ...s };
    },
  });
}
