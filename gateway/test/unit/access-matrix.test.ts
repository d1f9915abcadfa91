/**
 * The role × endpoint matrix (test/support/access-matrix.ts) covers the route table exactly, and
 * for every route the integration test can build a request an allowed caller gets refused at
 * validation, after authorization.
 */
import { expect } from 'chai';
import { EXPECTED_ACCESS, invalidRequest, matrixGaps, routeKey } from '../support/access-matrix.js';
import { offlineApp } from '../support/offline.js';

describe('gateway: role × endpoint matrix', () => {
  const { routes } = offlineApp();

  it('has a row for every route and no row without a route', () => {
    const gaps = matrixGaps(routes);
    expect(gaps.unexpected, 'routes without a row in EXPECTED_ACCESS: add one').to.deep.equal([]);
    expect(gaps.stale, 'rows of EXPECTED_ACCESS that name no route').to.deep.equal([]);
    expect(Object.keys(EXPECTED_ACCESS).length).to.equal(routes.length);
  });

  it('finds a gap when a route is added without a row', () => {
    const added = { ...routes[0]!, path: '/v1/unlisted' };
    expect(matrixGaps([...routes, added]).unexpected).to.deep.equal(['GET /v1/unlisted']);
  });

  it('builds a request that fails validation for every route but those that validate no input themselves', () => {
    const without = routes.filter((r) => invalidRequest(r) === undefined).map(routeKey);
    expect(without.sort()).to.deep.equal(['OPTIONS /v1/uploads', 'POST /v1/certificates/ocr']);
  });
});
