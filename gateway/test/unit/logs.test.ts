import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { Metrics } from '../../src/metrics.js';
import type { Services } from '../../src/services.js';

describe('gateway: JSON request logs with a request id', () => {
  it('logs one JSON line per request with the id it returns, and never the credentials', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    const logger = pino({ level: 'info', redact: ['req.headers.authorization'] }, sink);
    const config = parseConfig({ GATEWAY_JWT_HS256_SECRET: 'x'.repeat(40), LEDGER_RUN_DIR: '/nonexistent' });
    const services = { config, ledger: {}, content: { kind: 'embedded' }, metrics: new Metrics(), pool: undefined, regulator: undefined, ocr: undefined } as unknown as Services;
    const { app } = createApp({ services, wallet: {} as never, idempotency: undefined, logger });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const r = await fetch(`${base}/v1/permits/P-001`, { headers: { authorization: 'Bearer not.a.jwt', 'x-request-id': 'client-chosen-id-42' } });
      expect(r.status).to.equal(401);
      expect(r.headers.get('x-request-id')).to.equal('client-chosen-id-42');
      const body = (await r.json()) as { error: { requestId: string } };
      expect(body.error.requestId).to.equal('client-chosen-id-42');
      await new Promise((res) => setTimeout(res, 20));
      const line = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'request');
      expect(line).to.include({ requestId: 'client-chosen-id-42', method: 'GET', route: '/v1/permits/{permitNo}', status: 401 });
      expect(line.ms).to.be.a('number');
      expect(lines.join('\n')).to.not.contain('not.a.jwt');
      const bad = await fetch(`${base}/healthz-nope`, { headers: { 'x-request-id': 'bad id with spaces' } });
      expect(bad.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    } finally {
      server.close();
    }
  });
});
