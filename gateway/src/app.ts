/**
 * Builds the Express application from the declared routes: request ids and JSON logs, metrics,
 * the JSON body parser, every route through the pipeline of http.ts, Swagger UI served from
 * swagger-ui-dist (no CDN), and coded errors for everything else.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { Authenticator } from './auth.js';
import { ApiError } from './errors.js';
import { mountRoutes, type RouteDef, refuseUndeclaredMethods, sendError, toApiError } from './http.js';
import type { IdempotencyStore } from './idempotency.js';
import type { Logger } from './logger.js';
import { buildOpenApi } from './openapi.js';
import { KnownCredentials, RateLimiter } from './rate-limit.js';
import { ClientSignedTransactions, clientSignedRoutes } from './routes/client-signed.js';
import { enterpriseRoutes } from './routes/enterprise.js';
import { evidenceTransferRoutes } from './routes/evidence-transfer.js';
import { gateCheckRoutes } from './routes/gate-checks.js';
import { identityRoutes } from './routes/identities.js';
import { ocrRoutes } from './routes/ocr.js';
import { personalDataRoutes } from './routes/personal-data.js';
import { regulatorRoutes } from './routes/regulator.js';
import { screenRoutes } from './routes/screen.js';
import { systemRoutes } from './routes/system.js';
import { templateRoutes } from './routes/templates.js';
import { workerCodeRoutes } from './routes/worker-code.js';
import type { Services } from './services.js';
import type { Wallet } from './wallet.js';

const require = createRequire(import.meta.url);
export const VERSION = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface AppDeps {
  services: Services;
  wallet: Wallet;
  idempotency: IdempotencyStore | undefined;
  logger: Logger;
}

export function allRoutes(s: Services, openapi: () => unknown, wallet: Wallet, clientSigned: ClientSignedTransactions): RouteDef[] {
  return [
    ...systemRoutes(s, openapi),
    ...enterpriseRoutes(s),
    ...workerCodeRoutes(s),
    ...evidenceTransferRoutes(s),
    ...gateCheckRoutes(s),
    ...personalDataRoutes(s),
    ...templateRoutes(s),
    ...ocrRoutes(s),
    ...regulatorRoutes(s),
    ...screenRoutes(s),
    ...clientSignedRoutes(clientSigned),
    ...identityRoutes(s, wallet),
  ];
}

export function createApp(d: AppDeps): { app: Express; routes: RouteDef[]; openapi: Record<string, unknown>; clientSigned: ClientSignedTransactions } {
  const s = d.services;
  const cfg = s.config;
  let doc: Record<string, unknown> = {};
  const clientSigned = new ClientSignedTransactions(s, d.wallet, cfg.GATEWAY_CLIENT_SIGNED_TTL_MS);
  const routes = allRoutes(s, () => doc, d.wallet, clientSigned);
  doc = buildOpenApi(routes, { version: VERSION, serverUrl: cfg.GATEWAY_PUBLIC_URL });

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // req.ip, which the sign-in limits count by, reads X-Forwarded-For only from these proxies.
  app.set('trust proxy', cfg.GATEWAY_TRUSTED_PROXIES.length > 0 ? [...cfg.GATEWAY_TRUSTED_PROXIES] : false);

  app.use((req: Request, res: Response, next: NextFunction) => {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && /^[A-Za-z0-9._-]{8,128}$/.test(incoming) ? incoming : crypto.randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const log = d.logger.child({ requestId });
    res.locals.log = log;
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = (res.locals.route as string | undefined) ?? 'unmatched';
      s.metrics.requests.inc({ method: req.method, route, status: String(res.statusCode) });
      s.metrics.duration.observe({ method: req.method, route }, seconds);
      log.info(
        {
          method: req.method,
          path: req.originalUrl.split('?')[0],
          route,
          status: res.statusCode,
          ms: Math.round(seconds * 1000),
          principal: res.locals.principal,
        },
        'request',
      );
    });
    next();
  });

  app.use(refuseUndeclaredMethods(routes));
  app.use(express.json({ limit: cfg.GATEWAY_JSON_LIMIT_BYTES, strict: true }));

  const router = express.Router();
  mountRoutes(router, routes, {
    auth: new Authenticator(cfg),
    orgs: cfg.GATEWAY_ORGS,
    wallet: d.wallet,
    idempotency: d.idempotency,
    ledger: s.ledger,
    rateLimiter: new RateLimiter(cfg.GATEWAY_RATE_LIMIT_PER_WINDOW, cfg.GATEWAY_RATE_LIMIT_WINDOW_MS),
    authFailureLimiter: new RateLimiter(cfg.GATEWAY_AUTH_FAILURES_PER_WINDOW, cfg.GATEWAY_RATE_LIMIT_WINDOW_MS),
    subjectFailureLimiter: new RateLimiter(cfg.GATEWAY_AUTH_FAILURES_PER_WINDOW, cfg.GATEWAY_RATE_LIMIT_WINDOW_MS),
    knownCredentials: new KnownCredentials(),
    metrics: s.metrics,
    logger: d.logger,
    retryAfterSeconds: cfg.GATEWAY_RETRY_AFTER_SECONDS,
  });
  app.use(router);

  // Swagger UI from the local swagger-ui-dist package, pointed at /openapi.json.
  const uiDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  app.get('/docs/swagger-initializer.js', (_req, res) => {
    res
      .type('application/javascript')
      .send(
        `window.onload = function () { window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: ` +
          `'#swagger-ui', deepLinking: true, presets: [SwaggerUIBundle.presets.apis, ` +
          `SwaggerUIStandalonePreset], layout: 'StandaloneLayout' }); };\n`,
      );
  });
  app.get('/docs', (req, res, next) => (req.path === '/docs' && !req.originalUrl.endsWith('/') ? res.redirect(301, '/docs/') : next()));
  app.use('/docs', express.static(uiDir, { index: 'index.html', fallthrough: true }));
  serveScreen(app, cfg.GATEWAY_WEB_APP_DIR ?? defaultScreenDir());

  app.use((req: Request, res: Response) => {
    sendError(res, new ApiError('ROUTE_NOT_FOUND', `no route ${req.method} ${req.path}; see /openapi.json`), res.locals.requestId as string);
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    sendError(res, toApiError(err, (res.locals.log as Logger) ?? d.logger), res.locals.requestId as string);
  });
  return { app, routes, openapi: doc, clientSigned };
}

/** The supervision screen's build beside the gateway in this tree (web/dist), from src/ and from dist/ alike. */
function defaultScreenDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');
}

/**
 * The supervision screen at /app/: its own bundle only (scripts, styles and fonts from npm at build
 * time, none from a CDN; the policy below refuses any other origin), talking to this gateway's API.
 */
function serveScreen(app: Express, dir: string): void {
  app.use('/app', (req: Request, res: Response, next: NextFunction) => {
    if (!fs.existsSync(path.join(dir, 'index.html'))) {
      sendError(
        res,
        new ApiError('NOT_CONFIGURED', `the supervision screen is not built in ${dir}: run npm run build (or set GATEWAY_WEB_APP_DIR)`),
        res.locals.requestId as string,
      );
      return;
    }
    if (req.originalUrl === '/app') {
      res.redirect(301, '/app/');
      return;
    }
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; media-src 'self' blob:; " +
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.use(
    '/app',
    express.static(dir, {
      index: 'index.html',
      fallthrough: true,
      // Chunks are named by their content's hash: a browser keeps them for good. The page and its
      // entry keep their names across builds, so they are revalidated (ETag) on each load.
      setHeaders: (res, file) =>
        res.setHeader('Cache-Control', path.basename(path.dirname(file)) === 'chunks' ? 'public, max-age=31536000, immutable' : 'no-cache'),
    }),
  );
}
