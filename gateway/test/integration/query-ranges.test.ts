/**
 * Date and time query parameters at the edges of the supported range (1970-01-01T00:00:00Z to
 * 9999-12-31T23:59:59.999Z, months 1970-01 to 9999-12), against the indexer's tables in the real
 * PostgreSQL: outside it, or with `from` later than `to`, 400 VALIDATION_FAILED naming the
 * parameter; at its edges, 200. Before, year 0000 reached PostgreSQL and came back as 500.
 * Every date-time query parameter of the OpenAPI document is tried, so a new one is covered too.
 */
import { expect } from 'chai';
import type { RunningGateway } from '../../src/server.js';
import { Client, createDatabase, dropDatabase, requireNetwork, startTestGateway, token } from '../support/env.js';
import { type RunningIndexer, startIndexer } from '../support/indexer.js';

type Json = Record<string, any>;

describe('gateway: date and time query parameters are checked against the supported range (real PostgreSQL)', function () {
  this.timeout(180_000);
  let gw: RunningGateway;
  let indexer: RunningIndexer;
  let db: string | undefined;
  let regulator: Client;
  let timeParams: { path: string; name: string }[];

  before(async function () {
    requireNetwork(this);
    db = await createDatabase('gw_ranges');
    indexer = startIndexer(db);
    // Its tables exist once it has a checkpoint; the queries below need nothing more of the chain.
    await indexer.waitForBlock(0);
    gw = await startTestGateway({ DATABASE_URL: db });
    regulator = new Client(gw.url).as(await token({ sub: 'gw-ranges-regulator', org: 'regulator', role: 'regulator' }));
    const doc = (await new Client(gw.url).get('/openapi.json')).body as Json;
    timeParams = Object.entries(doc.paths as Record<string, Record<string, Json>>).flatMap(([p, methods]) =>
      Object.values(methods).flatMap((op) =>
        ((op.parameters ?? []) as Json[]).filter((x) => x.in === 'query' && x.schema?.format === 'date-time').map((x) => ({ path: p, name: x.name as string })),
      ),
    );
  });
  after(async () => {
    await gw?.close();
    await indexer?.stop();
    await dropDatabase(db);
  });

  const expect400 = (r: { status: number; body: Json; text: string }, field: string, message: RegExp) => {
    expect(r.status, r.text).to.equal(400);
    expect(r.body.error.code).to.equal('VALIDATION_FAILED');
    const f = (r.body.error.details.fields as { path: string; message: string }[]).find((x) => x.path === field);
    expect(f, r.text).to.not.equal(undefined);
    expect(f!.message).to.match(message);
  };

  it('documents the range on every date-time query parameter', async () => {
    expect(timeParams.map((t) => `${t.path}?${t.name}`)).to.include.members([
      '/v1/regulator/permits?from',
      '/v1/regulator/permits?to',
      '/v1/regulator/alarms?from',
      '/v1/regulator/alarms?to',
      '/v1/regulator/kpis?from',
      '/v1/regulator/kpis?to',
    ]);
    const doc = (await new Client(gw.url).get('/openapi.json')).body as Json;
    for (const { path, name } of timeParams) {
      const p = (doc.paths[path].get.parameters as Json[]).find((x) => x.name === name)!;
      expect(p.description, `${path} ${name}`).to.contain('1970-01-01T00:00:00Z').and.to.contain('9999-12-31T23:59:59.999Z');
    }
    const month = (doc.paths['/v1/regulator/reports/monthly'].get.parameters as Json[]).find((x) => x.name === 'month')!;
    expect(month.description).to.contain('1970-01').and.to.contain('9999-12');
  });

  // The regulator's queries read PostgreSQL with optional bounds; the auditor's range bundle
  // (/v1/audit/bundle) needs both bounds and reads the peer: its refusals are in proof-bundle.test.ts.
  const queryParams = () => timeParams.filter((t) => t.path.startsWith('/v1/regulator/'));

  it('answers 400 naming the parameter for instants before 1970 (year 0000 included), and 200 at both edges', async () => {
    for (const { path, name } of queryParams()) {
      for (const bad of ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '1969-12-31T23:59:59.999Z']) {
        expect400(
          await regulator.get(`${path}?${name}=${encodeURIComponent(bad)}`),
          `query.${name}`,
          /between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z/,
        );
      }
      for (const edge of ['1970-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z']) {
        // kpis and the risk map with only `from` at the last instant: `to` defaults to now, which is earlier (tested below).
        if (['/v1/regulator/kpis', '/v1/regulator/risk-map'].includes(path) && name === 'from' && edge.startsWith('9999')) continue;
        const r = await regulator.get(`${path}?${name}=${encodeURIComponent(edge)}`);
        expect(r.status, `${path}?${name}=${edge}: ${r.text}`).to.equal(200);
      }
    }
  });

  it('answers 400 when from is later than to, and 200 for the widest window and an empty one (from = to)', async () => {
    const paths = [...new Set(queryParams().map((t) => t.path))];
    expect(paths).to.have.length.greaterThanOrEqual(3);
    for (const path of paths) {
      expect400(
        await regulator.get(`${path}?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z`),
        'query.from',
        /from \(2026-02-01T00:00:00Z\) is later than to \(2026-01-01T00:00:00Z\)/,
      );
      expect((await regulator.get(`${path}?from=1970-01-01T00:00:00Z&to=9999-12-31T23:59:59.999Z`)).status, path).to.equal(200);
      expect((await regulator.get(`${path}?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`)).status, path).to.equal(200);
    }
    // KPIs: `to` defaults to now, so a `from` in the future alone is the same swapped window.
    expect400(await regulator.get('/v1/regulator/kpis?from=9999-01-01T00:00:00Z'), 'query.from', /is later than to/);
  });

  it('monthly report: months before 1970-01 are 400, 1970-01 and 9999-12 answer 200 as JSON and CSV', async () => {
    for (const bad of ['0000-01', '0001-01', '1969-12']) {
      expect400(await regulator.get(`/v1/regulator/reports/monthly?month=${bad}`), 'query.month', /between 1970-01 and 9999-12/);
    }
    const first = await regulator.get('/v1/regulator/reports/monthly?month=1970-01');
    expect(first.status, first.text).to.equal(200);
    // Months are Asia/Shanghai's (UTC+8) by default: 1970-01 begins before 1970 in UTC, which PostgreSQL reads.
    expect(first.body.window).to.deep.equal({ from: '1969-12-31T16:00:00Z', to: '1970-01-31T16:00:00Z' });
    const last = await regulator.get('/v1/regulator/reports/monthly?month=9999-12');
    expect(last.status, last.text).to.equal(200);
    expect(last.body.window).to.deep.equal({ from: '9999-11-30T16:00:00Z', to: '9999-12-31T16:00:00Z' });
    expect(last.body.permitsTotal).to.equal(0);
    const csv = await regulator.get('/v1/regulator/reports/monthly?month=9999-12&format=csv');
    expect(csv.status).to.equal(200);
    expect(csv.text).to.contain('report,month,9999-12');
  });
});
