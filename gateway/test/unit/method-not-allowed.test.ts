/**
 * The methods the route table declares on a request path, which the 405 answer's Allow header
 * lists: matched as the Express router matches the same templates.
 */

import { expect } from 'chai';
import { declaredMethods } from '../../src/http.js';
import { offlineApp } from '../support/offline.js';

describe('gateway: declared methods per request path (405 Allow header)', () => {
  const methodsOf = declaredMethods(offlineApp().routes);

  const cases: [requestPath: string, template: string | undefined, allow: string[] | undefined][] = [
    ['/v1/permits', '/v1/permits', ['POST']],
    ['/v1/permits/P-1', '/v1/permits/{permitNo}', ['GET', 'HEAD']],
    ['/v1/permits/P-1/evidence', '/v1/permits/{permitNo}/evidence', ['GET', 'HEAD', 'POST']],
    ['/v1/templates/hot_work/2/versions', '/v1/templates/{operationType}/{level}/versions', ['GET', 'HEAD']],
    // As the router: a trailing slash and another letter case reach the same route.
    ['/v1/policy/', '/v1/policy', ['GET', 'HEAD', 'POST']],
    ['/V1/PERMITS/P-1', '/v1/permits/{permitNo}', ['GET', 'HEAD']],
    // Two templates match: the router serves GET from one and POST from the other.
    ['/v1/certificates/ocr', '/v1/certificates/{certificateId}', ['GET', 'HEAD', 'POST']],
    // The tus upload routes declare PATCH, DELETE and OPTIONS: the table's methods, not only GET/HEAD/POST, reach them.
    ['/v1/uploads', '/v1/uploads', ['POST', 'OPTIONS']],
    ['/v1/uploads/u-1', '/v1/uploads/{uploadId}', ['GET', 'HEAD', 'PATCH', 'DELETE']],
    // A parameter is one segment, and literal dots are not wildcards.
    ['/v1/permits/P-1/extra/segments', undefined, undefined],
    ['/openapi-json', undefined, undefined],
    ['/v1/nothing-here', undefined, undefined],
  ];
  for (const [requestPath, template, allow] of cases) {
    it(`${requestPath} → ${allow?.join(', ') ?? 'unknown path (404)'}`, () => {
      const declared = methodsOf(requestPath);
      expect(declared?.template).to.equal(template);
      expect(declared?.allow).to.deep.equal(allow);
    });
  }
});
