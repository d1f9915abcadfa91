/**
 * The demo of `npm start`: one hot-work permit through the gateway's REST API as the people of a
 * plant and a regulator would use it, a gas leak simulated at the site, the alarm that ingest signs
 * and records, the permit suspended on the ledger by that alarm, and what the regulator and the
 * auditor then see. Each demo worker gets a badge (the signed worker code, as PNG and SVG files in
 * $LEDGER_RUN_DIR/demo/badges), and the gate terminal scans them and signs its checks. Every
 * figure printed comes from an answer of the running services; a step that is not possible (an
 * endpoint missing or not configured) is named as such and the demo goes on.
 *
 * Environment (scripts/start.sh sets it): LEDGER_RUN_DIR, GATEWAY_URL, INDEXER_URL, INGEST_URL,
 * INGEST_MQTT_URL, LEDGER_DEMO_SITE. Exit code 1 only when the core flow (permit to active, alarm,
 * suspension) fails.
 */
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decideAtGate, signGateCheck } from '@compliance-ledger/gate-verifier';
import type { GateSnapshot } from '@compliance-ledger/schema';
import { Wallet } from 'ethers';
import { SignJWT } from 'jose';
import jsQRImport from 'jsqr';
import { PNG } from 'pngjs';

const env = (name: string, fallback?: string): string => {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') throw new Error(`${name} is not set (scripts/start.sh sets it)`);
  return v;
};
const runDir = env('LEDGER_RUN_DIR');
const gatewayUrl = env('GATEWAY_URL');
// Each org's users go through their own org's gateway: neither gateway holds the other org's keys.
const regulatorGatewayUrl = env('REGULATOR_GATEWAY_URL');
const indexerUrl = env('INDEXER_URL');
const ingestUrl = env('INGEST_URL');
const mqttUrl = env('INGEST_MQTT_URL');
const siteId = env('LEDGER_DEMO_SITE', 'site-1');
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const keysFile = join(runDir, 'devices', 'device-keys.json');
const serviceKeyFile = join(runDir, 'ingest', 'ingest-key.json');
// The credential office's key file (scripts/stack.sh writes it; the enterprise gateway signs codes with it).
const officeKeyFile = join(runDir, 'gateway', 'credential-office-key.json');
// The gate terminal's own key: it signs each gate check; the ledger holds its address as a device of kind gate.
const gateKeyFile = join(runDir, 'devices', 'gate-key.json');
const outboxFile = join(runDir, 'ingest', 'data', 'outbox.jsonl');
const demoDir = join(runDir, 'demo');
const zoneId = 'tank-farm'; // the simulator's hot-work area (ingest/tools/site-layout.ts)

// jsqr is CommonJS: its types declare a default export, at run time the function is the module.
const jsQR = ((jsQRImport as unknown as { default?: unknown }).default ?? jsQRImport) as typeof jsQRImport.default;

