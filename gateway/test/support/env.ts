/**
 * Test support: the real network (skipped with the reason when LEDGER_NETWORK_UNAVAILABLE is set),
 * a private PostgreSQL database per suite, JWTs signed with the test secret, and a gateway started
 * in-process on a free port that tests talk to over real HTTP.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connectionProfilePath, defaultLedgerRunDir } from '@compliance-ledger/schema';
import { SignJWT } from 'jose';
import pg from 'pg';
import type { PrincipalClaims } from '../../src/auth.js';
import { type GatewayConfig, parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { type RunningGateway, startGateway } from '../../src/server.js';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';

export function runDir(): string {
  return defaultLedgerRunDir(process.env);
}
/**
 * Where tests leave what a person may want to look at afterwards (rendered report pages):
 * LEDGER_TEST_OUTPUT_DIR, else test-output/ in the run directory.
 */
export function testOutputDir(): string {
  const dir = process.env.LEDGER_TEST_OUTPUT_DIR ?? path.join(runDir(), 'test-output');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
export function profilePath(): string {
  return connectionProfilePath(process.env);
}

/** Call in a suite's `before`: skips the suite, with the reason, when no network is available. */
export function requireNetwork(ctx: Mocha.Context): void {
  const unavailable = process.env.LEDGER_NETWORK_UNAVAILABLE;
  if (unavailable) {
    if (ctx.test) ctx.test.title += ` (skipped: ${unavailable})`;
    ctx.skip();
  }
  if (!fs.existsSync(profilePath())) {
    throw new Error(`no Fabric network: ${profilePath()} is missing. Run 'npm test' or 'bash scripts/network.sh up && bash scripts/deploy-chaincode.sh'.`);
  }
}

export function databaseUrl(): string | undefined {
  return process.env.TEST_DATABASE_URL;
}

/** A fresh database on the test server; returns its URL. */
export async function createDatabase(prefix: string): Promise<string> {
  const base = databaseUrl();
  if (!base) throw new Error('TEST_DATABASE_URL is not set (npm test exports it)');
  const name = `${prefix}_${Date.now().toString(36)}_${crypto.randomBytes(3).toString('hex')}`.toLowerCase();
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${crypto.randomBytes(4).toString('hex')}`;
}

export async function token(claims: PrincipalClaims, opts: { expiresIn?: string; secret?: string } = {}): Promise<string> {
  const { sub, ...rest } = claims;
  return new SignJWT({ ...rest })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '1h')
    .sign(new TextEncoder().encode(opts.secret ?? TEST_SECRET));
}

/** The environment of a test gateway, with its blockstore under `scratch`. */
export function testEnvironment(scratch: string): Record<string, string> {
  return {
    LEDGER_RUN_DIR: runDir(),
    LEDGER_CONNECTION_PROFILE: profilePath(),
    GATEWAY_PORT: '0',
    // The suites talk to one in-process gateway as users of both orgs; deployments run one per org
    // (test/integration/org-gateways.test.ts checks that split).
    GATEWAY_ORG: 'both',
    GATEWAY_JWT_HS256_SECRET: TEST_SECRET,
    GATEWAY_WALLET_DIR: path.join(runDir(), 'gateway-test-wallet'),
    GATEWAY_BLOCKSTORE_DIR: path.join(scratch, 'blockstore'),
    GATEWAY_ARCHIVE_SPOOL_DIR: path.join(scratch, 'archive-spool'),
    LOG_LEVEL: process.env.GATEWAY_TEST_LOG_LEVEL ?? 'silent',
    FABRIC_CA_CLIENT:
      process.env.FABRIC_CA_CLIENT ??
      path.join(process.env.FABRIC_HOME ?? path.join(os.homedir(), '.cache', 'compliance-ledger', 'fabric'), 'bin', 'fabric-ca-client'),
  };
}

const scratchDirs: string[] = [];
/**
 * A fresh directory under the system's temporary one, removed when the test process exits: left
 * behind, an embedded blockstore alone was 139 MB a run.
 */
export function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (scratchDirs.push(dir) === 1) {
    process.once('exit', () => {
      for (const d of scratchDirs) fs.rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

export function testConfig(env: Record<string, string | undefined>): GatewayConfig {
  return parseConfig({ ...testEnvironment(scratchDir('gateway-test-')), ...env });
}

export async function startTestGateway(env: Record<string, string | undefined> = {}): Promise<RunningGateway> {
  const cfg = testConfig(env);
  return startGateway(cfg, createLogger(cfg.LOG_LEVEL));
}

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export class Client {
  constructor(
    readonly base: string,
    readonly auth: Record<string, string> = {},
  ) {}
  as(tokenValue: string): Client {
    return new Client(this.base, { authorization: `Bearer ${tokenValue}` });
  }
  /** The same user at another gateway. */
  at(base: string): Client {
    return new Client(base, this.auth);
  }
  /** A GET whose answer is bytes (a bundle), not text. */
  async download(p: string): Promise<{ status: number; headers: Headers; bytes: Uint8Array; text: string }> {
    const res = await fetch(this.base + p, { headers: { ...this.auth } });
    const bytes = new Uint8Array(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, bytes, text: res.ok ? `${bytes.length} bytes` : new TextDecoder().decode(bytes) };
  }
  async request<T = any>(
    method: string,
    p: string,
    opts: { json?: unknown; body?: RequestInit['body']; headers?: Record<string, string>; idem?: string | false } = {},
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...this.auth, ...(opts.headers ?? {}) };
    let body = opts.body;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    if (method === 'POST' && opts.idem !== false) headers['idempotency-key'] ??= opts.idem ?? crypto.randomUUID();
    const res = await fetch(this.base + p, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T, headers: res.headers, text };
  }
  get<T = any>(p: string, headers?: Record<string, string>) {
    return this.request<T>('GET', p, headers ? { headers } : {});
  }
  post<T = any>(p: string, json: unknown, opts: { idem?: string | false; headers?: Record<string, string> } = {}) {
    return this.request<T>('POST', p, { json, ...opts });
  }
}

/** A pseudonymous worker id as the enterprise would derive it (HMAC-SHA256 of an ID number). */
export function workerId(seed: string): string {
  return crypto.createHmac('sha256', 'test-enterprise-key').update(seed).digest('hex');
}

/** Height of the channel as the enterprise peer sees it (qscc GetChainInfo), as its cryptogen client. */
export async function chainHeight(): Promise<number> {
  const { connectToOrg, loadConnectionProfile } = await import('@compliance-ledger/fabric-client');
  const { common } = await import('@hyperledger/fabric-protos');
  const profile = loadConnectionProfile(profilePath());
  const conn = connectToOrg(profile, 'enterprise');
  try {
    const bytes = await conn.gateway.getNetwork(profile.channel).getContract('qscc').evaluateTransaction('GetChainInfo', profile.channel);
    return common.BlockchainInfo.deserializeBinary(bytes).getHeight();
  } finally {
    conn.close();
  }
}

/** Drops a database made by createDatabase (after the suite closed its connections). */
export async function dropDatabase(url: string | undefined): Promise<void> {
  const base = databaseUrl();
  if (!url || !base) return;
  const name = new URL(url).pathname.slice(1);
  if (!/^gw_[a-z0-9_]+$/.test(name)) return;
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}
