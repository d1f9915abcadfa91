import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Metrics } from '../../src/metrics.js';
import type { Services } from '../../src/services.js';

type LogLine = Record<string, unknown>;

/** The production logger writing into memory; `next` resolves with the first line that matches. */
function capturedLogger() {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  let waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) {
        raw.push(text);
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        const ready = waiters.filter((w) => w.match(line));
        waiters = waiters.filter((w) => !ready.includes(w));
        for (const w of ready) w.resolve(line);
      }
      cb();
    },
  });
  const next = (match: (l: LogLine) => boolean): Promise<LogLine> => {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no matching log line within 5 s')), 5000);
      waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
    });
  };
  return { logger: createLogger('info', sink), raw, next };
}

describe('gateway: JSON request logs with a request id', () => {
  const { logger, raw, next } = capturedLogger();
  let server: ReturnType<ReturnType<typeof createApp>['app']['listen']>;
  let base: string;

  before(async () => {
    const config = parseConfig({ GATEWAY_JWT_HS256_SECRET: 'x'.repeat(40), LEDGER_RUN_DIR: '/nonexistent' });
    const services = {
      config,
      ledger: {},
      content: { kind: 'embedded' },
      metrics: new Metrics(),
      pool: undefined,
      regulator: undefined,
      ocr: undefined,
      alarmFeed: undefined,
    } as unknown as Services;
    const { app } = createApp({ services, wallet: {} as never, idempotency: undefined, logger });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => server.close());

  it('logs one JSON line per request with the id it returns, and never the bearer token', async () => {
    const r = await fetch(`${base}/v1/permits/P-001`, { headers: { authorization: 'Bearer not.a.jwt', 'x-request-id': 'client-chosen-id-42' } });
    expect(r.status).to.equal(401);
    expect(r.headers.get('x-request-id')).to.equal('client-chosen-id-42');
    const body = (await r.json()) as { error: { requestId: string } };
    expect(body.error.requestId).to.equal('client-chosen-id-42');
    const line = await next((l) => l.msg === 'request' && l.requestId === 'client-chosen-id-42');
    expect(line).to.include({ service: 'gateway', method: 'GET', route: '/v1/permits/{permitNo}', status: 401 });
    expect(line.ms).to.be.a('number');
    expect(raw.join('\n')).to.not.contain('not.a.jwt');
  });

  it('never logs an X-API-Key', async () => {
    const key = 'api-key-that-must-not-be-logged-0123456789';
    const r = await fetch(`${base}/v1/permits/P-002`, { headers: { 'x-api-key': key, 'x-request-id': 'api-key-request-7' } });
    expect(r.status).to.equal(401);
    const line = await next((l) => l.msg === 'request' && l.requestId === 'api-key-request-7');
    expect(line).to.include({ status: 401, route: '/v1/permits/{permitNo}' });
    expect(raw.join('\n')).to.not.contain(key);
  });

  it('redacts both credential headers wherever a request object is logged', async () => {
    logger.info(
      { req: { headers: { authorization: 'Bearer secret.jwt.value', 'x-api-key': 'secret-api-key-value', accept: 'application/json' } } },
      'with headers',
    );
    const line = await next((l) => l.msg === 'with headers');
    const headers = (line.req as { headers: Record<string, string> }).headers;
    expect(headers).to.deep.equal({ authorization: '[Redacted]', 'x-api-key': '[Redacted]', accept: 'application/json' });
    expect(raw.join('\n')).to.not.contain('secret.jwt.value').and.not.contain('secret-api-key-value');
  });

  it('replaces a request id that is not a safe token with a UUID', async () => {
    const bad = await fetch(`${base}/healthz-nope`, { headers: { 'x-request-id': 'bad id with spaces' } });
    const id = bad.headers.get('x-request-id');
    expect(id).to.match(/^[0-9a-f-]{36}$/);
    const line = await next((l) => l.msg === 'request' && l.requestId === id);
    expect(line.status).to.equal(404);
  });
});
