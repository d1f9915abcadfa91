/**
 * schemathesis (from the virtualenv bootstrap builds: LEDGER_FUZZ_PYTHON) fuzzes the gateway's
 * served /openapi.json as the regulator, the applicant and the safety officer at once, each with
 * their own token and gateway, on the real network: no 5xx, no response outside the document's
 * schemas, and the channel grows by at most the writes the gateways answered 2xx, so no refused
 * input wrote. Each role fuzzes the operations its `x-roles` let it call: the gateway refuses any
 * other with 403 before it reads the input, the same answer for every input, which
 * access-matrix.test.ts checks for every role on every route; fuzzing it too only doubled this
 * suite's time. npm test runs a bounded fuzz (LEDGER_FUZZ_MAX_EXAMPLES, default 2 per operation);
 * `npm run fuzz` a longer one.
 * The fuzzer may publish valid but arbitrary templates and policies (the regulator may); afterwards the
 * rules in force before it are published again, so later suites and later runs on this ledger keep them.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { canonicalJson, DEFAULT_TEMPLATES } from '@compliance-ledger/schema';
import { expect } from 'chai';
import type { RunningGateway } from '../../src/server.js';
import { Client, chainHeight, createDatabase, dropDatabase, requireNetwork, startTestGateway, token, uniqueId } from '../support/env.js';
import { type RunningIndexer, startIndexer } from '../support/indexer.js';

const run = promisify(execFile);
const MAX_EXAMPLES = process.env.LEDGER_FUZZ_MAX_EXAMPLES ?? '2';
const ROLES = [
  { org: 'regulator', role: 'regulator' },
  { org: 'enterprise', role: 'applicant' },
  { org: 'enterprise', role: 'safety_officer' },
] as const;

type Json = Record<string, unknown>;
/** A template or policy as its publish input: without what the ledger stamps on it. */
const unpublished = ({ operationType: _o, level: _l, version: _v, publishedBy: _b, publishedAt: _a, ...rest }: Json) => rest;
const RULE_PATHS = ['/v1/policy', ...DEFAULT_TEMPLATES.map((t) => `/v1/templates/${t.operationType}/${t.level}`)];

/** The templates and the policy in force, by path. */
async function rulesInForce(regulator: Client): Promise<Map<string, Json>> {
  const rules = new Map<string, Json>();
  for (const p of RULE_PATHS) {
    const r = await regulator.get<Json>(p);
    if (r.status !== 200) throw new Error(`GET ${p}: ${r.status} ${JSON.stringify(r.body)}`);
    rules.set(p, unpublished(r.body));
  }
  return rules;
}

/** Publishes again each rule whose content changed since `before`; returns the paths it restored. */
async function restoreRules(regulator: Client, before: Map<string, Json>): Promise<string[]> {
  const now = await rulesInForce(regulator);
  const restored: string[] = [];
  for (const [p, rule] of before) {
    if (canonicalJson(now.get(p)) === canonicalJson(rule)) continue;
    const r = await regulator.post(p, rule);
    if (r.status !== 201) throw new Error(`restoring ${p}: ${r.status} ${JSON.stringify(r.body)}`);
    restored.push(p);
  }
  return restored;
}

/** The served document's operations that `role` of `org` may not call (by `x-roles`; none means open to every caller). */
function refusedOperations(doc: Json, org: string, role: string): string[] {
  const refused: string[] = [];
  for (const ops of Object.values(doc.paths as Record<string, Record<string, Json>>)) {
    for (const op of Object.values(ops)) {
      const roles = op['x-roles'] as Record<string, string[] | 'any'> | undefined;
      const mine = roles?.[org];
      if (roles && mine !== 'any' && !mine?.includes(role)) refused.push(String(op.operationId));
    }
  }
  return refused;
}

/** The fuzzer's interpreter, or why there is none (the test fails with it: the fuzz is part of the suite). */
function fuzzPython(): string {
  const python = process.env.LEDGER_FUZZ_PYTHON;
  if (python) return python;
  throw new Error(
    `no schemathesis: ${process.env.LEDGER_FUZZ_UNAVAILABLE ?? 'LEDGER_FUZZ_PYTHON is not set'}; ` +
      "run through 'npm test' or 'npm run fuzz', which build its virtualenv (scripts/bootstrap.sh)",
  );
}

/** What one role's fuzzer did: its exit code and output, and what its gateway answered meanwhile. */
interface Outcome {
  code: number;
  out: string;
  sent: number;
  writes2xx: number;
  server5xx: number;
  operations: string;
}

