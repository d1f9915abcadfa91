/**
 * The fault suite: a steady load through the gateway and MQTT while each process of the product is
 * killed with SIGKILL in turn and restarted the way scripts/network.sh, deploy-chaincode.sh and
 * services.sh start it (ingest: its main again, on the same outbox folder and MQTT session).
 * Afterwards the ledger, the PostgreSQL mirror and the clients' own records must agree: every 2xx
 * is a valid transaction on the ledger and mirrored once, no permit step is lost or doubled, every
 * Idempotency-Key retry got the first answer; and no alarm is lost or doubled: every gas reading
 * above the criterion the publisher sent has its alarm on the ledger exactly once and in the
 * mirror once, ingest's outbox has nothing pending or rejected, and each alarm it committed is the
 * ledger's recording of that alarm.
 *
 * The load: permits through their steps with an evidence upload each, every write keyed, through
 * the enterprise's gateway, regulator queries through the regulator's (one gateway per org, each
 * with its own wallet kept across restarts, as they are deployed), and signed gas readings of three
 * areas over MQTT (QoS 1) into ingest, one in three ticks above the permit's gas criterion. `npm test`
 * runs the short version (a representative process of each kind: both gateways, the indexer, ingest,
 * the enterprise's chaincode server, peer and CA, one orderer, PostgreSQL); `npm run faults`
 * (LEDGER_FAULTS=long) kills every process, both orgs' and all orderers, and Mosquitto. Needs
 * TEST_MQTT_URL (scripts/services.sh's Mosquitto). Figures go to the file LEDGER_FAULTS_REPORT
 * names, when set (bench/RESULTS.md quotes them).
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConnectionProfile } from '@compliance-ledger/fabric-client';
import { peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import pg from 'pg';
import { LedgerClient } from '../../../ingest/test/support/network.js';
import {
  type IngestProcess,
  outboxRecord,
  prepareSensorSite,
  SensorPublisher,
  type SensorSite,
  startIngestProcess,
} from '../../../ingest/test/support/sensor-load.js';
import { Client, createDatabase, type Reply, requireNetwork } from '../support/env.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { type RunningIndexer, startIndexer } from '../support/indexer.js';
import { applyBody, type Cast, iso, makeCast, registerCast, uniqueId } from '../support/scenario.js';
import { JPEG_HEAD } from '../support/tus.js';

const run = promisify(execFile);
const DUPLICATE_TXID = Number(peer.TxValidationCode.DUPLICATE_TXID);
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
  /** From SIGKILL until the alarm of the first gas reading sent after it is on the ledger. */
  alarmRecoverMs: number;
}

type GatewayOrg = 'enterprise' | 'regulator';

