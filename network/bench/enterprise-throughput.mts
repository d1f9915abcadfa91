/**
 * Whether throughput holds with several enterprises transacting at once (issue 13). For each stage
 * of BENCH_STAGES (default 1,3,5 enterprises, the first included) the network has exactly that many
 * enterprises (more are onboarded with one scripts/org-add.sh command between stages), and every
 * one of them submits BENCH_PERMITS_PER_ORG permit:Apply transactions, BENCH_CONCURRENCY_PER_ORG at
 * a time, all enterprises at once, each as an applicant enrolled at its own CA, through its own
 * peer's Fabric Gateway, endorsed by its own peer and the regulator's. Reports total and per-org
 * throughput, p50/p99 from submit to commit, and per org the CPU (user + system over the run, % of
 * one core) and resident memory of its peer, CA and chaincode server, with the orderers', the
 * regulator's and this client's, from /proc. Offboards what it added at the end. Not part of
 * `npm test`; the figures go to bench/RESULTS.md.
 *
 *   LEDGER_RUN_DIR=… LEDGER_PORT_OFFSET=… LEDGER_CONNECTION_PROFILE=… npx tsx network/bench/enterprise-throughput.mts
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ConnectionProfile, connectionProfileSchema, defaultLedgerRunDir, type PermitRecord } from '@compliance-ledger/schema';
import { Cast, confinedSpaceApplication, guardianCertificate, type Party, randomIdNumber, workerIdOf } from '../../chaincode/test/support/ledger.js';
import { loadConnectionProfile, uniqueId } from '../../chaincode/test/support/network.js';

const STAGES = (process.env.BENCH_STAGES ?? '1,3,5').split(',').map(Number);
const PERMITS_PER_ORG = Number(process.env.BENCH_PERMITS_PER_ORG ?? 30);
const CONCURRENCY_PER_ORG = Number(process.env.BENCH_CONCURRENCY_PER_ORG ?? 4);
const WARMUP_PER_ORG = 2;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const runDir = defaultLedgerRunDir(process.env);
const logFile = path.join(runDir, 'logs', 'bench-enterprise-throughput.log');
const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

function script(name: string, ...args: string[]): void {
  const log = fs.openSync(logFile, 'a');
  try {
    execFileSync('bash', [path.join(repoRoot, 'scripts', name), ...args], { stdio: ['ignore', log, log] });
  } catch {
    throw new Error(`${name} ${args.join(' ')} failed (log: ${logFile})`);
  } finally {
    fs.closeSync(log);
  }
}

const pidOf = (file: string): number | undefined => {
  try {
    return Number(fs.readFileSync(path.join(runDir, 'pids', `${file}.pid`), 'utf8').trim());
  } catch {
    return undefined;
  }
};
/** utime + stime in clock ticks; the command name may hold spaces, so fields count from its `)`. */
function cpuTicks(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}
function rssMiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

/** One enterprise: its applicant and a registered crew, reused by every stage. */
interface Enterprise {
  name: string;
  msp: string;
  cast: Cast;
  applicant: Party;
  crew: { worker: string; guardian: string; personInCharge: string; confirmer: string };
  siteId: string;
}

async function enterprise(name: string, profile: ConnectionProfile): Promise<Enterprise> {
  const cast = new Cast(profile, { enterprise: name });
  const [officer, applicant] = await Promise.all([
    cast.enrol(`tp-${name}-officer`, 'enterprise', 'credential_officer'),
    cast.enrol(`tp-${name}-applicant`, 'enterprise', 'applicant'),
  ]);
  const crew = {
    worker: workerIdOf(randomIdNumber()),
    guardian: workerIdOf(randomIdNumber()),
    personInCharge: workerIdOf(randomIdNumber()),
    confirmer: workerIdOf(randomIdNumber()),
  };
  await Promise.all(Object.values(crew).map((workerId) => officer.submit('credential:RegisterWorker', { workerId })));
  await officer.submit('credential:AddCertificate', guardianCertificate(uniqueId('cert-guardian'), crew.guardian));
  return { name, msp: profile.organizations.enterprise.mspId, cast, applicant, crew, siteId: uniqueId(`site-tp-${name}`) };
}