describe('gateway: schemathesis fuzz of the served OpenAPI document as three roles at once (real network)', function () {
  this.timeout(1_800_000);
  /** One gateway per role, so each role's requests, writes and 5xx are counted apart. */
  const gateways = new Map<string, RunningGateway>();
  let indexer: RunningIndexer;
  let db: string | undefined;
  let python: string;
  let regulator: Client;
  let rulesBefore: Map<string, Json> | undefined;
  /** The served OpenAPI document, and its number of operations. */
  let doc: Json;
  let operationCount: number;
  /** The channel's height before the fuzzers started, and each role's fuzz, all started at once. */
  let heightBefore: number;
  let fuzzing: Map<string, Promise<Outcome>>;
  const reports = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-fuzz-'));

  before(async function () {
    requireNetwork(this);
    python = fuzzPython();
    db = await createDatabase('gw_fuzz');
    // The regulator's queries read the indexer's tables: without them they answer 503, as documented.
    indexer = startIndexer(db);
    await indexer.waitForBlock(0);
    // The fuzzer is one user sending as fast as the gateway answers: neither limit is under test here.
    for (const { role } of ROLES) {
      gateways.set(role, await startTestGateway({ DATABASE_URL: db, GATEWAY_RATE_LIMIT_PER_WINDOW: '1000000', GATEWAY_AUTH_FAILURES_PER_WINDOW: '1000000' }));
    }
    regulator = new Client(gateways.get('regulator')!.url).as(await token({ sub: uniqueId('fuzz-rules'), org: 'regulator', role: 'regulator' }));
    rulesBefore = await rulesInForce(regulator);
    doc = (await regulator.get<Json>('/openapi.json')).body;
    operationCount = Object.values(doc.paths as Record<string, Json>).reduce((n, ops) => n + Object.keys(ops).length, 0);
    // The three fuzzers at once: each is one Python process waiting on its gateway's answers, and
    // one after the other they kept one of the two cores idle (181 s of wall time for 186 s of CPU).
    heightBefore = await chainHeight();
    fuzzing = new Map(ROLES.map((r) => [r.role, fuzz(r)]));
    // Each test awaits its own; none is left running unawaited when a test before it fails.
    for (const f of fuzzing.values()) f.catch(() => undefined);
  });
  after(async () => {
    if (fuzzing) await Promise.allSettled(fuzzing.values());
    if (rulesBefore) {
      const restored = await restoreRules(regulator, rulesBefore);
      if (restored.length > 0) console.log(`      rules the fuzzer changed, published again as they were: ${restored.join(', ')}`);
    }
    for (const gw of gateways.values()) await gw.close();
    await indexer?.stop();
    await dropDatabase(db);
    fs.rmSync(reports, { recursive: true, force: true });
  });

  /** A gateway's own count of the requests it answered, by method and status class. */
  async function answered(gw: RunningGateway): Promise<{ total: number; writes2xx: number; server5xx: number }> {
    const { values } = await gw.services.metrics.requests.get();
    const sum = (f: (l: Record<string, string | number>) => boolean) => values.filter((v) => f(v.labels)).reduce((n, v) => n + v.value, 0);
    return {
      total: sum(() => true),
      writes2xx: sum((l) => l.method !== 'GET' && l.method !== 'HEAD' && String(l.status).startsWith('2')),
      server5xx: sum((l) => String(l.status).startsWith('5')),
    };
  }

  /** Runs schemathesis as `role` of `org` against that role's own gateway. */
  async function fuzz({ org, role }: (typeof ROLES)[number]): Promise<Outcome> {
    const gw = gateways.get(role)!;
    const bearer = await token({ sub: uniqueId(`fuzz-${role}`.replace(/_/g, '-')), org, role });
    const before = await answered(gw);
    const junit = path.join(reports, `${role}.xml`);
    const refused = refusedOperations(doc, org, role);
    expect(refused.length, 'operations this role may not call').to.be.greaterThan(0);
    const args = [
      ...['-m', 'schemathesis.cli', 'run', `${gw.url}/openapi.json`, '--header', `Authorization: Bearer ${bearer}`],
      // The tus PATCH body (application/offset+octet-stream) is one schemathesis has no serializer for.
      ...['--exclude-method', 'PATCH'],
      // Worker codes answer 501 NOT_CONFIGURED without a credential office key, and 503 with one not registered on the ledger.
      ...['--exclude-path-regex', String.raw`^/v1/workers/\{workerId\}/code(\.png|\.svg)?$`],
      // The live alarm stream never ends: each request would hold the fuzzer for its whole request
      // timeout. Its events are checked against the document in screen-routes.test.ts.
      ...['--exclude-path', '/v1/alarm-stream'],
      ...refused.flatMap((id) => ['--exclude-operation-id', id]),
      ...['--checks', 'not_a_server_error,response_schema_conformance', '--max-examples', MAX_EXAMPLES, '--seed', '17'],
      // A first bundle reads every block of the channel (then cached): on a long test ledger and a
      // busy machine that is more than the fuzzer's default 10 s.
      ...['--request-timeout', '120'],
      ...['--workers', '1', '--no-color', '--report', 'junit', '--report-junit-path', junit, '--generation-database', 'none'],
    ];
    const outcome = await run(python, args, { cwd: reports, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, SCHEMATHESIS_HOOKS: '' } }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
    );
    const after = await answered(gw);
    return {
      ...outcome,
      sent: after.total - before.total,
      writes2xx: after.writes2xx - before.writes2xx,
      server5xx: after.server5xx - before.server5xx,
      operations: `the ${operationCount - refused.length} of ${operationCount} operations it may call`,
    };
  }

  for (const { org, role } of ROLES) {
    it(`as ${org}/${role}: no 5xx, every response as documented`, async () => {
      const o = await fuzzing.get(role)!;
      console.log(`      fuzz as ${org}/${role}: ${o.sent} requests to ${o.operations}, ${o.writes2xx} writes answered 2xx`);
      // The failures come first in schemathesis's output, the summary last.
      expect(o.code, `${o.out.slice(0, 6000)}\n…\n${o.out.slice(-2500)}`).to.equal(0);
      expect(o.server5xx, 'answers with 5xx').to.equal(0);
      expect(o.sent, 'requests the fuzzer sent').to.be.greaterThan(100);
    });
  }

  it('nothing written by refused input: the channel grew by at most the writes the three gateways answered 2xx', async () => {
    const outcomes = await Promise.all(fuzzing.values());
    const grown = (await chainHeight()) - heightBefore;
    const writes = outcomes.reduce((n, o) => n + o.writes2xx, 0);
    console.log(`      channel +${grown} blocks for ${writes} writes answered 2xx`);
    expect(grown, 'blocks beyond the writes answered 2xx').to.be.at.most(writes);
  });
});