describe('faults: SIGKILL of each process under load, then ledger, mirror and clients agree', function () {
  this.timeout(LONG ? 3_600_000 : 900_000);
  /** The enterprise's gateway (every write) and the regulator's (the regulator's reads). */
  /** Each org's gateway process, replaced when the suite kills and restarts it. */
  const gateways: Partial<Record<GatewayOrg, GatewayProcess>> = {};
  let indexer: RunningIndexer;
  let dbUrl: string;
  const url = () => gateways.enterprise?.url ?? '';
  const regulatorUrl = () => gateways.regulator?.url ?? '';
  const answers: Answer[] = [];
  /** Each permit's cast: its applicant reads it back. */
  const owner = new Map<string, Cast>();
  const kills: Kill[] = [];
  const reads = { ok: 0, failed: 0 };
  /** Alarms a restarted ingest found pending in its outbox (queued, not yet settled, at the kill). */
  const pendingAtRestart: number[] = [];
  /** Each 2xx write: when its answering attempt was sent, and when the answer came. */
  const writes: { sentAt: number; at: number }[] = [];
  /** Each regulator read answered 200, timed the same way. */
  const readsAnswered: { sentAt: number; at: number }[] = [];
  let stopLoad = false;
  /** The evidence blockstore outlives each gateway process, as a deployment's does. */
  const blockstore = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-blockstore-'));
  /** So are each gateway's wallet (its users' enrolments: a kill mid-enrolment must leave it usable) and its state. */
  const wallets = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-wallets-'));
  const gatewayEnv = (org: GatewayOrg) => ({
    GATEWAY_ORG: org,
    GATEWAY_WALLET_DIR: path.join(wallets, org),
    DATABASE_URL: dbUrl,
    GATEWAY_OCR_ENABLED: '0',
    GATEWAY_RATE_LIMIT_PER_WINDOW: '100000',
    GATEWAY_BLOCKSTORE_DIR: blockstore,
  });
  /** Ingest's folder (registry, service key, outbox) outlives each ingest process. */
  const sensorDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-ingest-'));
  let mqttUrl: string;
  let site: SensorSite;
  let ingest: IngestProcess;
  let publisher: SensorPublisher | undefined;
  /** Reads alarms back from the enterprise's peer, as the site's admin. */
  let alarms: LedgerClient;

  before(async function () {
    requireNetwork(this);
    mqttUrl = process.env.TEST_MQTT_URL ?? '';
    if (!mqttUrl) throw new Error("TEST_MQTT_URL is unset: run 'bash scripts/services.sh start' and export the URL it prints");
    dbUrl = await createDatabase('gw_faults');
    indexer = startIndexer(dbUrl);
    // Both at once; when one fails, the other is kept for `after` to stop (a gateway left running
    // keeps mocha's process alive: a CI run once waited for it until its time ran out).
    const started = await Promise.allSettled([startGatewayProcess(gatewayEnv('enterprise')), startGatewayProcess(gatewayEnv('regulator'))]);
    const [enterprise, regulator] = started;
    if (enterprise.status === 'fulfilled') gateways.enterprise = enterprise.value;
    if (regulator.status === 'fulfilled') gateways.regulator = regulator.value;
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    const profile = loadConnectionProfile(process.env.LEDGER_CONNECTION_PROFILE!);
    site = await prepareSensorSite(profile, sensorDir);
    alarms = LedgerClient.connect(profile, site.admin);
    ingest = await startIngestProcess(site, mqttUrl);
  });
  after(async () => {
    stopLoad = true;
    await publisher?.stop(1_000);
    await ingest?.stop();
    alarms?.close();
    await gateways.enterprise?.stop();
    await gateways.regulator?.stop();
    await indexer?.stop();
    fs.rmSync(blockstore, { recursive: true, force: true });
    fs.rmSync(wallets, { recursive: true, force: true });
    fs.rmSync(sensorDir, { recursive: true, force: true });
  });

  const onLedger = (alarmId: string) =>
    alarms.getAlarm(alarmId).then(
      () => true,
      () => false,
    );

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
        const at = client.at(url());
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
        .at(regulatorUrl())
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
   * the first answer of `served` (the writes, or the regulator's reads) sent after the kill; `aim`
   * waits for the moment to kill.
   */
  async function fault(name: string, pid: () => number, restart: () => Promise<void>, aim?: () => Promise<void>, served = writes): Promise<void> {
    await aim?.();
    note(`SIGKILL ${name} (${answers.length} answers so far)`);
    await kill9(pid());
    // Counted from its death, so a request answered by the process in its last moments does not count as recovery.
    const t0 = Date.now();
    // The sensor path recovered: the alarm of the first gas reading published after the kill is on
    // the ledger. Watched from the kill on, alongside the restart, as a client would see it.
    const alarmRecovered = (async () => {
      while (Date.now() - t0 < RETRY_FOR_MS) {
        const first = publisher!.alarmReadings.find((r) => r.publishedAt > t0);
        if (first && (await onLedger(first.alarmId!))) return Date.now() - t0;
        await sleep(250);
      }
      return Number.NaN;
    })();
    await sleep(DOWN_MS);
    await restart();
    const restartMs = Date.now() - t0;
    note(`${name} restarted after ${restartMs} ms`);
    // Recovered: a write sent after the kill answered 2xx (one in flight across the kill may have been answered before).
    const recovered = () => served.find((w) => w.sentAt > t0);
    while (!recovered() && Date.now() - t0 < RETRY_FOR_MS) await sleep(100);
    const recoverMs = (recovered()?.at ?? Number.NaN) - t0;
    const alarmRecoverMs = await alarmRecovered;
    kills.push({ process: name, restartMs, recoverMs, alarmRecoverMs });
    note(`${name}: first 2xx of a write sent after the kill ${recoverMs} ms after it, first alarm ${alarmRecoverMs} ms`);
  }

  /** Kills an org's gateway and starts it again with the same wallet, state and blockstore, as its operator would. */
  const restartGateway = (org: GatewayOrg, served = writes) =>
    fault(
      `gateway-${org}`,
      () => gateways[org]!.pid,
      async () => {
        await gateways[org]?.stop();
        gateways[org] = await startGatewayProcess(gatewayEnv(org));
      },
      undefined,
      served,
    );

  /**
   * Until a gas reading above the criterion has just been published: a kill of ingest or the broker
   * then meets its alarm between MQTT and the ledger (a commit takes about half a second).
   */
  async function amidAlarm(): Promise<void> {
    const n = publisher!.alarmReadings.length;
    while (publisher!.alarmReadings.length === n) await sleep(20);
    await sleep(150);
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
      const cast = await makeCast(new Client(url()));
      await registerCast(cast);
      casts.push(cast);
    }
    publisher = await SensorPublisher.start(site, mqttUrl);
    note(`${FLOWS} casts registered; load starts (sensor readings on ${site.topicRoot})`);
    const flows = casts.map((c) => load(c));
    const network = (p: string) =>
      fault(
        p,
        () => pidFile(p),
        () => script('network.sh', 'up'),
      );
    const postmaster = Number(fs.readFileSync(path.join(await pgData(), 'postmaster.pid'), 'utf8').split('\n')[0]);
    const plan: [string, () => Promise<void>][] = [
      ['gateway-enterprise', () => restartGateway('enterprise')],
      ['gateway-regulator', () => restartGateway('regulator', readsAnswered)],
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
        'ingest',
        () =>
          fault(
            'ingest',
            () => ingest.pid,
            async () => {
              await ingest.stop();
              ingest = await startIngestProcess(site, mqttUrl);
              pendingAtRestart.push(ingest.pendingAtStart);
            },
            amidAlarm,
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
              amidAlarm,
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
    const mqttSent = await publisher!.stop();
    const elapsedMs = Date.now() - t0;
    // Everything the broker acknowledged reaches the ledger through ingest's outbox; then ingest
    // stops, so its outbox log is read as a restart would read it.
    note(`${publisher!.sent.length} readings published; waiting for ingest's outbox to drain`);
    for (const until = Date.now() + RETRY_FOR_MS; ; await sleep(500)) {
      const h = await ingest.health().catch(() => undefined);
      const missing = await Promise.all(publisher!.alarmReadings.map((r) => onLedger(r.alarmId!)));
      if (h?.outboxDepth === 0 && missing.every(Boolean)) break;
      if (Date.now() > until) break;
    }
    await ingest.stop();
    const outbox = outboxRecord(site.dataDir);
    // A transaction after every alarm: the ledger's recordings of the site are read up to it.
    const marker = await alarms.submitCommitted('device:Register', {
      deviceId: `${site.layout.siteId}-end`,
      siteId: site.layout.siteId,
      areaId: 'marker',
      address: `0x${crypto.randomBytes(20).toString('hex')}`,
      kind: 'sensor',
    });
    const recordings = await alarms.alarmRecordings(site.layout.siteId, site.registeredAt, marker.txId);

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
      // Copies the client handed over again after a fault are DUPLICATE_TXID rows beside the one valid row.
      const mirrored = await db.query(
        'SELECT tx_id, count(*) FILTER (WHERE valid)::int AS valid_rows, ' +
          `count(*) FILTER (WHERE NOT valid AND validation_code <> ${DUPLICATE_TXID})::int AS other_invalid_rows ` +
          'FROM transactions WHERE tx_id = ANY($1) GROUP BY tx_id',
        [ids],
      );
      expect(mirrored.rows.length).to.equal(ids.length);
      for (const r of mirrored.rows)
        expect({ tx: r.tx_id, valid: r.valid_rows, otherInvalid: r.other_invalid_rows }).to.deep.equal({ tx: r.tx_id, valid: 1, otherInvalid: 0 });
      // No permit step lost or doubled: the ledger's permit, the mirror's row and steps, the client's answers.
      const permits = [...new Set(written.map((a) => a.permitNo))];
      for (const permitNo of permits) {
        const mine = written.filter((a) => a.permitNo === permitNo);
        const onLedger = await owner.get(permitNo)!.clients.applicant.at(url()).get(`/v1/permits/${permitNo}`);
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
        const ledgerEvidence = await owner.get(permitNo)!.clients.applicant.at(url()).get(`/v1/permits/${permitNo}/evidence`);
        expect(ledgerEvidence.status).to.equal(200);
        const listed = (Array.isArray(ledgerEvidence.body) ? ledgerEvidence.body : ledgerEvidence.body.items) as { cid: string }[];
        expect(listed.map((e) => e.cid).sort(), `${permitNo} evidence on the ledger`).to.deep.equal([...cids].sort());
        const mirroredEvidence = await db.query('SELECT cid FROM evidence WHERE permit_no = $1', [permitNo]);
        expect(mirroredEvidence.rows.map((r) => r.cid).sort(), `${permitNo} evidence in the mirror`).to.deep.equal([...cids].sort());
        for (const a of mine.filter((x) => !/gas-tests|sign-offs|evidence/.test(x.path)))
          expect(stepTx.has(a.transactionId!), `${a.path} ${a.transactionId}`).to.equal(true);
      }
      // No alarm lost or doubled: the publisher's record, ingest's outbox, the ledger and the mirror agree.
      expect(mqttSent, 'every reading acknowledged by the broker').to.deep.equal({ unacked: 0, failures: [] });
      const expected = publisher!.alarmReadings.map((r) => r.alarmId!);
      expect(new Set(expected).size, 'each reading above the criterion in a dedup window of its own').to.equal(expected.length);
      expect(
        [...outbox.queued].filter((id) => !outbox.outcomes.has(id)),
        'alarms still pending in the outbox',
      ).to.deep.equal([]);
      expect(
        [...outbox.outcomes].filter(([, o]) => o.status === 'rejected'),
        'alarms the ledger rejected',
      ).to.deep.equal([]);
      for (const id of expected) expect(recordings.get(id), `the gas alarm ${id} on the ledger`).to.equal(1);
      for (const [id, n] of recordings) {
        expect(n, `alarm ${id} recorded`).to.equal(1);
        expect(outbox.queued.has(id), `alarm ${id} came through the outbox`).to.equal(true);
      }
      for (const id of outbox.queued) expect(recordings.get(id), `the outbox's alarm ${id} on the ledger`).to.equal(1);
      const siteId = site.layout.siteId;
      const alarmJson = "convert_from(payload, 'UTF8')::jsonb -> 'payload' -> 'alarm'";
      const mirroredEvents = await db.query(
        `SELECT ${alarmJson} ->> 'alarmId' AS alarm_id, count(*)::int AS n, min(tx_id) AS tx_id FROM events ` +
          `WHERE valid AND name = 'AlarmRecorded' AND ${alarmJson} ->> 'siteId' = $1 GROUP BY 1`,
        [siteId],
      );
      const recordedIds = [...recordings.keys()].sort();
      expect(mirroredEvents.rows.map((r) => r.alarm_id).sort(), 'alarm recordings in the mirror').to.deep.equal(recordedIds);
      expect(mirroredEvents.rows.every((r) => r.n === 1)).to.equal(true);
      const mirroredAlarms = await db.query('SELECT alarm_id, kind FROM alarms WHERE site_id = $1', [siteId]);
      expect(mirroredAlarms.rows.map((r) => r.alarm_id).sort(), 'alarms in the mirror').to.deep.equal(recordedIds);
      const gasIds = mirroredAlarms.rows.filter((r) => r.kind === 'flammable_gas_above_permit_criterion').map((r) => r.alarm_id);
      expect(gasIds.sort(), 'gas alarms: exactly those of the readings above the criterion').to.deep.equal([...expected].sort());
      // Each alarm the outbox saw committed is the ledger's recording of it.
      const recordedIn = new Map(mirroredEvents.rows.map((r) => [r.alarm_id as string, r.tx_id as string]));
      const committed = [...outbox.outcomes].filter(([, o]) => o.status === 'committed');
      for (const [id, o] of committed) expect(o.status === 'committed' && o.txId, `alarm ${id}`).to.equal(recordedIn.get(id));
      const duplicates = [...outbox.outcomes].filter(([, o]) => o.status === 'duplicate').length;
      const retried = answers.filter((a) => a.attempts > 1).length;
      const report = [
        `fault suite (${LONG ? 'long' : 'short'}), ${new Date().toISOString()}: ${kills.length} kills in ${Math.round(elapsedMs / 1000)} s, ` +
          `${answers.length} keyed writes (${written.length} 2xx, ${retried} needed a retry with the same key, ${answers.length - written.length} other), ` +
          `${answers.length} replays, ${reads.ok} regulator reads answered 200 (${reads.failed} failed during faults), ${permits.length} permits; ` +
          `${publisher!.sent.length} signed readings over MQTT (${expected.length} above the gas criterion), ${recordings.size} alarms on the ledger ` +
          `(${expected.length} gas, ${recordings.size - expected.length} scored), each once; ingest's outbox: ${committed.length} committed, ` +
          `${duplicates} found already on the ledger (committed before a kill), 0 pending, 0 rejected; ` +
          `restarted ingest found ${pendingAtRestart.join(', ')} alarm(s) pending in its outbox`,
        '| process | restart (kill → healthy), s | recover (kill → 2xx of a write sent after it; regulator gateway: of a read), s | ' +
          'alarm (kill → alarm of a reading sent after it on the ledger), s |',
        '|---|---:|---:|---:|',
        ...kills.map(
          (k) => `| ${k.process} | ${(k.restartMs / 1000).toFixed(1)} | ${(k.recoverMs / 1000).toFixed(1)} | ${(k.alarmRecoverMs / 1000).toFixed(1)} |`,
        ),
      ].join('\n');
      console.log(report);
      if (process.env.LEDGER_FAULTS_REPORT) fs.appendFileSync(process.env.LEDGER_FAULTS_REPORT, `${report}\n\n`);
      expect(kills.length).to.equal(plan.length);
      expect(kills.every((k) => k.recoverMs > 0 && k.alarmRecoverMs > 0)).to.equal(true);
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
