/**
 * What the gateway benchmarks share: percentiles, a closed-loop pool of concurrent callers, and a
 * key-holding user enrolled with the org's CA for client-signed submissions.
 */
import { execFileSync, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, token, uniqueId } from '../test/support/env.js';
import { GATEWAY_MEMORY_ENV, GATEWAY_NODE_OPTIONS } from '../test/support/gateway-process.js';

/** A test gateway forked into a process of its own (gateway-process.ts), so that its CPU is measured apart from the bench client's. */
export interface ForkedGateway {
  url: string;
  walletDir: string;
  caClient: string;
  pid: number;
  close(): Promise<void>;
}

/**
 * Forks gateway-process.ts with `env` over the test configuration, with the node flags and memory
 * settings the gateway ships with (GATEWAY_NODE_OPTIONS); BENCH_GATEWAY_NODE_OPTIONS adds flags after
 * them (a later value of the same flag wins).
 */
export function forkGateway(env: Record<string, string>): Promise<ForkedGateway> {
  const extra = (process.env.BENCH_GATEWAY_NODE_OPTIONS ?? '').split(' ').filter(Boolean);
  const child = fork(new URL('./gateway-process.ts', import.meta.url).pathname, [JSON.stringify(env)], {
    execArgv: ['--import', 'tsx', ...GATEWAY_NODE_OPTIONS, ...extra],
    env: { ...process.env, ...GATEWAY_MEMORY_ENV },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the gateway process exited (${code}) before it listened`)));
    child.once('message', (m: { url: string; walletDir: string; caClient: string }) => {
      child.removeAllListeners('exit');
      const close = () =>
        new Promise<void>((done) => {
          child.once('exit', () => done());
          child.send('close');
        });
      resolve({ ...m, pid: child.pid!, close });
    });
  });
}

export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

/** A request over `agent` (kept-alive connections, as a dashboard or an enterprise's integration keeps them), the answer read whole as text. */
export function httpRequest(
  agent: http.Agent,
  url: string,
  options: { method?: string; headers: Record<string, string>; body?: Buffer },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', agent, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * A POST of a JSON body with a fresh Idempotency-Key, as an enterprise's integration sends it. The
 * tests' client (fetch, undici) cost this process about 0.6 ms of CPU a request under load, which on
 * a machine the bench shares with the network was charged to the REST API's side of the comparison.
 */
export function httpPostJson(agent: http.Agent, url: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; text: string }> {
  const payload = Buffer.from(JSON.stringify(body));
  return httpRequest(agent, url, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', 'content-length': String(payload.length), 'idempotency-key': randomUUID() },
    body: payload,
  });
}

export interface Timed {
  /** Calls that completed without throwing. */
  done: number;
  failed: number;
  seconds: number;
  /** Latency of each completed call, ms. */
  lat: number[];
  firstError?: unknown;
}

/**
 * `concurrency` callers, each starting its next call as soon as its last one answered (a closed
 * loop, as a user population behaves), until `n` calls were started or `untilMs` passed.
 */
export async function closedLoop(opts: { concurrency: number; n?: number; untilMs?: number }, fn: (i: number) => Promise<void>): Promise<Timed> {
  const lat: number[] = [];
  const r: Timed = { done: 0, failed: 0, seconds: 0, lat };
  let next = 0;
  const n = opts.n ?? Number.POSITIVE_INFINITY;
  const t0 = performance.now();
  const stop = opts.untilMs === undefined ? Number.POSITIVE_INFINITY : t0 + opts.untilMs;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < n && performance.now() < stop) {
        const i = next++;
        const t = performance.now();
        try {
          await fn(i);
          lat.push(performance.now() - t);
          r.done++;
        } catch (err) {
          r.failed++;
          r.firstError ??= err;
        }
      }
    }),
  );
  r.seconds = (performance.now() - t0) / 1000;
  return r;
}

/**
 * Calls started at a fixed rate whatever the answers (an open loop, as Caliper's fixed-rate
 * controller and as independent enterprises' integrations behave), for `seconds`; `maxInFlight`
 * bounds a system that falls behind. The latency is then the system's own queueing at that load,
 * not the callers' (in a closed loop at N callers it is N / throughput by construction). It is
 * counted from when each call was due, not from when this process got round to it: a bench
 * process starved of CPU would otherwise leave its own delay out (coordinated omission).
 */
export async function openLoop(
  opts: { perSecond: number; seconds: number; maxInFlight: number },
  fn: (i: number) => Promise<void>,
): Promise<Timed & { skipped: number }> {
  const lat: number[] = [];
  const r: Timed & { skipped: number } = { done: 0, failed: 0, seconds: 0, lat, skipped: 0 };
  const pending = new Set<Promise<void>>();
  const t0 = performance.now();
  const total = Math.round(opts.perSecond * opts.seconds);
  for (let i = 0; i < total; i++) {
    // Each call at its own time on the schedule, so a late timer does not shift the ones after it.
    const due = t0 + (i * 1000) / opts.perSecond;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (pending.size >= opts.maxInFlight) {
      r.skipped++;
      continue;
    }
    const call = fn(i).then(
      () => {
        lat.push(performance.now() - due);
        r.done++;
      },
      (err: unknown) => {
        r.failed++;
        r.firstError ??= err;
      },
    );
    pending.add(call);
    void call.finally(() => pending.delete(call));
  }
  await Promise.all(pending);
  r.seconds = (performance.now() - t0) / 1000;
  return r;
}

export interface KeyHolder {
  sub: string;
  token: string;
  certificatePem: string;
  privateKeyPem: Buffer;
}

/**
 * An applicant who holds their own key: onboarded by the org admin through the gateway, then
 * enrolled with the org's CA by the user (fabric-ca-client), as a client-signing user would be.
 */
export async function enrolKeyHolder(
  gatewayUrl: string,
  ca: { url: string; caName: string; tlsCaFile: string },
  caClient: string,
  org: 'enterprise' | 'regulator' = 'enterprise',
): Promise<KeyHolder> {
  const admin = new Client(gatewayUrl).as(await token({ sub: uniqueId('bench-admin'), org, role: 'admin' }));
  const sub = uniqueId('bench-keyholder').toLowerCase();
  const onboard = await admin.post('/v1/identities', { sub, role: 'applicant' });
  if (onboard.status !== 201) throw new Error(`onboard: ${onboard.status} ${onboard.text}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-key-'));
  const u = new URL(ca.url);
  execFileSync(caClient, ['enroll', '--caname', ca.caName, '--tls.certfiles', ca.tlsCaFile, '-H', dir], {
    stdio: 'pipe',
    env: { ...process.env, FABRIC_CA_CLIENT_HOME: '', FABRIC_CA_CLIENT_URL: `${u.protocol}//${sub}:${onboard.body.enrollmentSecret}@${u.host}` },
  });
  const keystore = path.join(dir, 'msp', 'keystore');
  const keyFile = fs.readdirSync(keystore).find((f) => f.endsWith('_sk'));
  if (keyFile === undefined) throw new Error(`no private key in ${keystore}`);
  return {
    sub,
    token: await token({ sub, org, role: 'applicant' }),
    certificatePem: fs.readFileSync(path.join(dir, 'msp', 'signcerts', 'cert.pem'), 'utf8'),
    privateKeyPem: fs.readFileSync(path.join(keystore, keyFile)),
  };
}
