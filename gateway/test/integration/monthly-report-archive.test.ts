/**
 * The monthly report and the archive on the real network, read from the real indexer's mirror in
 * PostgreSQL: a site of its own gets two hot-work permits, gas tests (one failed), gate checks,
 * evidence, a flag and a device-signed alarm; the report's totals for that site must equal what
 * the test committed, in the regulator's time zone (Asia/Shanghai) and in UTC. The boundary case
 * uses an evidence file captured at 23:30 UTC on the last day of the previous month: the peers
 * refuse a proposal whose own timestamp is more than 2 minutes off their clocks, so only a
 * domain timestamp can lie at a chosen instant. The PDF is rendered (page 1 as PNG into the test
 * output folder) and read back as text; the CSV parsed. The archive is exported with the CLI,
 * imported into an empty directory and verified with networking disabled, then tampered.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { type ArchiveManifest, readTar, verifyArchive, writeTar } from '@compliance-ledger/verifier';
import { expect } from 'chai';
import { buildArchive } from '../../src/archive.js';
import { monthOf, monthWindow } from '../../src/report-calendar.js';
import type { RunningGateway } from '../../src/server.js';
import { regulatorBlockSource, regulatorHeaderHash } from '../support/blocks.js';
import { Client, chainHeight, createDatabase, dropDatabase, requireNetwork, startTestGateway, testOutputDir, token } from '../support/env.js';
import { type RunningIndexer, startIndexer } from '../support/indexer.js';
import { applyBody, type Cast, iso, makeCast, recordCameraAlarm, registerCast, uniqueId } from '../support/scenario.js';
import { spoolLeft as spoolOf } from '../support/spool.js';

type Json = Record<string, any>;

const previousMonth = (month: string) => {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
};

/** RFC 4180 as the report writes it: quoted cells may hold commas, quotes (doubled) and newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n') {
      rows.push([...row, cell]);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) rows.push([...row, cell]);
  return rows;
}

describe('monthly report (JSON, CSV, PDF) and archive: totals equal the ledger, month boundaries in Asia/Shanghai (real network)', function () {
  this.timeout(300_000);
  let gw: RunningGateway;
  let gwUtc: RunningGateway;
  let indexer: RunningIndexer;
  let db: string | undefined;
  let cast: Cast;
  let regulator: Client;
  let regulatorUtc: Client;
  let auditor: Client;
  const permitA = uniqueId('MR');
  const permitB = uniqueId('MR');
  let lastBlock: number;
  let windowFrom: string;
  let windowTo: string;
  /** The current month in Asia/Shanghai, and 23:30 UTC on the last day of the month before it. */
  let month: string;
  let boundary: string;
  const outDir = () => testOutputDir();

  before(async function () {
    requireNetwork(this);
    db = await createDatabase('gw_report');
    indexer = startIndexer(db);
    await indexer.waitForBlock(0);
    gw = await startTestGateway({ DATABASE_URL: db });
    gwUtc = await startTestGateway({ DATABASE_URL: db, GATEWAY_REPORT_TIME_ZONE: 'UTC' });
    cast = await makeCast(new Client(gw.url));
    await registerCast(cast);
    regulator = cast.clients.regulator;
    regulatorUtc = regulator.at(gwUtc.url);
    auditor = cast.clients.auditor;
    month = monthOf(Date.now(), 'Asia/Shanghai');
    const [y, m] = month.split('-').map(Number) as [number, number];
    boundary = iso(Date.UTC(y, m - 1, 1) - 30 * 60_000);
  });
  after(async () => {
    await gw?.close();
    await gwUtc?.close();
    await indexer?.stop();
    await dropDatabase(db);
  });

  const step = async (client: Client, p: string, body: unknown, status = 200) => {
    const r = await client.post(p, body);
    expect(r.status, `${p}: ${r.text}`).to.equal(status);
    return r.body;
  };
  const evidence = async (permitNo: string, capturedAt: string, seed: string) => {
    const form = new FormData();
    form.set('step', 'execution');
    form.set('capturedAt', capturedAt);
    form.set('file', new Blob([`photo ${seed} ${crypto.randomUUID()}`], { type: 'text/plain' }), `${seed}.txt`);
    const r = await cast.clients.analyst.request('POST', `/v1/permits/${permitNo}/evidence`, { body: form });
    expect(r.status, r.text).to.equal(201);
  };
  const report = async (client: Client, query: string) => {
    const r = await client.get(`/v1/regulator/reports/monthly?${query}`);
    expect(r.status, r.text).to.equal(200);
    return r.body as Json;
  };

  it(
    'commits two permits, two gas tests (one failed), three gate checks, two evidence files (one at the boundary), ' + 'a flag and an alarm on its own site',
    async () => {
      windowFrom = iso(Date.now() - 1000);
      const c = cast.clients;
      const a = `/v1/permits/${permitA}`;
      await step(c.applicant, '/v1/permits', applyBody(cast, permitA), 201);
      await step(c.pic, `${a}/risk-assessment`, {
        confirmations: [
          { measureId: 'm1', confirmedBy: cast.personInCharge },
          { measureId: 'm2', confirmedBy: cast.personInCharge },
        ],
      });
      const failedTest = { testId: `gtf-${cast.tag}`, sampleTakenAt: iso(Date.now() - 60_000), lelClass: 'lel_ge_4', flammableVolPct: 0.8 };
      expect((await step(c.analyst, `${a}/gas-tests`, failedTest, 201)).record.gasTests.at(-1).passed).to.equal(false);
      await step(
        c.analyst,
        `${a}/gas-tests`,
        { testId: `gtp-${cast.tag}`, sampleTakenAt: iso(Date.now() - 60_000), lelClass: 'lel_ge_4', flammableVolPct: 0.1 },
        201,
      );
      await step(c.approver, `${a}/sign-offs`, { stepId: 'approval', atSite: true, opinion: 'OK at site' }, 201);
      await step(c.approver, `${a}/issue`, {});
      await step(c.pic, `${a}/brief`, { briefedWorkerIds: [cast.welder, cast.helper] });
      for (const [i, w] of [cast.welder, cast.helper, cast.guardian].entries()) {
        const body = {
          gateCheckId: `gc-${cast.tag}-${i}`,
          workerId: w,
          qr: { passed: true },
          face: { scoreBp: 9300, deviceId: cast.deviceId },
          health: { passed: true },
        };
        await step(c.gate, `${a}/gate-checks`, body, 201);
      }
      await step(c.pic, `${a}/start`, {});
      await step(c.applicant, '/v1/permits', applyBody(cast, permitB), 201);
      await evidence(permitA, iso(Date.now() - 30_000), 'now');
      await evidence(permitA, boundary, 'boundary');
      await step(c.regulator, `/v1/permits/${permitB}/flags`, { flagId: `flag-${cast.tag}`, reason: 'crew listed on two permits at once?' }, 201);
      await recordCameraAlarm(cast, gw.services.config.GATEWAY_WALLET_DIR, `al-${cast.tag}`);
      lastBlock = (await chainHeight()) - 1;
      windowTo = iso(Date.now() + 1000);
      await indexer.waitForBlock(lastBlock);
      // What the ledger says now, not what the test expects: the permits' states as permit:Get reads them.
      expect((await c.pic.get(a)).body.status).to.equal('suspended');
      expect((await c.pic.get(`/v1/permits/${permitB}`)).body.status).to.equal('applied');
    },
  );

  it("the site's report in Asia/Shanghai equals what was committed, and names the block it was read from with the peer's hash", async () => {
    const r = await report(regulator, `month=${month}&site=${cast.siteId}`);
    expect(r.timeZone).to.equal('Asia/Shanghai');
    expect(r.window).to.deep.equal({ from: monthWindow(month, 'Asia/Shanghai').from, to: monthWindow(month, 'Asia/Shanghai').to });
    expect(r.scope).to.deep.equal({ org: null, site: cast.siteId });
    expect(r.permitsTotal).to.equal(2);
    expect(r.permits).to.deep.equal([
      { operationType: 'hot_work', level: '2', status: 'applied', count: 1 },
      { operationType: 'hot_work', level: '2', status: 'suspended', count: 1 },
    ]);
    expect(r.gasTests).to.deep.equal({ total: 2, failed: 1 });
    expect(r.gateChecks).to.deep.equal({ total: 3, failed: 0 });
    expect(r.alarmsTotal).to.equal(1);
    expect(r.alarms.map((x: Json) => [x.grade, x.count])).to.deep.equal([[1, 1]]);
    expect(r.evidenceRecords, 'the evidence captured now and the one at 23:30 UTC before the 1st').to.equal(2);
    expect(r.investigationFlags).to.equal(1);
    expect(r.sites).to.deep.equal([{ orgMsp: 'EnterpriseMSP', siteId: cast.siteId, permitsApplied: 2, alarms: 1 }]);
    expect(r.daily.reduce((n: number, d: Json) => n + d.permitsApplied, 0)).to.equal(2);
    expect(r.daily.reduce((n: number, d: Json) => n + d.alarms, 0)).to.equal(1);
    const today = `${month}-${new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Shanghai', day: '2-digit' }).format(new Date())}`;
    expect(r.daily.find((d: Json) => d.date === today).permitsApplied, today).to.equal(2);
    expect(r.kpis.alarms).to.equal(1);
    expect(r.kpis.permitsByTypeAndState).to.deep.equal([
      { operationType: 'hot_work', status: 'applied', count: 1 },
      { operationType: 'hot_work', status: 'suspended', count: 1 },
    ]);
    expect(r.builtFrom.blockNumber).to.be.at.least(lastBlock);
    expect(r.builtFrom.blockHeight).to.equal(r.builtFrom.blockNumber + 1);
    expect(r.builtFrom.headerHash).to.equal(await regulatorHeaderHash(r.builtFrom.blockNumber));
  });

  it('per enterprise: the applicant org sees the same totals, another org none', async () => {
    const mine = await report(regulator, `month=${month}&site=${cast.siteId}&org=EnterpriseMSP`);
    expect([mine.permitsTotal, mine.gasTests.total, mine.gateChecks.total, mine.alarmsTotal, mine.evidenceRecords, mine.investigationFlags]).to.deep.equal([
      2, 2, 3, 1, 2, 1,
    ]);
    const other = await report(regulator, `month=${month}&site=${cast.siteId}&org=RegulatorMSP`);
    expect([
      other.permitsTotal,
      other.gasTests.total,
      other.gateChecks.total,
      other.alarmsTotal,
      other.evidenceRecords,
      other.investigationFlags,
    ]).to.deep.equal([0, 0, 0, 0, 0, 0]);
    expect(other.sites).to.deep.equal([]);
  });

  it('23:30 UTC on the last day of the previous month counts in this month in Asia/Shanghai, and in the previous month in UTC', async () => {
    expect(monthOf(Date.parse(boundary), 'Asia/Shanghai')).to.equal(month);
    const before = previousMonth(month);
    expect((await report(regulator, `month=${before}&site=${cast.siteId}`)).evidenceRecords).to.equal(0);
    const utcBefore = await report(regulatorUtc, `month=${before}&site=${cast.siteId}`);
    expect(utcBefore.timeZone).to.equal('UTC');
    expect(utcBefore.window.to).to.equal(`${month}-01T00:00:00Z`);
    expect(utcBefore.evidenceRecords).to.equal(1);
    if (monthOf(Date.now(), 'UTC') === month) expect((await report(regulatorUtc, `month=${month}&site=${cast.siteId}`)).evidenceRecords).to.equal(1);
  });

  it('CSV: the columns section,key,value on every row, the same figures as the JSON', async () => {
    const json = await report(regulator, `month=${month}&site=${cast.siteId}`);
    const r = await regulator.get(`/v1/regulator/reports/monthly?month=${month}&site=${cast.siteId}&format=csv`);
    expect(r.status, r.text).to.equal(200);
    expect(r.headers.get('content-type')).to.match(/^text\/csv/);
    const rows = parseCsv(r.text);
    expect(rows[0]).to.deep.equal(['section', 'key', 'value']);
    for (const row of rows) expect(row, row.join('|')).to.have.length(3);
    const value = (section: string, key: string) => rows.find((x) => x[0] === section && x[1] === key)?.[2];
    expect(value('report', 'month')).to.equal(month);
    expect(value('report', 'time_zone')).to.equal('Asia/Shanghai');
    expect(value('report', 'site')).to.equal(cast.siteId);
    expect(value('report', 'permits_total')).to.equal('2');
    expect(value('permits', 'hot_work/2/suspended')).to.equal('1');
    expect(value('gas_tests', 'failed')).to.equal('1');
    expect(value('gate_checks', 'total')).to.equal('3');
    expect(value('alarms', 'grade_1_count')).to.equal('1');
    expect(value('evidence', 'records')).to.equal('2');
    expect(value('flags', 'investigation_flags')).to.equal('1');
    expect(value('site_permits_applied', `EnterpriseMSP/${cast.siteId}`)).to.equal('2');
    expect(Number(value('report', 'built_from_block_number'))).to.be.at.least(json.builtFrom.blockNumber);
    expect(rows.filter((x) => x[0] === 'daily_permits_applied')).to.have.length(monthWindow(month, 'Asia/Shanghai').days.length);
  });

  it('PDF: renders (page 1 saved as PNG), and states the block height and hash it was built from', async () => {
    const r = await regulator.download(`/v1/regulator/reports/monthly?month=${month}&site=${cast.siteId}&format=pdf`);
    expect(r.status, r.text).to.equal(200);
    expect(r.headers.get('content-type')).to.equal('application/pdf');
    expect(new TextDecoder().decode(r.bytes.subarray(0, 5))).to.equal('%PDF-');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-pdf-'));
    const pdf = path.join(dir, 'report.pdf');
    fs.writeFileSync(pdf, r.bytes);
    const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
    const json = await report(regulator, `month=${month}&site=${cast.siteId}`);
    // The JSON was read after the PDF: the mirror may have moved on, never back.
    const stated = /Block (\d+) \(block height (\d+)\), header hash:\s+([0-9a-f]{64})/.exec(text);
    expect(stated, text).to.not.equal(null);
    const [, block, height, hash] = stated!;
    expect(Number(block)).to.be.at.least(lastBlock).and.at.most(json.builtFrom.blockNumber);
    expect(Number(height)).to.equal(Number(block) + 1);
    expect(hash).to.equal(await regulatorHeaderHash(Number(block)));
    expect(text).to.contain(`Monthly safety report ${month}`).and.to.contain('Asia/Shanghai').and.to.contain(cast.siteId);
    expect(text)
      .to.match(/Permits applied\s+2/)
      .and.to.match(/Gas tests \(failed\)\s+2 \(1\)/);
    expect(text).to.contain('Permits applied by operation type').and.to.contain('Alarms by grade');
    const png = path.join(outDir(), `monthly-report-${month}-${cast.siteId}-page1`);
    execFileSync('pdftoppm', ['-png', '-r', '72', '-f', '1', '-l', '1', '-singlefile', pdf, png]);
    const bytes = fs.readFileSync(`${png}.png`);
    expect([...bytes.subarray(0, 8)]).to.deep.equal([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // A4 is 595.28 x 841.89 points: at 72 dpi, pdftoppm's pixels round up.
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).to.deep.equal([596, 842]);
    // The charts' bars are drawn in the report's blue: a page with them has pixels of it.
    const ppm = execFileSync('pdftoppm', ['-r', '36', '-f', '1', '-l', '1', '-singlefile', pdf]);
    const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.subarray(0, 20).toString('latin1'))!;
    const pixels = ppm.subarray(header[0].length);
    let blue = 0;
    for (let i = 0; i + 2 < pixels.length; i += 3)
      if (Math.abs(pixels[i]! - 0x2f) < 24 && Math.abs(pixels[i + 1]! - 0x6f) < 24 && Math.abs(pixels[i + 2]! - 0xab) < 24) blue++;
    expect(blue, 'pixels of the bar colour on page 1').to.be.greaterThan(50);
  });

  it('refuses a bad month, format, org or site with 400 VALIDATION_FAILED naming the parameter (year 0000 was a 500)', async () => {
    for (const [query, field] of [
      ['month=0000-01&format=json', 'query.month'],
      ['month=0000-01&format=csv', 'query.month'],
      ['month=0000-01&format=pdf', 'query.month'],
      ['month=2026-13', 'query.month'],
      ['month=2026-1', 'query.month'],
      ['month=2026-01&format=xml', 'query.format'],
      ['month=2026-01&site=not%20a%20site', 'query.site'],
      ['month=2026-01&org=', 'query.org'],
      ['format=pdf', 'query.month'],
    ] as const) {
      const r = await regulator.get(`/v1/regulator/reports/monthly?${query}`);
      expect(r.status, `${query}: ${r.text}`).to.equal(400);
      expect(r.body.error.code).to.equal('VALIDATION_FAILED');
      expect(
        r.body.error.details.fields.map((f: Json) => f.path),
        query,
      ).to.include(field);
    }
    expect((await cast.clients.applicant.get(`/v1/regulator/reports/monthly?month=${month}`)).status).to.equal(403);
  });

  let archivePath: string;
  let manifest: ArchiveManifest;
  let trusted: string;

  it('exports the archive of the test window with the CLI: the range bundle and both permits, one checkpoint', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-export-'));
    const tokenFile = path.join(dir, 'auditor.jwt');
    fs.writeFileSync(tokenFile, await token({ sub: `gw-auditor-${cast.tag}`, org: 'regulator', role: 'auditor' }));
    archivePath = path.join(dir, 'archive.tar');
    // Asynchronously: the gateway it calls runs in this process.
    const { stdout: out } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'tools/ledger-archive.ts',
        'export',
        '--gateway',
        gw.url,
        '--token-file',
        tokenFile,
        '--from',
        windowFrom,
        '--to',
        windowTo,
        '--out',
        archivePath,
      ],
      { encoding: 'utf8' },
    );
    expect(out).to.match(/^wrote .*archive\.tar \(\d+ bytes\); checkpoint block \d+ hash [0-9a-f]{64}$/m);
    const files = readTar(new Uint8Array(fs.readFileSync(archivePath)));
    manifest = JSON.parse(new TextDecoder().decode(files.get('manifest.json')!)) as ArchiveManifest;
    expect(manifest.format).to.equal('compliance-ledger-archive');
    expect(manifest.window).to.deep.equal({ from: new Date(windowFrom).toISOString(), to: new Date(windowTo).toISOString() });
    expect(manifest.version).to.equal(2);
    expect(manifest.files.map((f) => f.path)).to.include.members(['bundles/range.json', `bundles/permits/${permitA}.json`, `bundles/permits/${permitB}.json`]);
    // Version 2 holds each block once, however many bundles carry it: the archive is bounded by the
    // blocks it holds, not by bundles × chain height.
    const bundles = manifest.files.filter((f) => f.kind === 'range' || f.kind === 'permit');
    const carried = bundles.map((f) => JSON.parse(new TextDecoder().decode(files.get(f.path)!)).blocks as number[]);
    const union = [...new Set(carried.flat())].sort((a, b) => a - b);
    const blockFiles = [...files.keys()].filter((p) => p.startsWith('blocks/'));
    expect(blockFiles.sort()).to.deep.equal(union.map((n) => `blocks/${n}.block`).sort());
    expect(
      carried.every((b) => b.includes(0)),
      'every bundle uses the genesis (config) block',
    ).to.equal(true);
    expect([...files.keys()].filter((p) => p === 'blocks/0.block')).to.have.length(1);
    expect([...files.keys()].filter((p) => p.startsWith('bundles/') && !p.endsWith('.json'))).to.deep.equal([]);
    expect([...files.keys()].filter((p) => p.endsWith('headers.json'))).to.deep.equal(['headers.json']);
    const headers = JSON.parse(new TextDecoder().decode(files.get('headers.json')!)) as { number: number }[];
    expect(headers.map((h) => h.number)).to.deep.equal(Array.from({ length: manifest.checkpoint.number - union[0]! + 1 }, (_, i) => union[0]! + i));
    expect(manifest.checkpoint.number).to.be.at.least(lastBlock);
    expect(manifest.blockRange.last).to.be.at.most(lastBlock);
    expect(manifest.transactions).to.be.greaterThan(15);
    trusted = await regulatorHeaderHash(manifest.checkpoint.number);
    expect(manifest.checkpoint.headerHash).to.equal(trusted);
  });

  it('imports into an empty directory on a fresh copy and verifies with networking disabled, no profile and no servers', function () {
    const probe = spawnSync('unshare', ['-rn', 'true']);
    if (probe.status !== 0) this.skip();
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-fresh-'));
    fs.copyFileSync(archivePath, path.join(fresh, 'archive.tar'));
    const cli = path.resolve('../verifier/bin/ledger-verify.mjs');
    const offline = (args: string[]) =>
      spawnSync('unshare', ['-rn', process.execPath, cli, ...args], { cwd: fresh, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    const imported = offline(['archive', 'import', 'archive.tar', 'imported']);
    expect(imported.status, imported.stderr).to.equal(0);
    const evidenceDir = manifest.files.some((f) => f.kind === 'evidence') ? ['evidence'] : [];
    expect(fs.readdirSync(path.join(fresh, 'imported')).sort()).to.deep.equal(['blocks', 'bundles', ...evidenceDir, 'headers.json', 'manifest.json']);
    const ok = offline(['archive', 'verify', 'imported', '--trust', trusted]);
    expect(ok.status, ok.stdout + ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/^VERIFIED: \d+ passed, 0 failed/m);
    expect(ok.stdout).to.contain(`OK   bundles/permits/${permitA}.json`).and.to.contain('OK   bundles/range.json');
    // The tar itself verifies the same; without a pinned hash it says which hash it relied on.
    const unpinned = offline(['archive', 'verify', 'archive.tar']);
    expect(unpinned.status, unpinned.stdout).to.equal(0);
    expect(unpinned.stdout).to.contain(`SKIP archive.trust: no hash pinned`).and.to.contain(trusted);
    const wrong = offline(['archive', 'verify', 'imported', '--trust', 'cd'.repeat(32)]);
    expect(wrong.status).to.equal(1);
    expect(wrong.stdout).to.match(/FAIL bundles\/range\.json:chain\.trust/);
    const notEmpty = offline(['archive', 'import', 'archive.tar', 'imported']);
    expect(notEmpty.status).to.equal(2);
    expect(notEmpty.stderr).to.contain('not empty');

    // One byte of a permit bundle changed on disk: the file is named, by hash and by its own checks.
    const victim = path.join(fresh, 'imported', 'bundles', 'permits', `${permitA}.json`);
    const bytes = fs.readFileSync(victim);
    const at = bytes.indexOf('"permitNo"');
    bytes[at + 1] = 'P'.charCodeAt(0);
    fs.writeFileSync(victim, bytes);
    const tampered = offline(['archive', 'verify', 'imported', '--trust', trusted]);
    expect(tampered.status).to.equal(1);
    expect(tampered.stdout).to.contain(`FAIL file.bundles/permits/${permitA}.json: bundles/permits/${permitA}.json changed: sha256`);
    expect(tampered.stdout).to.contain(`BAD  bundles/permits/${permitA}.json`).and.to.contain('OK   bundles/range.json');

    // One byte of the genesis block, which every bundle uses, changed on disk: the block is named,
    // and every bundle fails and names it.
    const genesis = path.join(fresh, 'imported', 'blocks', '0.block');
    const block = fs.readFileSync(genesis);
    block[block.length - 1] = block[block.length - 1]! ^ 1;
    fs.writeFileSync(genesis, block);
    const shared = offline(['archive', 'verify', 'imported', '--trust', trusted]);
    expect(shared.status).to.equal(1);
    expect(shared.stdout).to.contain('FAIL file.blocks/0.block: blocks/0.block changed: sha256');
    expect(shared.stdout).to.contain('BAD  blocks/0.block').and.to.not.contain('OK   blocks/');
    for (const f of manifest.files.filter((x) => x.kind === 'range' || x.kind === 'permit')) {
      expect(shared.stdout).to.contain(`BAD  ${f.path}`);
      expect(shared.stdout).to.match(new RegExp(`FAIL file\\.${f.path.replace(/[.]/g, '\\.')}\\.shared: .*it uses blocks/0\\.block`));
    }
  });

  it('a tamper that also rewrites the manifest hash is still named: the bundle inside fails its own checks', async () => {
    const files = readTar(new Uint8Array(fs.readFileSync(archivePath)));
    const target = `bundles/permits/${permitB}.json`;
    const innerManifest = JSON.parse(new TextDecoder().decode(files.get(target)!));
    const flag = innerManifest.records.find((r: Json) => r.value.docType === 'flag' || r.value.flagId);
    expect(flag, 'the flag record is in the permit bundle').to.not.equal(undefined);
    flag.value.reason = 'nothing to see here';
    const forged = new TextEncoder().encode(JSON.stringify(innerManifest));
    files.set(target, forged);
    const outer = JSON.parse(new TextDecoder().decode(files.get('manifest.json')!)) as ArchiveManifest;
    const entry = outer.files.find((f) => f.path === target)!;
    entry.sha256 = crypto.createHash('sha256').update(forged).digest('hex');
    entry.sizeBytes = forged.length;
    files.set('manifest.json', new TextEncoder().encode(JSON.stringify(outer)));
    const report = await verifyArchive(writeTar(files), { blockHash: trusted });
    expect(report.ok).to.equal(false);
    const failures = report.checks.filter((c) => c.status === 'fail');
    expect(failures.map((c) => c.id)).to.have.length(1);
    expect(failures[0]!.id).to.match(new RegExp(`^bundles/permits/${permitB}\\.json:record\\.`));
    expect(failures[0]!.detail).to.contain(target);
    expect(report.files.find((f) => f.path === target)!.ok).to.equal(false);
    // An extra file slipped in is named too.
    files.set('bundles/extra.tar', new Uint8Array(10));
    const extra = await verifyArchive(writeTar(files), { blockHash: trusted });
    expect(extra.checks.find((c) => c.id === 'archive.unlisted')!.detail).to.contain('bundles/extra.tar');
  });

  const spoolLeft = () => spoolOf(gw.services.config.GATEWAY_ARCHIVE_SPOOL_DIR);

  it('streams the archive with its length announced; the spooled evidence is gone after the download and after an abandoned one', async () => {
    expect(
      manifest.files.filter((f) => f.kind === 'evidence'),
      'the window holds both evidence files',
    ).to.have.length(2);
    const window = `/v1/audit/archive?from=${encodeURIComponent(windowFrom)}&to=${encodeURIComponent(windowTo)}`;
    const whole = await auditor.download(window);
    expect(whole.status, whole.text).to.equal(200);
    expect(Number(whole.headers.get('content-length'))).to.equal(whole.bytes.length);
    const files = readTar(whole.bytes);
    for (const f of manifest.files.filter((e) => e.kind === 'evidence'))
      expect(crypto.createHash('sha256').update(files.get(f.path)!).digest('hex'), f.path).to.equal(f.sha256);
    expect(await spoolLeft()).to.deep.equal([]);

    // A client that goes away after the first bytes: the gateway stops and removes what it spooled.
    const abort = new AbortController();
    const res = await fetch(gw.url + window, { headers: auditor.auth, signal: abort.signal });
    expect(res.status).to.equal(200);
    const reader = res.body!.getReader();
    expect((await reader.read()).done).to.equal(false);
    abort.abort();
    await reader.cancel().catch(() => undefined);
    expect(await spoolLeft()).to.deep.equal([]);
  });

  it('removes the spooled evidence of an archive abandoned in the middle of a file, and leaves out a file the store fails to give', async () => {
    const peer = regulatorBlockSource();
    const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-spool-test-'));
    try {
      const height = await peer.height();
      const cids = manifest.files.filter((f) => f.kind === 'evidence').map((f) => f.path.slice('evidence/'.length));
      const MiB = 1024 * 1024;
      // One file of 64 MiB, made as it is read; the other fails after its first chunk.
      async function* content(cid: string): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < 64; i++) {
          if (cid !== cids[0] && i === 1) throw new Error('the content store went away');
          yield new Uint8Array(MiB).fill(i);
        }
      }
      const built = await buildArchive({
        source: { height: async () => height, block: peer.block },
        channel: peer.channel,
        chaincode: peer.chaincode,
        subject: { kind: 'range' },
        window: { from: windowFrom, to: windowTo },
        spoolDir,
        evidence: content,
      });
      const listed = built.manifest.files.filter((f) => f.kind === 'evidence');
      expect(listed.map((f) => [f.path, f.sizeBytes])).to.deep.equal([[`evidence/${cids[0]}`, 64 * MiB]]);
      const [spool] = fs.readdirSync(spoolDir);
      expect(fs.readdirSync(path.join(spoolDir, spool!)), 'the spool holds the whole file, and no part of the failed one').to.have.length(1);
      let read = 0;
      for await (const chunk of built.chunks()) {
        read += chunk.length;
        if (read > built.sizeBytes - 32 * MiB) break; // the reader goes away in the middle of the clip
      }
      expect(read).to.be.lessThan(built.sizeBytes);
      expect(fs.readdirSync(spoolDir)).to.deep.equal([]);
    } finally {
      peer.close();
      fs.rmSync(spoolDir, { recursive: true, force: true });
    }
  });

  it("exports the month (in Asia/Shanghai) through the API: the window is the regulator's month; bad requests are 400, an empty window 404", async function () {
    // The month holds every transaction the suites before this one committed (thousands of blocks
    // in npm test): building and verifying it offline takes minutes on a loaded machine.
    this.timeout(900_000);
    const r = await auditor.download(`/v1/audit/archive?month=${month}`);
    expect(r.status, r.text).to.equal(200);
    expect(r.headers.get('content-type')).to.equal('application/x-tar');
    expect(Number(r.headers.get('content-length'))).to.equal(r.bytes.length);
    expect(await spoolLeft()).to.deep.equal([]);
    const m = JSON.parse(new TextDecoder().decode(readTar(r.bytes).get('manifest.json')!)) as ArchiveManifest;
    expect(m.subject).to.deep.equal({ kind: 'month', month, timeZone: 'Asia/Shanghai' });
    const w = monthWindow(month, 'Asia/Shanghai');
    expect([Date.parse(m.window.from), Date.parse(m.window.to)]).to.deep.equal([Date.parse(w.from), Date.parse(w.to)]);
    expect(m.files.map((f) => f.path)).to.include(`bundles/permits/${permitA}.json`);
    // Each block once: the month's bundles all carry the genesis and config blocks, the archive holds
    // them once as blocks/<n>.block (the reader refuses a tar that holds a path twice) and the
    // bundles are their manifests only.
    const tar = readTar(r.bytes);
    const bundleFiles = m.files.filter((f) => f.kind === 'range' || f.kind === 'permit');
    const carried = new Set(bundleFiles.flatMap((f) => JSON.parse(new TextDecoder().decode(tar.get(f.path)!)).blocks as number[]));
    expect([...tar.keys()].filter((p) => p.startsWith('blocks/')).sort()).to.deep.equal([...carried].map((n) => `blocks/${n}.block`).sort());
    expect(bundleFiles.map((f) => f.path).every((p) => p.endsWith('.json'))).to.equal(true);
    const report = await verifyArchive(r.bytes, { blockHash: await regulatorHeaderHash(m.checkpoint.number) });
    expect(report.checks.filter((c) => c.status === 'fail')).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    for (const [query, field] of [
      ['', 'query.from'],
      ['month=0000-01', 'query.month'],
      [`month=${month}&from=${windowFrom}`, 'query.month'],
      [`from=${windowFrom}`, 'query.to'],
      [`from=${windowTo}&to=${windowFrom}`, 'query.from'],
    ] as const) {
      const bad = await auditor.get(`/v1/audit/archive?${query}`);
      expect(bad.status, `${query}: ${bad.text}`).to.equal(400);
      expect(
        bad.body.error.details.fields.map((f: Json) => f.path),
        query,
      ).to.include(field);
    }
    const empty = await auditor.get('/v1/audit/archive?month=1971-01');
    expect(empty.status, empty.text).to.equal(404);
    expect(empty.body.error.code).to.equal('NOT_FOUND');
    expect((await cast.clients.applicant.get(`/v1/audit/archive?month=${month}`)).status).to.equal(403);
  });
});