async function apply(x: Enterprise, i: number): Promise<void> {
  const { value } = await x.applicant.submit<PermitRecord>(
    'permit:Apply',
    confinedSpaceApplication(
      { permitNo: uniqueId(`TP-${x.name}-${i}`), siteId: x.siteId, zoneId: `tank-${i}`, workUnit: 'unit-storage', ...x.crew },
      { description: 'Inspect the tank', hazard: 'Oxygen deficiency', measure: 'Forced ventilation before entry' },
    ),
  );
  if (value.status !== 'applied') throw new Error(`permit ${value.permitNo} is ${value.status}, not applied`);
}

interface OrgRun {
  latencies: number[];
  failures: string[];
  lastCommitMs: number;
}

/** Every enterprise at once, each with its own pool of CONCURRENCY_PER_ORG submitters. */
async function load(enterprises: Enterprise[], perOrg: number): Promise<Map<string, OrgRun>> {
  const t0 = performance.now();
  const runs = new Map<string, OrgRun>();
  await Promise.all(
    enterprises.map(async (x) => {
      const r: OrgRun = { latencies: [], failures: [], lastCommitMs: 0 };
      runs.set(x.name, r);
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY_PER_ORG }, async () => {
          while (next < perOrg) {
            const i = next++;
            const t = performance.now();
            try {
              await apply(x, i);
              r.latencies.push(performance.now() - t);
              r.lastCommitMs = performance.now() - t0;
            } catch (err) {
              r.failures.push((err as Error).message.slice(0, 200));
            }
          }
        }),
      );
    }),
  );
  return runs;
}

/** The processes of each org, of the orderers and of this client, by pid file. */
function processGroups(orgNames: string[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  const of = (...files: string[]) => files.map(pidOf).filter((p): p is number => p !== undefined);
  for (const org of [...orgNames, 'regulator']) groups.set(org, of(`peer-${org}`, `ca-${org}`, `chaincode-${org}`));
  groups.set('orderers', of('orderer0', 'orderer1', 'orderer2', 'orderer3'));
  groups.set('this client', [process.pid]);
  return groups;
}
const cpuOf = (pids: number[]) => pids.reduce((n, p) => n + cpuTicks(p), 0);
/** The whole machine's busy and total clock ticks (/proc/stat), to tell how much CPU others took. */
function machineTicks(): { busy: number; total: number } {
  const n = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: total - n[3]! - n[4]!, total };
}
const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const mainProfile = loadConnectionProfile();
const tag = Math.random().toString(36).slice(2, 6);
const added: string[] = [];
const enterprises: Enterprise[] = [];
const say = (line: string) => console.log(line);

