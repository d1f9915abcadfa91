/**
 * The gateway's HTTP server: node:http with requests and responses that are born with the app's
 * Express prototypes.
 *
 * Express gives each request and response its prototypes by `Object.setPrototypeOf` as it enters
 * the app. V8 answers that with a fresh hidden class per object, and every inline cache the
 * request then meets goes generic; worse for a long-running service, the objects survived the
 * young generation's collections and were promoted. A plain Express 5 app answering one JSON route
 * spent 2.3–3.0 s of CPU on 10,000 requests, allocated 27 KB and promoted 7.6 KB a request, with a
 * mark-compact every 2,000 requests; created as instances of these classes (so Express's
 * `setPrototypeOf` finds the prototype already in place and changes nothing), 1.4–1.5 s, 13 KB
 * allocated and nearly nothing promoted (bench/RESULTS.md, 2026-12-07, morning). A mark-compact in
 * the gateway lands in the middle of whichever regulator query is running.
 */
import * as http from 'node:http';
import type { Express } from 'express';

/**
 * Makes `proto` what `app[kind]` is: the app's own properties (its `app`) on a prototype that
 * inherits from Express's request or response methods, then makes it the app's.
 */
function adopt(app: Express, kind: 'request' | 'response', proto: object): void {
  const express = app[kind] as object;
  Object.setPrototypeOf(proto, Object.getPrototypeOf(express));
  Object.defineProperties(proto, Object.getOwnPropertyDescriptors(express));
  (app as unknown as Record<string, object>)[kind] = proto;
}

export function createHttpServer(app: Express): http.Server {
  class GatewayRequest extends http.IncomingMessage {}
  class GatewayResponse extends http.ServerResponse<GatewayRequest> {}
  adopt(app, 'request', GatewayRequest.prototype);
  adopt(app, 'response', GatewayResponse.prototype);
  return http.createServer({ IncomingMessage: GatewayRequest, ServerResponse: GatewayResponse }, app);
}
