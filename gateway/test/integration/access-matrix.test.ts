/**
 * The role × endpoint matrix against a real gateway on the real network: every caller (every role
 * of both orgs, and one without credentials) sends every route of the route table a request that
 * fails validation after authorization. An allowed caller must get past the role check (400 where
 * the pipeline validates the input), a refused one 403 FORBIDDEN or 401 UNAUTHENTICATED as the
 * matrix says; and the channel height is the same afterwards, so none of it wrote.
 */
import { expect } from 'chai';
import type { RunningGateway } from '../../src/server.js';
import { CALLERS, type Caller, EXPECTED_ACCESS, expectedOutcome, invalidRequest, matrixGaps, routeKey } from '../support/access-matrix.js';
import { chainHeight, requireNetwork, startTestGateway, token } from '../support/env.js';
import { offlineApp } from '../support/offline.js';

const callerName = (c: Caller) => (c === 'anonymous' ? 'anonymous' : `${c.org}/${c.role}`);

describe('gateway: role × endpoint matrix on a real gateway', function () {
  this.timeout(300_000);
  let gw: RunningGateway;
  let heightBefore: number;
  const authorization = new Map<string, Record<string, string>>();

  before(async function () {
    requireNetwork(this);
    // Each caller sends one request per route: more than the default per-user budget allows at once.
    gw = await startTestGateway({ GATEWAY_RATE_LIMIT_PER_WINDOW: '100000' });
    heightBefore = await chainHeight();
    for (const c of CALLERS) {
      if (c === 'anonymous') authorization.set('anonymous', {});
      else authorization.set(callerName(c), { authorization: `Bearer ${await token({ sub: `matrix-${c.org}-${c.role}`.replace(/_/g, '-'), ...c })}` });
    }
  });
  after(async () => {
    await gw?.close();
  });

  it('answers every role of every org on every route as the matrix expects, and writes nothing', async () => {
    // The same route table the gateway under test mounted (allRoutes), built without I/O.
    const { routes } = offlineApp();
    const gaps = matrixGaps(routes);
    expect(gaps.unexpected, 'routes without a row in EXPECTED_ACCESS').to.deep.equal([]);
    const wrong: string[] = [];
    const counts = { allowed: 0, 'refused 403': 0, 'refused 401': 0 };
    for (const def of routes) {
      const invalid = invalidRequest(def);
      const method = def.method.toUpperCase();
      for (const caller of CALLERS) {
        const expected = expectedOutcome(EXPECTED_ACCESS[routeKey(def)]!, caller);
        const res = await fetch(gw.url + (invalid?.path ?? def.path.replace(/\{\w+\}/g, 'MATRIX-1')), {
          method,
          headers: { ...authorization.get(callerName(caller)), ...(invalid?.headers ?? {}) },
          ...(invalid?.body !== undefined ? { body: invalid.body } : {}),
        });
        const text = await res.text();
        const code = method === 'HEAD' || res.status < 400 ? undefined : (JSON.parse(text) as { error: { code: string } }).error.code;
        const ok =
          expected === 'refused 401'
            ? res.status === 401 && (code ?? 'UNAUTHENTICATED') === 'UNAUTHENTICATED'
            : expected === 'refused 403'
              ? res.status === 403 && (code ?? 'FORBIDDEN') === 'FORBIDDEN'
              : invalid
                ? res.status === 400
                : res.status < 500 && ![401, 403, 405, 429].includes(res.status) && code !== 'ROUTE_NOT_FOUND';
        if (!ok) wrong.push(`${routeKey(def)} as ${callerName(caller)}: expected ${expected}, got ${res.status} ${code ?? ''}`);
        counts[expected]++;
      }
    }
    expect(wrong).to.deep.equal([]);
    expect(counts.allowed + counts['refused 403'] + counts['refused 401']).to.equal(routes.length * CALLERS.length);
    expect(counts['refused 403']).to.be.greaterThan(routes.length);
    expect(await chainHeight(), 'the channel height after the matrix').to.equal(heightBefore);
  });
});
