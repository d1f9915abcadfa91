/**
 * The fault suite: a steady load through the gateway while each process of the product is killed
 * with SIGKILL in turn and restarted the way scripts/network.sh, deploy-chaincode.sh and
 * services.sh start it. Afterwards the ledger, the PostgreSQL mirror and the clients' own records
 * must agree: every 2xx is a valid transaction on the ledger and mirrored once, no permit step is
 * lost or doubled, and every Idempotency-Key retry got the first answer.
 *
 * The load: permits through their steps with an evidence upload each, every write keyed, through
 * the enterprise's gateway, and regulator queries through the regulator's: one gateway per org, each
 * with its own wallet kept across restarts, as they are deployed. `npm test` runs the short version
 * (both gateways, the indexer, the enterprise's chaincode server, peer and CA, one orderer, PostgreSQL);
 * `npm run faults` (LEDGER_FAULTS=long) kills every process, both orgs' and all orderers, and
 * Mosquitto. Figures go to the file LEDGER_FAULTS_REPORT names, when set (bench/RESULTS.md quotes them).
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import pg from 'pg';
import { Client, createDatabase, type Reply, requireNetwork } from '../support/env.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { type RunningIndexer, startIndexer } from '../support/indexer.js';
import { applyBody, type Cast, iso, makeCast, registerCast, uniqueId } from '../support/scenario.js';
import { JPEG_HEAD } from '../support/tus.js';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const LONG = process.env.LEDGER_FAULTS === 'long';
/** Concurrent permit flows of the load. */
const FLOWS = LONG ? 3 : 2;
/** How long a killed process stays down while the load keeps trying. */
const DOWN_MS = 3_000;
/** A request retried with its key until this long after a kill: the longest recovery allowed. */
const RETRY_FOR_MS = 240_000;

