/**
 * Benchmark (not part of `npm test`): the per-transaction pieces the saturation profiles pointed
 * at, each before and after its change, in CPU microseconds per call (process.cpuUsage, user +
 * system), which a shared machine disturbs far less than wall time:
 *  - signing a proposal-sized message: fabric-gateway's JavaScript P-256 signer over the SHA-256
 *    digest, against Node's native one over the whole message (fabric-client's newMessageSigner);
 *  - authenticating a request's HS256 JWT: verified every time (a new Authenticator per call) against
 *    the gateway's remembered verification;
 *  - canonical JSON of a permit record: the encoder before (paths built for every member, kept
 *    here only for this comparison) against schema's canonicalJson.
 * Needs no network. Prints Markdown for bench/RESULTS.md.
 *
 *   BENCH_CALLS=2000 npm run bench:hot-path -w gateway
 */
import * as crypto from 'node:crypto';
import * as os from 'node:os';
import { newMessageSigner, newSigner } from '@compliance-ledger/fabric-client';
import { canonicalJson } from '@compliance-ledger/schema';
import { Authenticator } from '../src/auth.js';
import { parseConfig } from '../src/config.js';
import { TEST_SECRET, token } from '../test/support/env.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 2000);

/** CPU µs per call of `fn`, after a tenth as many calls to warm up. */
async function cpuPerCall(fn: () => unknown): Promise<number> {
  for (let i = 0; i < CALLS / 10; i++) await fn();
  const before = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) await fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / CALLS;
}

/** The encoder as it was before: the path of every member built as text whether needed or not. */
function pathEagerJson(value: unknown, at = '(value)'): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${at} is ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v, i) => pathEagerJson(v, `${at}[${i}]`)).join(',')}]`;
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const members = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${pathEagerJson(o[k], `${at}.${k}`)}`);
    return `{${members.join(',')}}`;
  }
  throw new TypeError(`canonical JSON: ${at} is of type ${typeof value}`);
}

/** A record shaped like an applied hot-work permit with its template (the chaincode writes and emits it). */
function permitLike(): Record<string, unknown> {
  const step = (i: number) => ({ action: `a${i}`, at: '2026-12-04T08:00:00Z', by: { mspId: 'EnterpriseMSP', role: 'applicant', id: `x509::/CN=u${i}` } });
  return {
    docType: 'permit',
    permitNo: 'HW-2026-000123',
    location: { siteId: 'site-1', zoneId: 'zone-1', coordinates: { x: 10, y: 20 }, fireExplosionZone: false, outdoor: true },
    workers: ['a'.repeat(64), 'b'.repeat(64)],
    hazards: [{ hazardId: 'h1', description: 'Sparks near combustible insulation' }],
    measures: Array.from({ length: 6 }, (_, i) => ({ measureId: `m${i}`, hazardId: 'h1', description: `Measure ${i} for the hazard` })),
    template: {
      version: 3,
      signOffs: Array.from({ length: 5 }, (_, i) => ({ stepId: `s${i}`, departments: ['safety', 'production'], atSite: i % 2 === 0 })),
      gasTest: { maxAgeMinutes: 30, limits: { lelPct: 0.5, o2Min: 19.5, o2Max: 21 } },
      maxValidityMinutes: 480,
    },
    history: Array.from({ length: 3 }, (_, i) => step(i)),
    status: 'applied',
  };
}

async function main(): Promise<void> {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  // About the size of an endorsed permit:Apply transaction envelope's payload.
  const message = crypto.randomBytes(6000);
  const jsSigner = newSigner(privateKey);
  const nativeSigner = newMessageSigner(privateKey);
  const jsSign = await cpuPerCall(() => jsSigner(crypto.createHash('sha256').update(message).digest()));
  const nativeSign = await cpuPerCall(() => nativeSigner(message));

  const cfg = parseConfig({ GATEWAY_JWT_HS256_SECRET: TEST_SECRET });
  const headers = { authorization: `Bearer ${await token({ sub: 'bench-user', org: 'enterprise', role: 'applicant' })}` };
  const fresh = await cpuPerCall(() => new Authenticator(cfg).authenticate(headers));
  const auth = new Authenticator(cfg);
  const remembered = await cpuPerCall(() => auth.authenticate(headers));

  const record = permitLike();
  if (pathEagerJson(record) !== canonicalJson(record)) throw new Error('the two encoders disagree');
  const eager = await cpuPerCall(() => pathEagerJson(record));
  const lazy = await cpuPerCall(() => canonicalJson(record));

  const row = (what: string, before: number, after: number) => `| ${what} | ${before.toFixed(1)} | ${after.toFixed(1)} | ${(before / after).toFixed(1)}× |`;
  console.log(`## Hot-path pieces, CPU µs per call (${CALLS} calls each, ${new Date().toISOString()}, load average ${os.loadavg()[0]!.toFixed(1)})`);
  console.log('');
  console.log('| piece | before | after | factor |');
  console.log('|---|---|---|---|');
  console.log(row('sign a 6,000-byte message (ECDSA P-256, low S, DER)', jsSign, nativeSign));
  console.log(row('authenticate a request (HS256 JWT)', fresh, remembered));
  console.log(row(`canonical JSON of a permit-like record (${canonicalJson(record).length} bytes)`, eager, lazy));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
