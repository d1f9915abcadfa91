/**
 * The gateway's HTTP server hands Express requests and responses that already have the app's
 * prototypes, so that Express's per-request `Object.setPrototypeOf` changes nothing (what it cost:
 * src/http-server.ts). Counted by watching `Object.setPrototypeOf` while requests run, over real
 * HTTP; and Express's own request and response methods still answer.
 */
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { createHttpServer } from '../../src/http-server.js';

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** Serves `app` on a free port with `serve`, runs `fn` with its URL, and counts the prototype changes meanwhile. */
async function countPrototypeChanges(app: express.Express, serve: (app: express.Express) => http.Server, fn: (url: string) => Promise<void>): Promise<number> {
  const server = serve(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const original = Object.setPrototypeOf;
  let changes = 0;
  Object.setPrototypeOf = (o: object, proto: object | null) => {
    if (Object.getPrototypeOf(o) !== proto) changes++;
    return original(o, proto);
  };
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    Object.setPrototypeOf = original;
    server.close();
  }
  return changes;
}

function appWithRoutes(): express.Express {
  const app = express();
  // Something the app adds to its prototypes before the server is made stays reachable.
  (app.request as unknown as { tenant: string }).tenant = 'park-1';
  app.get('/v1/echo', (req, res) => {
    res.json({
      query: req.query,
      path: req.path,
      sameApp: req.app === app,
      pair: res.req === req && req.res === res,
      tenant: (req as unknown as { tenant: string }).tenant,
      isIncomingMessage: req instanceof http.IncomingMessage,
    });
  });
  return app;
}

describe('gateway: the HTTP server gives requests their Express prototypes at birth', () => {
  it('changes no prototype while it serves requests, where app.listen changes two a request', async () => {
    const ask = async (url: string) => {
      for (let i = 0; i < 5; i++) expect((await get(`${url}/v1/echo?i=${i}`)).status).to.equal(200);
    };
    expect(await countPrototypeChanges(appWithRoutes(), createHttpServer, ask)).to.equal(0);
    expect(await countPrototypeChanges(appWithRoutes(), (app) => http.createServer(app), ask)).to.equal(10);
  });

  it("keeps Express's request and response methods and the app's own properties", async () => {
    let answer: { status: number; body: string } | undefined;
    await countPrototypeChanges(appWithRoutes(), createHttpServer, async (url) => {
      answer = await get(`${url}/v1/echo?site=site-7&state=active`);
    });
    expect(answer?.status).to.equal(200);
    expect(JSON.parse(answer!.body)).to.deep.equal({
      query: { site: 'site-7', state: 'active' },
      path: '/v1/echo',
      sameApp: true,
      pair: true,
      tenant: 'park-1',
      isIncomingMessage: true,
    });
  });
});
