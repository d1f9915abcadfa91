/**
 * The services' shared /healthz and /metrics server, on a free loopback port (nothing else needed).
 */
import { expect } from 'chai';
import { type Health, type ServiceHttpServer, startServiceHttpServer } from '../../src';

describe('schema: the services’ health and metrics server', () => {
  let health: Health = { ok: true, streaming: true };
  let metricsFail = false;
  let server: ServiceHttpServer;
  let base: string;
  before(async () => {
    server = await startServiceHttpServer({
      host: '127.0.0.1',
      port: 0,
      registry: {
        contentType: 'text/plain; version=0.0.4',
        metrics: async () => {
          if (metricsFail) throw new Error('collector failed');
          return 'service_up 1\n';
        },
      },
      health: () => health,
      extra: async (req, res) => {
        if (req.url !== '/v1/extra') return false;
        res.writeHead(202).end('extra');
        return true;
      },
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.close());

  it('answers /healthz 200 with the details while healthy and 503 with them while not', async () => {
    health = { ok: true, streaming: true };
    const up = await fetch(`${base}/healthz?probe=1`);
    expect(up.status).to.equal(200);
    expect(await up.json()).to.deep.equal({ ok: true, streaming: true });
    health = { ok: false, lastError: 'peer unreachable' };
    const down = await fetch(`${base}/healthz`);
    expect(down.status).to.equal(503);
    expect(await down.json()).to.deep.equal({ ok: false, lastError: 'peer unreachable' });
  });

  it('serves /metrics as the registry renders it, and 500 when it cannot', async () => {
    metricsFail = false;
    const r = await fetch(`${base}/metrics`);
    expect(r.status).to.equal(200);
    expect(r.headers.get('content-type')).to.equal('text/plain; version=0.0.4');
    expect(await r.text()).to.equal('service_up 1\n');
    metricsFail = true;
    const failed = await fetch(`${base}/metrics`);
    expect(failed.status).to.equal(500);
    expect(await failed.text()).to.contain('collector failed');
    metricsFail = false;
  });

  it('hands other paths to `extra`, and answers a coded JSON 404 for what nobody serves (other methods too)', async () => {
    const extra = await fetch(`${base}/v1/extra`);
    expect(extra.status).to.equal(202);
    expect(await extra.text()).to.equal('extra');
    for (const [method, path] of [
      ['GET', '/nothing'],
      ['POST', '/healthz'],
      ['DELETE', '/metrics'],
    ]) {
      const r = await fetch(`${base}${path}`, { method });
      expect(r.status, `${method} ${path}`).to.equal(404);
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(body.error.code).to.equal('ROUTE_NOT_FOUND');
      expect(body.error.message).to.contain(`${method} ${path}`);
    }
  });
});