try {
  say(`## permit:Apply with several enterprises at once: ${PERMITS_PER_ORG} per enterprise, ${CONCURRENCY_PER_ORG} in flight per enterprise`);
  say('');
  say(
    '| enterprises | load avg before → after | machine CPU busy; this network and client (% of one core) | total permits/s | ' +
      'per enterprise permits/s (min–max) | p50 ms | p99 ms | failed |',
  );
  say('|---|---|---|---|---|---|---|---|');
  const detail: string[] = [];
  for (const stage of STAGES) {
    const want = stage - 1;
    const fresh: string[] = [];
    while (added.length + fresh.length < want) fresh.push(`tp${tag}x${added.length + fresh.length + 1}`);
    if (fresh.length > 0) {
      const t = performance.now();
      script('org-add.sh', ...fresh);
      console.error(`onboarded ${fresh.join(' ')} in ${((performance.now() - t) / 1000).toFixed(0)} s`);
      added.push(...fresh);
    }
    if (enterprises.length === 0) enterprises.push(await enterprise('enterprise', mainProfile));
    const profiles = fresh.map((name) =>
      connectionProfileSchema.parse(JSON.parse(fs.readFileSync(path.join(runDir, 'orgs', name, 'connection-profile.json'), 'utf8'))),
    );
    enterprises.push(...(await Promise.all(fresh.map((name, i) => enterprise(name, profiles[i]!)))));
    const now = enterprises.slice(0, stage);
    await load(now, WARMUP_PER_ORG);

    const groups = processGroups(now.map((x) => x.name));
    const before = new Map([...groups].map(([g, pids]) => [g, cpuOf(pids)]));
    const machineBefore = machineTicks();
    const loadBefore = loadavg();
    const t0 = performance.now();
    const runs = await load(now, PERMITS_PER_ORG);
    const seconds = (performance.now() - t0) / 1000;
    const loadAfter = loadavg();
    const machineAfter = machineTicks();
    const ticks = new Map([...groups].map(([g, pids]) => [g, cpuOf(pids) - before.get(g)!]));
    const cpu = new Map([...ticks].map(([g, t]) => [g, (100 * t) / ticksPerSecond / seconds]));
    const machineBusy = (100 * os.cpus().length * (machineAfter.busy - machineBefore.busy)) / (machineAfter.total - machineBefore.total);
    const oursPct = (100 * [...ticks.values()].reduce((n, t) => n + t, 0)) / ticksPerSecond / seconds;
    const msPerPermit = (g: string, permits: number) => ((1000 * ticks.get(g)!) / ticksPerSecond / permits).toFixed(0);
    const rss = new Map([...groups].map(([g, pids]) => [g, pids.reduce((n, p) => n + rssMiB(p), 0)]));

    const all = [...runs.values()].flatMap((r) => r.latencies);
    const perOrg = now.map((x) => runs.get(x.name)!.latencies.length / (runs.get(x.name)!.lastCommitMs / 1000 || Number.NaN));
    const failed = [...runs.values()].reduce((n, r) => n + r.failures.length, 0);
    const spread = `${Math.min(...perOrg).toFixed(2)}–${Math.max(...perOrg).toFixed(2)}`;
    say(
      `| ${stage} | ${loadBefore} → ${loadAfter} | ${machineBusy.toFixed(0)} %; ${oursPct.toFixed(0)} % | ${(all.length / seconds).toFixed(2)} | ${spread} | ` +
        `${pct(all, 50).toFixed(0)} | ${pct(all, 99).toFixed(0)} | ${failed} |`,
    );
    detail.push('', `### ${stage} enterprise${stage > 1 ? 's' : ''} (${seconds.toFixed(1)} s)`, '');
    detail.push(
      '| processes | permits committed | permits/s | p50 ms | p99 ms | CPU, % of one core | CPU ms per permit | RSS MiB |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const [i, x] of now.entries()) {
      const r = runs.get(x.name)!;
      detail.push(
        `| ${x.msp}: peer + CA + chaincode server | ${r.latencies.length} | ${perOrg[i]!.toFixed(2)} | ${pct(r.latencies, 50).toFixed(0)} | ` +
          `${pct(r.latencies, 99).toFixed(0)} | ${cpu.get(x.name)!.toFixed(0)} | ${msPerPermit(x.name, r.latencies.length)} | ${rss.get(x.name)!.toFixed(0)} |`,
      );
      for (const f of new Set(r.failures)) detail.push(`|   failed: ${f.replaceAll('|', '/')} | | | | | | | |`);
    }
    for (const g of ['regulator', 'orderers', 'this client']) {
      const label = g === 'regulator' ? 'RegulatorMSP: peer + CA + chaincode server' : g;
      detail.push(`| ${label} | (all ${all.length}) | | | | ${cpu.get(g)!.toFixed(0)} | ${msPerPermit(g, all.length)} | ${rss.get(g)!.toFixed(0)} |`);
    }
  }
  for (const line of detail) say(line);
} finally {
  for (const x of enterprises) x.cast.close();
  if (added.length > 0) script('org-remove.sh', ...added);
}