// ---------------------------------------------------------------- output
const t0 = Date.now();
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const section = (s: string): void => say(`\n── ${s} ${'─'.repeat(Math.max(3, 72 - s.length))}`);
const item = (s: string): void => say(`   ${s}`);
const missing: string[] = [];
const notPossible = (what: string, why: string): void => {
  missing.push(`${what}: ${why}`);
  item(`NOT POSSIBLE: ${what} — ${why}`);
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const short = (id: string) => (id.length > 16 ? `${id.slice(0, 12)}…` : id);

// ---------------------------------------------------------------- HTTP
interface Reply {
  status: number;
  /** JSON of the gateway's documented shapes, read field by field. */
  body: any;
  text: string;
}
class Api {
  constructor(
    readonly who: string,
    private readonly token: string | undefined,
    private readonly base: string = gatewayUrl,
  ) {}
  async request(method: 'GET' | 'POST', path: string, body?: unknown, form?: FormData): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (method === 'POST') headers['idempotency-key'] = `demo-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    let payload: string | FormData | undefined = form;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(this.base + path, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed, text };
  }
  get(path: string): Promise<Reply> {
    return this.request('GET', path);
  }
  /** A GET whose answer is an image; throws with the error body otherwise. */
  async bytes(path: string): Promise<Buffer> {
    const res = await fetch(this.base + path, { headers: this.token ? { authorization: `Bearer ${this.token}` } : {} });
    if (!res.ok) throw new StepFailed(`${path}: HTTP ${res.status} ${await res.text()}`);
    return Buffer.from(await res.arrayBuffer());
  }
  post(path: string, body: unknown): Promise<Reply> {
    return this.request('POST', path, body);
  }
}
const errorOf = (r: Reply): string =>
  r.body && typeof r.body === 'object' && r.body.error
    ? `${r.body.error.code} (${r.status}): ${r.body.error.message}`
    : `HTTP ${r.status}: ${r.text.slice(0, 300)}`;
class StepFailed extends Error {}

let lastBlock = 0;
/** A write that must succeed; prints one line with its transaction and block. */
async function write(api: Api, what: string, path: string, body: unknown, expect = [200, 201]): Promise<any> {
  const r = await api.post(path, body);
  if (!expect.includes(r.status)) {
    item(`FAILED: ${what} as ${api.who} — ${errorOf(r)}`);
    throw new StepFailed(`${what}: ${errorOf(r)}`);
  }
  lastBlock = Math.max(lastBlock, Number(r.body.blockNumber ?? 0));
  item(`${what.padEnd(48)} ${api.who.padEnd(18)} block ${String(r.body.blockNumber).padStart(4)}  tx ${short(String(r.body.transactionId))}`);
  return r.body.record;
}
/** A registration that may already exist from an earlier run of the demo (409 ALREADY_EXISTS). */
async function register(api: Api, what: string, path: string, body: unknown): Promise<'new' | 'existing'> {
  const r = await api.post(path, body);
  if (r.status === 201 || r.status === 200) {
    lastBlock = Math.max(lastBlock, Number(r.body.blockNumber ?? 0));
    item(`${what.padEnd(48)} ${api.who.padEnd(18)} block ${String(r.body.blockNumber).padStart(4)}  tx ${short(String(r.body.transactionId))}`);
    return 'new';
  }
  if (r.status === 409 && r.body?.error?.code === 'ALREADY_EXISTS') {
    item(`${what.padEnd(48)} already on the ledger (earlier run)`);
    return 'existing';
  }
  item(`FAILED: ${what} as ${api.who} — ${errorOf(r)}`);
  throw new StepFailed(`${what}: ${errorOf(r)}`);
}

// ---------------------------------------------------------------- people (JWTs)
const workerId = (label: string) => createHmac('sha256', `demo-enterprise-key:${runDir}`).update(label).digest('hex');
const workUnit = 'unit-maintenance';
const people = {
  welder: workerId('welder'),
  helper: workerId('helper'),
  guardian: workerId('guardian'),
  personInCharge: workerId('person-in-charge'),
  approver: workerId('approver'),
};
interface Claims {
  sub: string;
  org: 'enterprise' | 'regulator';
  role: string;
  department?: string;
  workerId?: string;
}
const castClaims: Record<string, Claims> = {
  credentialOfficer: { sub: 'demo-credential-officer', org: 'enterprise', role: 'credential_officer' },
  safetyOfficer: { sub: 'demo-safety-officer', org: 'enterprise', role: 'safety_officer' },
  applicant: { sub: 'demo-applicant', org: 'enterprise', role: 'applicant' },
  personInCharge: { sub: 'demo-person-in-charge', org: 'enterprise', role: 'person_in_charge', workerId: people.personInCharge },
  gasAnalyst: { sub: 'demo-gas-analyst', org: 'enterprise', role: 'gas_analyst' },
  approver: { sub: 'demo-approver', org: 'enterprise', role: 'approver', department: workUnit, workerId: people.approver },
  gateTerminal: { sub: 'demo-gate-terminal', org: 'enterprise', role: 'device_gateway' },
  acceptor: { sub: 'demo-acceptor', org: 'enterprise', role: 'acceptor' },
  regulator: { sub: 'demo-regulator', org: 'regulator', role: 'regulator' },
  auditor: { sub: 'demo-auditor', org: 'regulator', role: 'auditor' },
};
type Who = keyof typeof castClaims;

async function mintTokens(): Promise<Record<Who, Api>> {
  const secret = readFileSync(join(runDir, 'gateway', 'jwt-hs256.secret'), 'utf8').trim();
  const key = new TextEncoder().encode(secret);
  const tokens: Record<string, { claims: Claims; token: string }> = {};
  const apis: Record<string, Api> = {};
  for (const [who, c] of Object.entries(castClaims)) {
    const { sub, ...rest } = c;
    const token = await new SignJWT({ ...rest }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('12h').sign(key);
    tokens[who] = { claims: c, token };
    apis[who] = new Api(who, token, c.org === 'regulator' ? regulatorGatewayUrl : gatewayUrl);
  }
  mkdirSync(demoDir, { recursive: true, mode: 0o700 });
  const file = join(demoDir, 'tokens.json');
  writeFileSync(file, `${JSON.stringify({ gateway: gatewayUrl, regulatorGateway: regulatorGatewayUrl, expiresInHours: 12, users: tokens }, null, 2)}\n`, {
    mode: 0o600,
  });
  chmodSync(file, 0o600);
  return apis as Record<Who, Api>;
}

// ---------------------------------------------------------------- services
async function json(url: string): Promise<any> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return res.json();
}
async function indexerLastBlock(): Promise<number> {
  const h = await json(`${indexerUrl}/healthz`);
  return Number(h.lastBlock ?? -1);
}

interface OutboxAlarm {
  alarmId: string;
  siteId: string;
  areaId: string;
  deviceId: string;
  grade: number;
  kind: string;
  scoreBp: number;
  observedAt: number;
  enqueuedAt: number;
  outcome?: { status: string; txId?: string; reason?: string; code?: string };
}
/** The alarms ingest raised for the area since `since`, from its durable outbox log. */
function outboxAlarms(since: number): OutboxAlarm[] {
  if (!existsSync(outboxFile)) return [];
  const byId = new Map<string, OutboxAlarm>();
  for (const line of readFileSync(outboxFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let r: any;
    try {
      r = JSON.parse(line);
    } catch {
      continue; // a torn last line while ingest writes
    }
    const f = r.op === 'put' ? (r.alarm?.fields ?? r.alarm) : undefined; // SignedAlarm: {fields, signature}
    if (f && f.siteId === siteId && f.areaId === zoneId && r.enqueuedAt >= since) {
      byId.set(f.alarmId, { ...f, enqueuedAt: r.enqueuedAt });
    } else if (r.op === 'settle' && byId.has(r.alarmId)) {
      byId.get(r.alarmId)!.outcome = r.outcome;
    }
  }
  return [...byId.values()];
}

/** Alarm ids the ledger committed for ingest, from every settle record of its outbox log. */
function committedAlarmIds(): string[] {
  if (!existsSync(outboxFile)) return [];
  const ids: string[] = [];
  for (const line of readFileSync(outboxFile, 'utf8').split('\n')) {
    try {
      const r = JSON.parse(line);
      if (r.op === 'settle' && r.outcome?.status === 'committed') ids.push(r.alarmId);
    } catch {
      // blank or torn line
    }
  }
  return ids;
}

function runSimulator(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'ingest', 'tools', 'simulator.ts'), ...args], {
      cwd: join(repoRoot, 'ingest'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`simulator exited with ${code}: ${err.trim()}`))));
  });
}

// ---------------------------------------------------------------- the flow
async function main(): Promise<number> {
  say(`Demo: a hot-work permit (GB 30871 二级动火) at ${siteId}/${zoneId}, a gas leak, and the ledger's record of both`);
  say(`gateway ${gatewayUrl} · indexer ${indexerUrl} · ingest ${ingestUrl} (MQTT ${mqttUrl})`);

  section('0. services');
  const gh = await json(`${gatewayUrl}/healthz`);
  item(
    `gateway  /healthz ${gh.status}: peers ` +
      `${gh.checks?.enterprisePeer && gh.checks?.regulatorPeer ? 'both reachable' : JSON.stringify(gh.checks)}, ` +
      `content store ${gh.contentStore}`,
  );
  const ih = await json(`${indexerUrl}/healthz`);
  item(`indexer  /healthz ${ih.status}: block ${ih.lastBlock} of height ${ih.chainHeight} indexed`);
  const nh = await json(`${ingestUrl}/healthz`);
  item(`ingest   /healthz ok=${nh.ok}: MQTT ${nh.mqtt}, ledger ${nh.ledger}, model ${nh.model}, outbox depth ${nh.outboxDepth}`);

  const as = await mintTokens();
  item(
    `demo users: ${Object.values(castClaims)
      .map((c) => `${c.sub} (${c.org}/${c.role})`)
      .join(', ')}`,
  );
  item(`their JWTs (HS256, 12 h): ${join(demoDir, 'tokens.json')}`);

  section('1. people, certificates and devices on the ledger (credential officer, safety officer)');
  item("(the first request of each user enrols it at its org's Fabric CA with ledger.role in the certificate)");
  for (const [label, w] of Object.entries(people)) await register(as.credentialOfficer, `worker ${label} ${w.slice(0, 8)}…`, '/v1/workers', { workerId: w });
  const now = Date.now();
  const certificates = [
    ['welder', people.welder, 'welding_cutting', '熔化焊接与热切割作业', 'welding certificate'],
    ['helper', people.helper, 'welding_cutting', '熔化焊接与热切割作业', 'welding certificate'],
    ['guardian', people.guardian, 'guardian', '特殊作业监护人', 'guardian training certificate'],
  ] as const;
  for (const [label, w, category, certItem, what] of certificates) {
    await register(as.credentialOfficer, `${what} of the ${label}`, '/v1/certificates', {
      certificateId: `demo-cert-${label}-${w.slice(0, 8)}`,
      workerId: w,
      category,
      item: certItem,
      authority: '应急管理局',
      validFrom: iso(now - 365 * 86_400_000),
      validUntil: iso(now + 4 * 365 * 86_400_000),
      reviewDue: iso(now + 2 * 365 * 86_400_000),
      scanSha256: createHash('sha256').update(`scan-${label}-${w}`).digest('hex'),
    });
  }
  const keys = JSON.parse(readFileSync(keysFile, 'utf8')) as { devices: Record<string, { address: string }> };
  // A gate that signs its checks (the demo's earlier gate id had no key of its own).
  const gateId = `gate-${siteId}-${zoneId}-signing`;
  if (!existsSync(gateKeyFile)) {
    mkdirSync(dirname(gateKeyFile), { recursive: true, mode: 0o700 });
    writeFileSync(gateKeyFile, `${JSON.stringify({ deviceId: gateId, privateKey: Wallet.createRandom().privateKey })}\n`, { mode: 0o600 });
  }
  const gateKey = new Wallet((JSON.parse(readFileSync(gateKeyFile, 'utf8')) as { privateKey: string }).privateKey);
  const officeKey = JSON.parse(readFileSync(officeKeyFile, 'utf8')) as { officeId: string; address: string };
  const devices = [
    ...Object.entries(keys.devices)
      .filter(([id]) => /^(gas|cam)-/.test(id))
      .map(([id, d]) => ({
        deviceId: id,
        siteId,
        areaId: id.replace(/^(gas|cam)-/, ''),
        address: d.address,
        kind: id.startsWith('gas-') ? 'sensor' : 'camera',
      })),
    { deviceId: gateId, siteId, areaId: zoneId, address: gateKey.address, kind: 'gate' },
    { deviceId: officeKey.officeId, siteId, areaId: 'credential-office', address: officeKey.address, kind: 'credential_office' },
  ];
  // Ingest's own key signs the gradings; the ledger knows it as a device record of kind ingest_service.
  const ingestKey = JSON.parse(readFileSync(serviceKeyFile, 'utf8')) as { serviceId: string; address: string };
  devices.push({ deviceId: ingestKey.serviceId, siteId, areaId: zoneId, address: ingestKey.address, kind: 'ingest_service' });
  for (const d of devices) {
    const got = await as.safetyOfficer.get(`/v1/devices/${d.deviceId}`);
    if (got.status === 200) {
      item(`${`device ${d.deviceId} (${d.kind}, ${d.areaId})`.padEnd(48)} already registered (earlier run)`);
      continue;
    }
    await register(as.safetyOfficer, `device ${d.deviceId} (${d.kind}, ${d.areaId})`, '/v1/devices', d);
  }
  item(`device keys (the devices' own, sign their readings; ingest never reads them): ${keysFile}`);
  item(`ingest service key (signs gradings): ${serviceKeyFile}`);
  item(`credential office key (signs worker codes; held by the enterprise gateway): ${officeKeyFile}`);
  item(`gate terminal key (signs gate checks): ${gateKeyFile}`);

  section("1b. badges: each worker's signed code (one person, one code), as the enterprise gateway issues it");
  const crew = [
    ['welder', people.welder],
    ['helper', people.helper],
    ['guardian', people.guardian],
  ] as const;
  const badgeDir = join(demoDir, 'badges');
  mkdirSync(badgeDir, { recursive: true, mode: 0o700 });
  const badges = new Map<string, string>();
  for (const [label, w] of crew) {
    const code = await as.safetyOfficer.get(`/v1/workers/${w}/code`);
    if (code.status !== 200) {
      notPossible(`badge of the ${label}`, errorOf(code));
      continue;
    }
    const png = await as.safetyOfficer.bytes(`/v1/workers/${w}/code.png`);
    const svg = await as.safetyOfficer.bytes(`/v1/workers/${w}/code.svg`);
    const pngFile = join(badgeDir, `${label}.png`);
    writeFileSync(pngFile, png);
    writeFileSync(join(badgeDir, `${label}.svg`), svg);
    badges.set(label, pngFile);
    const c = code.body;
    item(
      `${label} ${short(w)}: office ${c.officeId}, epoch ${c.epoch}, valid until ${c.expiresAt}, ` +
        `certificates ${c.certificates.map((x: { certificateId: string; category: string }) => `${x.certificateId} (${x.category})`).join(', ')}`,
    );
    item(`   code ${c.code}`);
    item(`   badge ${pngFile} · ${join(badgeDir, `${label}.svg`)}`);
  }

  // An earlier run stopped half-way can leave an alarm open in the zone, which blocks a new start.
  let leftovers = 0;
  for (const id of committedAlarmIds().slice(-30)) {
    const ack = await as.safetyOfficer.post(`/v1/alarms/${id}/acknowledge`, { note: 'left open by an earlier demo run' });
    const close = await as.safetyOfficer.post(`/v1/alarms/${id}/close`, { note: 'left open by an earlier demo run' });
    if (ack.status === 200 || close.status === 200) leftovers++;
  }
  if (leftovers) item(`closed ${leftovers} alarm(s) an earlier run of the demo had left open`);

  section('2. hot-work permit: application → active');
  const permitNo = `HW-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(3).toString('hex').toUpperCase()}`;
  const base = `/v1/permits/${permitNo}`;
  item(`permit ${permitNo}, level 2 hot work, ${siteId}/${zoneId}, work unit ${workUnit}`);
  const applyAt = Date.now();
  await write(as.applicant, 'apply', '/v1/permits', {
    permitNo,
    operationType: 'hot_work',
    level: '2',
    location: { siteId, zoneId, coordinates: { x: 12, y: 34 }, fireExplosionZone: false, outdoor: true },
    workUnit,
    description: 'Weld a support bracket on the tank farm pipe rack',
    plannedStart: iso(applyAt - 60_000),
    plannedEnd: iso(applyAt + 8 * 3_600_000),
    workers: [people.welder, people.helper],
    personInChargeId: people.personInCharge,
    guardianId: people.guardian,
    hazards: [{ hazardId: 'h1', description: 'Sparks near flammable vapour from the tank vents' }],
    measures: [
      { measureId: 'm1', hazardId: 'h1', description: 'Remove or cover combustibles within 10 m' },
      { measureId: 'm2', hazardId: 'h1', description: 'Fire extinguisher and fire blanket at the work point' },
    ],
  });
  await write(as.personInCharge, 'risk assessment (2 measures confirmed)', `${base}/risk-assessment`, {
    confirmations: [
      { measureId: 'm1', confirmedBy: people.personInCharge },
      { measureId: 'm2', confirmedBy: people.personInCharge },
    ],
  });
  const gas1 = await write(as.gasAnalyst, 'gas test 1: 0.10 %vol flammable (LEL ≥ 4 %)', `${base}/gas-tests`, {
    testId: `${permitNo}-gt-1`,
    sampleTakenAt: iso(Date.now() - 60_000),
    lelClass: 'lel_ge_4',
    flammableVolPct: 0.1,
  });
  const lastGas = gas1?.gasTests?.at?.(-1);
  if (lastGas && typeof lastGas === 'object')
    item(
      `   chaincode's verdict on the gas test: ` +
        `${lastGas.passed === true ? 'passed' : lastGas.passed === false ? 'FAILED' : JSON.stringify(lastGas).slice(0, 120)}`,
    );
  await write(as.approver, 'approval sign-off at the site', `${base}/sign-offs`, { stepId: 'approval', atSite: true, opinion: 'Measures in place, approved' });
  const issued = await write(as.approver, 'issue', `${base}/issue`, {});
  if (issued?.validUntil) item(`   valid ${issued.validFrom} → ${issued.validUntil}`);
  await write(as.personInCharge, 'safety briefing of both workers', `${base}/brief`, { briefedWorkerIds: [people.welder, people.helper] });
  // The gate terminal syncs its snapshot, scans each badge, decides, and signs what it saw.
  const synced = await as.gateTerminal.get(`${base}/gate-snapshot`);
  if (synced.status !== 200) throw new StepFailed(`gate snapshot: ${errorOf(synced)}`);
  const snapshot = synced.body as GateSnapshot;
  item(
    `gate snapshot at block height ${snapshot.blockHeight}: ${snapshot.signingKeys.length} credential office key(s), ` +
      `crew epochs ${JSON.stringify(Object.values(snapshot.revocationEpochs))}`,
  );
  for (const [i, [label, w]] of crew.entries()) {
    const file = badges.get(label);
    if (file === undefined) throw new StepFailed(`no badge for the ${label}`);
    const image = PNG.sync.read(readFileSync(file));
    const scanned = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
    if (scanned === null) throw new StepFailed(`the gate could not read the ${label}'s badge ${file}`);
    const role = w === people.guardian ? ('guardian' as const) : ('worker' as const);
    const decision = decideAtGate(scanned.data, snapshot, { permitNo, role, nowMs: Date.now(), maxSnapshotAgeMs: 15 * 60_000 });
    item(`scanned ${file}: ${decision.pass ? 'pass' : `refused ${decision.code}: ${decision.reason}`}`);
    const signed = await signGateCheck(gateKey, {
      gateCheckId: `${permitNo}-gc-${i}`,
      deviceId: gateId,
      permitNo,
      role,
      code: scanned.data,
      decision,
      faceMatched: true,
      healthDeclared: true,
      // The face match stays on the terminal: only this record's sha256 is signed and recorded.
      biometricRecord: `face-match ${label} score=0.93 template=${short(w)} at=${Date.now()}`,
      offline: false,
      checkedAt: Date.now(),
    });
    const g = await write(as.gateTerminal, `gate check ${label}: badge, face, health, signed by ${gateId}`, '/v1/gate-checks', signed);
    if (g && typeof g === 'object')
      item(
        `   gate: ${g.device?.gateDecision}; ledger: ${g.device?.ledgerDecision} (${g.device?.ledgerReason}); ` +
          `disagreement ${g.device?.disagreement}; recorded as ${g.passed ? 'passed' : 'refused'}`,
      );
  }
  const active = await write(as.personInCharge, 'start the work', `${base}/start`, {});
  item(`permit status: ${active?.status}`);

  section('3. evidence: the gas meter record, streamed to the embedded IPFS blockstore');
  let evidenceTx: string | undefined;
  {
    const content = Buffer.from(
      `Gas test ${permitNo}-gt-1\nsite ${siteId} zone ${zoneId}\nflammable 0.10 %vol (LEL class >= 4 %)\nO2 20.9 %vol\nanalyst demo-gas-analyst\n`,
    );
    const form = new FormData();
    form.set('step', 'gas_test');
    form.set('capturedAt', iso(Date.now() - 30_000));
    form.set('file', new Blob([content], { type: 'text/plain' }), 'gas-test-1.txt');
    const r = await as.gasAnalyst.request('POST', `${base}/evidence`, undefined, form);
    if (r.status === 201 || r.status === 200) {
      const rec = r.body.record;
      evidenceTx = r.body.transactionId;
      lastBlock = Math.max(lastBlock, Number(r.body.blockNumber ?? 0));
      item(`evidence recorded: ${rec.sizeBytes} bytes, sha256 ${String(rec.sha256).slice(0, 16)}…, CID ${rec.cid}`);
      item(`block ${r.body.blockNumber}, tx ${short(String(r.body.transactionId))}`);
    } else notPossible('evidence upload', errorOf(r));
  }

  section('4. gas leak at the site → ingest → device-signed alarm → permit suspended');
  const simStart = Date.now();
  item(`ingest simulator: scenario gas-leak at ${siteId} (24 ticks of 0.5 s, leak from tick 8), signed by the device keys, to ${mqttUrl}`);
  const sim = runSimulator(['run', '--url', mqttUrl, '--keys', keysFile, '--site', siteId, '--scenario', 'gas-leak', '--ticks', '24', '--tick-ms', '500']).then(
    (out) => ({ out, err: undefined as Error | undefined }),
    (err: Error) => ({ out: '', err }),
  );
  // The person in charge watches the permit while the leak goes on.
  let suspended: any;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(250)) {
    const p = await as.personInCharge.get(base);
    if (p.status === 200 && p.body.status === 'suspended') {
      suspended = p.body;
      break;
    }
  }
  if (!suspended) {
    const r = await sim;
    item(`simulator: ${r.err ? `FAILED ${r.err.message}` : r.out.split('\n').at(-1)}`);
    item(`FAILED: the permit is not suspended 60 s after the simulated leak began (ingest log: ${join(runDir, 'logs', 'ingest.log')})`);
    for (const a of outboxAlarms(simStart))
      item(`   ingest alarm grade ${a.grade} ${a.kind}: ${a.outcome ? JSON.stringify(a.outcome) : 'still in the outbox'}`);
    return 1;
  }
  const susp = suspended.suspension;
  const step = (suspended.history as { action: string; to: string; txId: string; at: string; actor?: { id?: string; role?: string; msp?: string } }[])
    .filter((h) => h.to === 'suspended')
    .at(-1);
  item(
    `permit ${permitNo} is SUSPENDED ${((Date.now() - simStart) / 1000).toFixed(1)} s after the simulator ` +
      `started: reason ${susp?.reason}, by alarm ${short(String(susp?.alarmId))} at ${susp?.at} (ledger time)`,
  );
  if (step) item(`suspension step: tx ${short(step.txId)} by ${step.actor?.role ?? JSON.stringify(step.actor)} (ingest's identity)`);

  if (susp?.alarmId) {
    const ar = await as.regulator.get(`/v1/alarms/${susp.alarmId}`);
    if (ar.status === 200) {
      const a = ar.body;
      item(
        `the alarm as the ledger holds it (read by the regulator): grade ${a.grade}, ${a.kind}, score ` +
          `${(Number(a.scoreBp) / 100).toFixed(2)} %, model ${a.modelVersion}, device ${a.deviceId} ` +
          `(${a.deviceKind}), status ${a.status}`,
      );
      const dev = await as.regulator.get(`/v1/devices/${a.deviceId}`);
      const registered = dev.status === 200 ? String(dev.body.address) : undefined;
      const same = registered !== undefined && registered.toLowerCase() === String(a.signer).toLowerCase();
      item(
        `EIP-712 signature ${String(a.signature).slice(0, 18)}… by ${a.signer}: ` +
          (registered === undefined
            ? `device record not readable (${errorOf(dev)})`
            : same
              ? `the key registered for ${a.deviceId}`
              : `NOT the registered key ${registered}`),
      );
    } else notPossible('reading the alarm record', errorOf(ar));
  }

  section('5. the safety officer responds: acknowledge, then close the alarm(s)');
  const alarmTxs: string[] = [];
  const acknowledge = async (alarmId: string, fallback?: OutboxAlarm): Promise<boolean> => {
    const ack = await as.safetyOfficer.post(`/v1/alarms/${alarmId}/acknowledge`, { note: 'Work stopped, area evacuated, leak located at a tank vent valve' });
    if (ack.status !== 200 && ack.status !== 201) {
      notPossible(`acknowledge alarm ${short(alarmId)}`, errorOf(ack));
      return false;
    }
    lastBlock = Math.max(lastBlock, Number(ack.body.blockNumber ?? 0));
    const rec = ack.body.record ?? {};
    item(
      `alarm ${short(alarmId)} grade ${rec.grade ?? fallback?.grade ?? '?'} ` +
        `(${rec.kind ?? fallback?.kind ?? '?'}) acknowledged: response time ${rec.responseMs ?? '?'} ms ` +
        `(recorded ${rec.recordedAt} → acknowledged ${rec.acknowledgedAt}); block ${ack.body.blockNumber}`,
    );
    if (Array.isArray(rec.suspendedPermitNos) && rec.suspendedPermitNos.length)
      item(`   this alarm's transaction suspended: ${rec.suspendedPermitNos.join(', ')}`);
    return true;
  };
  // The alarm that stopped the work first, as soon as the suspension is seen.
  const suspendingAcked = susp?.alarmId ? await acknowledge(String(susp.alarmId)) : false;
  const simResult = await sim;
  item(`simulator finished: ${simResult.err ? `FAILED ${simResult.err.message}` : simResult.out.split('\n').at(-1)}`);
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(250)) {
    const h = await json(`${ingestUrl}/healthz`);
    if (h.outboxDepth === 0) break;
  }
  const raised = outboxAlarms(simStart);
  item(`ingest raised ${raised.length} alarm(s) for ${zoneId} during the leak (from its outbox ${outboxFile}):`);
  for (const a of raised) {
    const o = a.outcome;
    item(
      `   ${short(a.alarmId)} grade ${a.grade} ${a.kind.padEnd(37)} score ${(a.scoreBp / 100).toFixed(2)} %  device ${a.deviceId}  ` +
        `${o ? (o.status === 'committed' ? `committed tx ${short(o.txId ?? '')}` : `${o.status} ${o.reason ?? o.code ?? ''}`) : 'still in the outbox'}`,
    );
  }
  const suspendingAlarm = raised.find((a) => a.alarmId === susp?.alarmId);
  if (suspendingAlarm) {
    item(
      `suspending alarm: reading observed ${new Date(suspendingAlarm.observedAt).toISOString()} → signed ` +
        `and in ingest's outbox ${suspendingAlarm.enqueuedAt - suspendingAlarm.observedAt} ms later → its ` +
        `transaction (which suspended the permit) timestamped ` +
        `${Date.parse(susp?.at) - suspendingAlarm.observedAt} ms after the reading`,
    );
  }
  const committed = raised.filter((a) => a.outcome?.status === 'committed');
  for (const a of committed) if (a.outcome?.txId) alarmTxs.push(a.outcome.txId);
  const toClose = new Set<string>(suspendingAcked ? [String(susp.alarmId)] : []);
  for (const a of committed) {
    if (a.alarmId === susp?.alarmId) continue;
    if (await acknowledge(a.alarmId, a)) toClose.add(a.alarmId);
  }
  for (const id of toClose) {
    const close = await as.safetyOfficer.post(`/v1/alarms/${id}/close`, { note: 'Valve replaced; area re-tested before any restart' });
    if (close.status === 200 || close.status === 201) {
      lastBlock = Math.max(lastBlock, Number(close.body.blockNumber ?? 0));
      item(`alarm ${short(id)} closed in block ${close.body.blockNumber}`);
    } else notPossible(`close alarm ${short(id)}`, errorOf(close));
  }

  section("6. regulator: queries over the indexer's mirror");
  const waitFrom = Date.now();
  let indexed = -1;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(300)) {
    indexed = await indexerLastBlock();
    if (indexed >= lastBlock) break;
  }
  item(
    indexed >= lastBlock
      ? `indexer caught up: block ${indexed} indexed (demo's last write: block ${lastBlock}), waited ${Date.now() - waitFrom} ms`
      : `indexer at block ${indexed}, behind the demo's last block ${lastBlock} after 60 s`,
  );
  const tl = await as.regulator.get(`/v1/regulator/permits/${permitNo}/timeline`);
  if (tl.status === 200) {
    const events = tl.body.events as { kind: string; at?: string; blockNumber?: number }[];
    const kinds = new Map<string, number>();
    for (const e of events) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
    item(
      `timeline of ${permitNo}: ${events.length} events ` +
        `(${[...kinds].map(([k, n]) => `${k} ×${n}`).join(', ')}), ${tl.body.evidence?.length ?? 0} evidence ` +
        `file(s), status ${tl.body.permit?.status}`,
    );
  } else notPossible('regulator permit timeline', errorOf(tl));
  const al = await as.regulator.get(`/v1/regulator/alarms?site=${encodeURIComponent(siteId)}&area=${zoneId}&limit=5`);
  if (al.status === 200) {
    const rt = al.body.responseTime ?? {};
    const secs = (v: unknown) => (typeof v === 'number' ? `${v.toFixed(1)} s` : 'n/a');
    item(
      `alarms at ${siteId}/${zoneId}: ${al.body.total ?? al.body.items?.length} on record; responded ` +
        `${rt.responded ?? '?'}, response time average ${secs(rt.averageSeconds)}, p50 ` +
        `${secs(rt.p50Seconds)}, p90 ${secs(rt.p90Seconds)}`,
    );
    const ours = (
      (al.body.items ?? []) as {
        alarmId: string;
        grade: number;
        kind: string;
        status: string;
        recordedAt: string;
        responseMs: number | null;
        suspendedPermitNos: string[];
      }[]
    ).filter((a) => Date.parse(a.recordedAt) >= simStart);
    for (const a of ours) {
      item(
        `   ${short(a.alarmId)} grade ${a.grade} ${a.kind.padEnd(37)} ${a.status.padEnd(12)} response ${a.responseMs ?? '—'} ms` +
          `${a.suspendedPermitNos.length ? `  suspended ${a.suspendedPermitNos.join(', ')}` : ''}`,
      );
    }
  } else notPossible('regulator alarms with response time', errorOf(al));
  const kp = await as.regulator.get('/v1/regulator/kpis');
  if (kp.status === 200) {
    const k = kp.body;
    item(
      `KPIs ${String(k.window?.from).slice(0, 10)} → ${String(k.window?.to).slice(0, 10)}: ${k.alarms} ` +
        `alarms, ${k.alarmsResponded} responded, average response ` +
        `${typeof k.averageAlarmResponseSeconds === 'number' ? `${k.averageAlarmResponseSeconds.toFixed(1)} s` : 'n/a'}`,
    );
    item(
      `   training coverage ${k.trainingCoverage?.coveredWorkers}/${k.trainingCoverage?.activeWorkers} ` +
        `active workers; overdue reviews ${k.overdueReviews}; certificates expiring within 60 days ` +
        `${k.certificatesExpiringWithin60Days}`,
    );
    item(
      `   permits: ${((k.permitsByTypeAndState ?? []) as { operationType: string; status: string; count: number }[])
        .map((p) => `${p.operationType}/${p.status} ${p.count}`)
        .join(', ')}`,
    );
  } else notPossible('regulator KPIs', errorOf(kp));

  if ([tl, al, kp].some((r) => r.status === 501)) {
    item('   (the gateway reads these from PostgreSQL only; the indexer here mirrors into PGlite, which no other process');
    item('    can open. `LEDGER_STACK_DATABASE=postgres npm start` runs the indexer and the gateway on a private PostgreSQL.)');
  }

  section("7. auditor: every step verified on the regulator's own peer, and the evidence re-checked");
  type Verification = { verified?: boolean; endorsements?: { detail?: string }[]; policy?: { status?: string; detail?: string } };
  const endorsers = (v: Verification | undefined) => (v?.endorsements ?? []).map((e) => /\((\w+)\)$/.exec(e.detail ?? '')?.[1] ?? '?').join('+');
  const ap = await as.auditor.get(`/v1/audit/permits/${permitNo}`);
  if (ap.status === 200) {
    const steps = (ap.body.steps ?? []) as {
      action?: string;
      actorRole?: string;
      ledger?: { blockNumber?: number; transactionId?: string; validationCodeName?: string };
      verification?: Verification;
    }[];
    item(
      `permit ${permitNo}: ${steps.length} ledger steps, all valid: ${ap.body.allValid}, all verified ` +
        `(signatures, certificate chains, policy): ${ap.body.allVerified}; ` +
        `${ap.body.bundle?.signaturesVerified ?? '?'} signatures checked against block ` +
        `${ap.body.bundle?.checkpoint?.number ?? '?'}`,
    );
    for (const s of steps) {
      const l = s.ledger ?? {};
      item(
        `   ${String(s.action ?? '?').padEnd(12)} by ${String(s.actorRole ?? '?').padEnd(17)} block ` +
          `${String(l.blockNumber).padStart(4)}  tx ${short(String(l.transactionId))}  ` +
          `${l.validationCodeName ?? ''}  endorsed by ${endorsers(s.verification)}  ` +
          `${s.verification?.verified ? 'verified' : 'NOT verified'}`,
      );
    }
  } else notPossible('auditor permit verification', errorOf(ap));
  const alarmTx = step?.txId ?? alarmTxs[0];
  if (alarmTx) {
    const t = await as.auditor.get(`/v1/audit/transactions/${alarmTx}`);
    if (t.status === 200)
      item(
        `alarm transaction ${short(alarmTx)}: block ${t.body.blockNumber}, ${t.body.validationCodeName}, ` +
          `endorsed by ${endorsers(t.body.verification)}, policy: ${t.body.verification?.policy?.detail ?? '?'}`,
      );
    else notPossible('auditor transaction verification', errorOf(t));
  }
  if (evidenceTx) {
    const ec = await as.auditor.get(`/v1/audit/permits/${permitNo}/evidence-check`);
    if (ec.status === 200) {
      item(
        `evidence check: ok=${ec.body.ok}; ${(ec.body.checks ?? [])
          .map((c: { cid?: string; readable?: boolean; error?: string; sha256Matches?: boolean; cidMatches?: boolean }) =>
            c.readable === false
              ? `${c.cid} NOT READABLE from the regulator's side (${c.error ?? 'no reason given'})`
              : `${c.cid} sha256 ${c.sha256Matches ? 'matches' : 'DIFFERS'}, CID ${c.cidMatches ? 'matches' : 'DIFFERS'}`,
          )
          .join('; ')}`,
      );
      if (!ec.body.ok) missing.push('auditor evidence check: the evidence the ledger records did not check out (above)');
    } else notPossible('auditor evidence check', errorOf(ec));
  }

  section('8. back to work, then the permit is closed (leaves the zone clean for the next run)');
  try {
    await write(as.gasAnalyst, 'gas test 2 after the alarm: 0.05 %vol', `${base}/gas-tests`, {
      testId: `${permitNo}-gt-2`,
      sampleTakenAt: iso(Date.now() - 1_000),
      lelClass: 'lel_ge_4',
      flammableVolPct: 0.05,
    });
    await write(as.personInCharge, 'resume', `${base}/resume`, {});
    await write(as.personInCharge, 'complete (site restored)', `${base}/complete`, { siteRestored: true });
    const closed = await write(as.acceptor, 'close after acceptance', `${base}/close`, { accepted: true, note: 'Site clean, no hot spots' });
    item(`permit ${permitNo}: ${closed?.status}, ${closed?.history?.length} steps in its history`);
  } catch (e) {
    if (!(e instanceof StepFailed)) throw e;
    notPossible('finishing the permit', e.message);
  }

  section('summary');
  item(`permit ${permitNo}; last block written by the demo: ${lastBlock}; took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (missing.length) {
    item('not possible in this run:');
    for (const m of missing) item(`  - ${m}`);
  } else item('every step worked');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(`\ndemo stopped: ${err instanceof StepFailed ? err.message : String((err as Error).stack ?? err)}`);
    process.exit(1);
  },
);