/** Progress on stderr: a run takes minutes, and a stuck restart should show where. */
const note = (msg: string) => process.stderr.write(`[faults ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function runDir(): string {
  return path.dirname(process.env.LEDGER_CONNECTION_PROFILE ?? '');
}
async function script(name: string, ...args: string[]): Promise<void> {
  await run('bash', [path.join(repoRoot, 'scripts', name), ...args], { env: { ...process.env, LEDGER_RUN_DIR: runDir() }, maxBuffer: 16 << 20 });
}
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
  } catch {
    return false;
  }
}
async function kill9(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  for (const until = Date.now() + 30_000; alive(pid); ) {
    if (Date.now() > until) throw new Error(`pid ${pid} still alive 30 s after SIGKILL`);
    await sleep(50);
  }
}
const pidFile = (name: string) => Number(fs.readFileSync(path.join(runDir(), 'pids', `${name}.pid`), 'utf8').trim());

/** One answer the load got, as the client recorded it. */
interface Answer {
  permitNo: string;
  path: string;
  key: string;
  status: number;
  transactionId?: string;
  /** An evidence upload's content id. */
  cid?: string;
  /** Attempts with this key until the answer (more than one: a fault was in the way). */
  attempts: number;
  /** The answer of one more request with the same key after the first answer: must equal it. */
  replay?: { status: number; transactionId?: string };
}

interface Kill {
  process: string;
  /** From SIGKILL until the restart command returned (the process healthy). */
  restartMs: number;
  /** From SIGKILL until the load's next 2xx write (for the regulator's gateway: its next regulator read answered 200). */
  recoverMs: number;
}

describe('faults: SIGKILL of each process under load, then ledger, mirror and clients agree', function () {
  this.timeout(LONG ? 3_600_000 : 900_000);
  /** The enterprise's gateway (every write) and the regulator's (the regulator's reads). */
  let gw: GatewayProcess;
  let regulatorGw: GatewayProcess;
  let indexer: RunningIndexer;
  let dbUrl: string;
  let url = '';
  let regulatorUrl = '';
  const answers: Answer[] = [];
  /** Each permit's cast: its applicant reads it back. */
  const owner = new Map<string, Cast>();
  const kills: Kill[] = [];
  const reads = { ok: 0, failed: 0 };
  /** Each 2xx write: when its answering attempt was sent, and when the answer came. */
  const writes: { sentAt: number; at: number }[] = [];
  /** Each regulator read answered 200, timed the same way. */
  const readsAnswered: { sentAt: number; at: number }[] = [];
  let stopLoad = false;
  /** The evidence blockstore outlives each gateway process, as a deployment's does. */
  const blockstore = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-blockstore-'));
  /** So are each gateway's wallet (its users' enrolments: a kill mid-enrolment must leave it usable) and its state. */
  const wallets = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-wallets-'));
  const gatewayEnv = (org: 'enterprise' | 'regulator') => ({
    GATEWAY_ORG: org,
    GATEWAY_WALLET_DIR: path.join(wallets, org),
    DATABASE_URL: dbUrl,
    GATEWAY_OCR_ENABLED: '0',
    GATEWAY_RATE_LIMIT_PER_WINDOW: '100000',
    GATEWAY_BLOCKSTORE_DIR: blockstore,
  });

  before(async function () {
    requireNetwork(this);
    dbUrl = await createDatabase('gw_faults');
    indexer = startIndexer(dbUrl);
    [gw, regulatorGw] = await Promise.all([startGatewayProcess(gatewayEnv('enterprise')), startGatewayProcess(gatewayEnv('regulator'))]);
    url = gw.url;
    regulatorUrl = regulatorGw.url;
  });
  after(async () => {
    stopLoad = true;
    await gw?.stop();
    await regulatorGw?.stop();
    await indexer?.stop();
    fs.rmSync(blockstore, { recursive: true, force: true });
    fs.rmSync(wallets, { recursive: true, force: true });
  });

  /** POST with one Idempotency-Key, retried with that key through faults; then once more to see the first answer replayed. */
  /** `body`: JSON, or a multipart form (an evidence upload), sent again as it is on each retry. */
  async function keyed(client: Client, permitNo: string, p: string, body: unknown, expected: number): Promise<Answer> {
    const key = `faults-${crypto.randomUUID()}`;
    let attempts = 0;
    const send = async (): Promise<Reply | undefined> => {
      const until = Date.now() + RETRY_FOR_MS;
      for (;;) {
        attempts++;
        const sentAt = Date.now();
        const at = client.at(url);
        const r = await (body instanceof FormData ? at.request('POST', p, { body, idem: key }) : at.post(p, body, { idem: key })).catch(() => undefined);
        if (r && r.status < 500 && r.status !== 429 && !(r.status === 409 && r.body?.error?.code === 'IDEMPOTENCY_IN_PROGRESS')) {
          if (r.status < 300) writes.push({ sentAt, at: Date.now() });
          return r;
        }
        if (Date.now() > until) return r;
        await sleep(500);
      }
    };
    let r: Reply | undefined;
    for (const until = Date.now() + RETRY_FOR_MS; !r || r.status >= 500; ) {
      r = await send();
      if (Date.now() > until) break;
    }
    const a: Answer = { permitNo, path: p, key, status: r?.status ?? 0, attempts, transactionId: r?.body?.transactionId, cid: r?.body?.record?.cid };
    if (a.status !== expected) note(`${p}: ${a.status} ${r?.text ?? 'no answer'}`);
    answers.push(a);
    if (a.status !== expected) throw new Error(`${p}: ${a.status} ${r?.text ?? 'no answer'}`);
    const again = await send();
    a.replay = { status: again?.status ?? 0, transactionId: again?.body?.transactionId };
    return a;
  }

  /** One permit's steps up to its briefing, each a keyed write. */
  async function flow(cast: Cast): Promise<void> {
    const c = cast.clients;
    const permitNo = uniqueId('FLT');
    owner.set(permitNo, cast);
    const base = `/v1/permits/${permitNo}`;
    await keyed(c.applicant, permitNo, '/v1/permits', applyBody(cast, permitNo), 201);
    const m = (measureId: string) => ({ measureId, confirmedBy: cast.personInCharge });
    await keyed(c.pic, permitNo, `${base}/risk-assessment`, { confirmations: [m('m1'), m('m2')] }, 200);
    const gas = { testId: `gt-${permitNo}`, sampleTakenAt: iso(Date.now() - 60_000), lelClass: 'lel_ge_4', flammableVolPct: 0.1 };
    await keyed(c.analyst, permitNo, `${base}/gas-tests`, gas, 201);
    const photo = Buffer.concat([JPEG_HEAD, Buffer.from(`gas meter of ${permitNo}`), crypto.randomBytes(2048)]);
    const form = new FormData();
    form.set('step', 'gas_test');
    form.set('capturedAt', iso(Date.now() - 30_000));
    form.set('file', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'meter.jpg');
    await keyed(c.analyst, permitNo, `${base}/evidence`, form, 201);
    await keyed(c.approver, permitNo, `${base}/sign-offs`, { stepId: 'approval', atSite: true, opinion: 'OK at site' }, 201);
    await keyed(c.approver, permitNo, `${base}/issue`, {}, 200);
    await keyed(c.pic, permitNo, `${base}/brief`, { briefedWorkerIds: [cast.welder, cast.helper] }, 200);
  }

  async function load(cast: Cast): Promise<void> {
    while (!stopLoad) {
      await flow(cast);
      const sentAt = Date.now();
      const r = await cast.clients.regulator
        .at(regulatorUrl)
        .get('/v1/regulator/kpis')
        .catch(() => undefined);
      if (r?.status === 200) {
        reads.ok++;
        readsAnswered.push({ sentAt, at: Date.now() });
      } else reads.failed++;
    }
  }

  /**
   * Kills a process, leaves it down for a while under load, restarts it, and times the recovery:
   * the first answer of `served` (the writes, or the regulator's reads) sent after the kill.
   */
  async function fault(name: string, pid: () => number, restart: () => Promise<void>, served = writes): Promise<void> {
    note(`SIGKILL ${name} (${answers.length} answers so far)`);
    await kill9(pid());
    // Counted from its death, so a request answered by the process in its last moments does not count as recovery.
    const t0 = Date.now();
    await sleep(DOWN_MS);
    await restart();
    const restartMs = Date.now() - t0;
    note(`${name} restarted after ${restartMs} ms`);
    // Recovered: a write sent after the kill answered 2xx (one in flight across the kill may have been answered before).
    const recovered = () => served.find((w) => w.sentAt > t0);
    while (!recovered() && Date.now() - t0 < RETRY_FOR_MS) await sleep(100);
    const recoverMs = (recovered()?.at ?? Number.NaN) - t0;
    kills.push({ process: name, restartMs, recoverMs });
    note(`${name}: first 2xx of a write sent after the kill ${recoverMs} ms after it`);
  }

  const pgData = async () =>
    (
      await run('bash', ['-c', `source scripts/lib.sh; source scripts/pg-cluster.sh; pg_cluster_data tests`], {
        cwd: repoRoot,
        env: { ...process.env, LEDGER_RUN_DIR: runDir() },
      })
    ).stdout.trim();

  it('kills each process in turn under load; every 2xx is on the ledger and in the mirror once, no step lost or doubled, replays equal', async () => {
    const casts: Cast[] = [];
    for (let i = 0; i < FLOWS; i++) {
      const cast = await makeCast(new Client(url));
      await registerCast(cast);
      casts.push(cast);
    }
    note(`${FLOWS} casts registered; load starts`);
    const flows = casts.map((c) => load(c));
    const network = (p: string) =>
      fault(
        p,
        () => pidFile(p),
        () => script('network.sh', 'up'),
      );
    const postmaster = Number(fs.readFileSync(path.join(await pgData(), 'postmaster.pid'), 'utf8').split('\n')[0]);
    const plan: [string, () => Promise<void>][] = [
      [
        'gateway-enterprise',
        () =>
          fault(
            'gateway-enterprise',
            () => gw.pid,
            async () => {
              await gw.stop();
              gw = await startGatewayProcess(gatewayEnv('enterprise'));
              url = gw.url;
            },
          ),
      ],
      [
        'gateway-regulator',
        () =>
          fault(
            'gateway-regulator',
            () => regulatorGw.pid,
            async () => {
              await regulatorGw.stop();
              regulatorGw = await startGatewayProcess(gatewayEnv('regulator'));
              regulatorUrl = regulatorGw.url;
            },
            readsAnswered,
          ),
      ],
      [
        'indexer',
        () =>
          fault(
            'indexer',
            () => indexer.process.pid!,
            async () => {
              indexer = startIndexer(dbUrl);
            },
          ),
      ],
      [
        'chaincode-enterprise',
        () =>
          fault(
            'chaincode-enterprise',
            () => pidFile('chaincode-enterprise'),
            () => script('deploy-chaincode.sh'),
          ),
      ],
      ['peer-enterprise', () => network('peer-enterprise')],
      ['orderer0', () => network('orderer0')],
      ['ca-enterprise', () => network('ca-enterprise')],
      [
        'postgresql',
        () =>
          fault(
            'postgresql',
            () => postmaster,
            () => script('services.sh', 'start', 'postgres'),
          ),
      ],
    ];
    if (LONG) {
      plan.push(
        [
          'chaincode-regulator',
          () =>
            fault(
              'chaincode-regulator',
              () => pidFile('chaincode-regulator'),
              () => script('deploy-chaincode.sh'),
            ),
        ],
        ['peer-regulator', () => network('peer-regulator')],
        ['orderer1', () => network('orderer1')],
        ['orderer2', () => network('orderer2')],
        ['ca-regulator', () => network('ca-regulator')],
        [
          'mosquitto',
          () =>
            fault(
              'mosquitto',
              () => pidFile('mosquitto'),
              () => script('services.sh', 'start', 'mosquitto'),
            ),
        ],
      );
    }
    const t0 = Date.now();
    for (const [, step] of plan) {
      // Some load between kills, so each fault meets requests in flight.
      const before = answers.length;
      while (answers.length < before + 3) await sleep(200);
      await step();
    }
    stopLoad = true;
    await Promise.all(flows);
    const elapsedMs = Date.now() - t0;

    // The mirror catches up with the ledger (the indexer polls the channel).
    const height = await chainHeight();
    await indexer.waitForBlock(height - 1, 120_000);
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    try {
      const written = answers.filter((a) => a.status >= 200 && a.status < 300);
      // Every Idempotency-Key retry got the first answer.
      for (const a of written) expect(a.replay, `${a.path} ${a.key}`).to.deep.equal({ status: a.status, transactionId: a.transactionId });
      // Every 2xx is a valid transaction on the ledger, mirrored once.
      const ids = written.map((a) => a.transactionId!);
      expect(new Set(ids).size).to.equal(ids.length);
      for (const id of ids) expect(await validationCode(id), id).to.equal(0);
      // A copy handed to the orderer again after a slow or lost commit (fabric-client committedBlock)
      // is on the ledger as DUPLICATE_TXID (2) and wrote nothing: the transaction is its valid row.
      const mirrored = await db.query(
        'SELECT tx_id, count(*)::int AS n, bool_and(valid) AS valid FROM transactions WHERE tx_id = ANY($1) AND validation_code <> 2 GROUP BY tx_id',
        [ids],
      );
      expect(mirrored.rows.length).to.equal(ids.length);
      expect(mirrored.rows.every((r) => r.n === 1 && r.valid)).to.equal(true);
      // No permit step lost or doubled: the ledger's permit, the mirror's row and steps, the client's answers.
      const permits = [...new Set(written.map((a) => a.permitNo))];
      for (const permitNo of permits) {
        const mine = written.filter((a) => a.permitNo === permitNo);
        const onLedger = await owner.get(permitNo)!.clients.applicant.at(url).get(`/v1/permits/${permitNo}`);
        expect(onLedger.status, permitNo).to.equal(200);
        const steps = (onLedger.body.history ?? []) as { action: string; txId: string }[];
        const actions = steps.map((s) => s.action);
        expect(actions.length, `${permitNo} has no step on the ledger`).to.be.greaterThan(0);
        expect(new Set(actions).size, `${permitNo} steps ${actions}`).to.equal(actions.length);
        const row = await db.query('SELECT status FROM permits WHERE permit_no = $1', [permitNo]);
        expect(row.rows[0]?.status, permitNo).to.equal(onLedger.body.status);
        const mirroredSteps = await db.query('SELECT tx_id FROM permit_steps WHERE permit_no = $1 ORDER BY step_index', [permitNo]);
        expect(mirroredSteps.rows.map((r) => r.tx_id)).to.deep.equal(steps.map((s) => s.txId));
        // Each step the client was told about is the ledger's step of that transaction.
        const stepTx = new Set(steps.map((s) => s.txId));
        // Its evidence: one record on the ledger and one in the mirror, with the content id the client was told.
        const cids = mine.filter((a) => a.path.endsWith('/evidence')).map((a) => a.cid);
        const ledgerEvidence = await owner.get(permitNo)!.clients.applicant.at(url).get(`/v1/permits/${permitNo}/evidence`);
        expect(ledgerEvidence.status).to.equal(200);
        const listed = (Array.isArray(ledgerEvidence.body) ? ledgerEvidence.body : ledgerEvidence.body.items) as { cid: string }[];
        expect(listed.map((e) => e.cid).sort(), `${permitNo} evidence on the ledger`).to.deep.equal([...cids].sort());
        const mirroredEvidence = await db.query('SELECT cid FROM evidence WHERE permit_no = $1', [permitNo]);
        expect(mirroredEvidence.rows.map((r) => r.cid).sort(), `${permitNo} evidence in the mirror`).to.deep.equal([...cids].sort());
        for (const a of mine.filter((x) => !/gas-tests|sign-offs|evidence/.test(x.path)))
          expect(stepTx.has(a.transactionId!), `${a.path} ${a.transactionId}`).to.equal(true);
      }
      const retried = answers.filter((a) => a.attempts > 1).length;
      const report = [
        `fault suite (${LONG ? 'long' : 'short'}), ${new Date().toISOString()}: ${kills.length} kills in ${Math.round(elapsedMs / 1000)} s, ` +
          `${answers.length} keyed writes (${written.length} 2xx, ${retried} needed a retry with the same key, ${answers.length - written.length} other), ` +
          `${answers.length} replays, ${reads.ok} regulator reads answered 200 (${reads.failed} failed during faults), ${permits.length} permits`,
        '| process | restart (kill → healthy), s | recover (kill → 2xx of a write sent after it; regulator gateway: of a read), s |',
        '|---|---:|---:|',
        ...kills.map((k) => `| ${k.process} | ${(k.restartMs / 1000).toFixed(1)} | ${(k.recoverMs / 1000).toFixed(1)} |`),
      ].join('\n');
      console.log(report);
      if (process.env.LEDGER_FAULTS_REPORT) fs.appendFileSync(process.env.LEDGER_FAULTS_REPORT, `${report}\n\n`);
      expect(kills.length).to.equal(plan.length);
      expect(kills.every((k) => k.recoverMs > 0)).to.equal(true);
    } finally {
      await db.end();
    }
  });
});

async function withQscc<T>(f: (evaluate: (fn: string, ...args: string[]) => Promise<Uint8Array>) => Promise<T>): Promise<T> {
  const { connectToOrg, loadConnectionProfile } = await import('@compliance-ledger/fabric-client');
  const profile = loadConnectionProfile(process.env.LEDGER_CONNECTION_PROFILE!);
  const conn = connectToOrg(profile, 'enterprise');
  try {
    const qscc = conn.gateway.getNetwork(profile.channel).getContract('qscc');
    return await f((fn, ...args) => qscc.evaluateTransaction(fn, profile.channel, ...args));
  } finally {
    conn.close();
  }
}
async function chainHeight(): Promise<number> {
  const { common } = await import('@hyperledger/fabric-protos');
  return withQscc(async (ev) => common.BlockchainInfo.deserializeBinary(await ev('GetChainInfo')).getHeight());
}
async function validationCode(txId: string): Promise<number> {
  const { peer } = await import('@hyperledger/fabric-protos');
  return withQscc(async (ev) => peer.ProcessedTransaction.deserializeBinary(await ev('GetTransactionByID', txId)).getValidationcode());
}
