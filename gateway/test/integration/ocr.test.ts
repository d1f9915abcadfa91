/**
 * Certificate OCR over HTTP on images rendered in the test (ImageMagick + Noto CJK), Chinese and
 * English, with the field accuracy reported. The OCR endpoint writes nothing; the confirmed fields
 * then go to the ledger through POST /v1/certificates.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import type { RunningGateway } from '../../src/server.js';
import { Client, chainHeight, createDatabase, dropDatabase, requireNetwork, scratchDir, startTestGateway, token, workerId } from '../support/env.js';

const CONVERT = '/usr/bin/convert';
const FONT = ['/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc', '/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc'].find((f) =>
  fs.existsSync(f),
);

interface Truth {
  certificateNo: string;
  name: string;
  category: string;
  categoryId: string;
  item: string;
  validFrom: string;
  validUntil: string;
}

const PEOPLE_CN: Truth[] = [
  {
    certificateNo: 'T110101199001011234',
    name: '张三',
    category: '焊接与热切割作业',
    categoryId: 'welding_cutting',
    item: '熔化焊接与热切割作业',
    validFrom: '2022-03-15',
    validUntil: '2028-03-14',
  },
  {
    certificateNo: 'T320102198505054321',
    name: '李四光',
    category: '电工作业',
    categoryId: 'electrician',
    item: '低压电工作业',
    validFrom: '2021-07-01',
    validUntil: '2027-06-30',
  },
  {
    certificateNo: 'T440305199212120018',
    name: '王小明',
    category: '高处作业',
    categoryId: 'work_at_height',
    item: '登高架设作业',
    validFrom: '2023-11-20',
    validUntil: '2029-11-19',
  },
];
const PEOPLE_EN: Truth[] = [
  {
    certificateNo: 'T510104198811110022',
    name: 'ZHAO Wei',
    category: 'Welding and Thermal Cutting',
    categoryId: 'welding_cutting',
    item: 'Fusion Welding',
    validFrom: '2024-01-05',
    validUntil: '2030-01-04',
  },
  {
    certificateNo: 'T330106199407070035',
    name: 'CHEN Jing',
    category: 'Electrician Work',
    categoryId: 'electrician',
    item: 'Low Voltage Electrician',
    validFrom: '2022-09-09',
    validUntil: '2028-09-08',
  },
];

function cnText(t: Truth): string {
  return [
    '中华人民共和国特种作业操作证',
    `证号: ${t.certificateNo}`,
    `姓名: ${t.name}`,
    `作业类别: ${t.category}`,
    `准操项目: ${t.item}`,
    `有效期限: ${t.validFrom} 至 ${t.validUntil}`,
  ].join('\n');
}
function enText(t: Truth): string {
  return [
    'Special Operation Certificate',
    `Certificate No: ${t.certificateNo}`,
    `Name: ${t.name}`,
    `Category: ${t.category}`,
    `Item: ${t.item}`,
    `Valid From: ${t.validFrom}`,
    `Valid Until: ${t.validUntil}`,
  ].join('\n');
}

function render(text: string, file: string, opts: { pointsize?: number; noise?: boolean } = {}): void {
  execFileSync(CONVERT, [
    '-background',
    'white',
    '-fill',
    'black',
    '-font',
    FONT!,
    '-pointsize',
    String(opts.pointsize ?? 28),
    `label:${text}`,
    '-bordercolor',
    'white',
    '-border',
    '40',
    ...(opts.noise ? ['-attenuate', '0.3', '+noise', 'Gaussian', '-rotate', '1.5', '-background', 'white', '-flatten'] : []),
    file,
  ]);
}

const FIELDS = ['certificateNo', 'name', 'category', 'categoryId', 'item', 'validFrom', 'validUntil'] as const;

describe('gateway: certificate OCR on generated images (Chinese and English)', function () {
  this.timeout(300_000);
  let gw: RunningGateway;
  let officer: Client;
  let dir: string;
  let db: string | undefined;
  const tally = { cn: { ok: 0, total: 0 }, en: { ok: 0, total: 0 }, noisy: { ok: 0, total: 0 } };
  const misses: string[] = [];

  before(async function () {
    requireNetwork(this);
    if (!fs.existsSync(CONVERT) || !FONT) {
      this.test!.title += ' (skipped: needs ImageMagick and fonts-noto-cjk: apt-get install -y imagemagick fonts-noto-cjk)';
      this.skip();
    }
    dir = scratchDir('gw-ocr-');
    db = await createDatabase('gw_ocr');
    gw = await startTestGateway({ DATABASE_URL: db });
    officer = new Client(gw.url).as(await token({ sub: 'gw-ocr-officer', org: 'enterprise', role: 'credential_officer' }));
  });
  after(async () => {
    await gw?.close();
    await dropDatabase(db);
    const pct = (x: { ok: number; total: number }) => (x.total ? `${((100 * x.ok) / x.total).toFixed(1)} % (${x.ok}/${x.total})` : 'n/a');
    console.log(`      OCR field accuracy — Chinese: ${pct(tally.cn)}, English: ${pct(tally.en)}, noisy/rotated Chinese: ${pct(tally.noisy)}`);
    if (misses.length) console.log(`      misses: ${misses.join('; ')}`);
  });

  async function ocr(file: string, mediaType = 'image/png') {
    const form = new FormData();
    form.set('image', new Blob([fs.readFileSync(file)], { type: mediaType }), path.basename(file));
    return officer.request('POST', '/v1/certificates/ocr', { body: form });
  }

  function score(kind: keyof typeof tally, truth: Truth, fields: Record<string, { value: string } | string | null>) {
    for (const f of FIELDS) {
      const got = fields[f];
      const value = typeof got === 'string' || got == null ? got : got.value;
      tally[kind].total++;
      if (value === truth[f]) tally[kind].ok++;
      else misses.push(`${kind} ${f}: ${JSON.stringify(value)} ≠ ${JSON.stringify(truth[f])}`);
    }
  }

  it('reads Chinese certificates: every field with its confidence, and nothing reaches the ledger', async () => {
    const h0 = await chainHeight();
    for (const [i, t] of PEOPLE_CN.entries()) {
      const file = path.join(dir, `cn-${i}.png`);
      render(cnText(t), file);
      const r = await ocr(file);
      expect(r.status, r.text).to.equal(200);
      expect(r.body.requiresConfirmation).to.equal(true);
      expect(r.body.scanSha256).to.equal(crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex'));
      for (const f of ['certificateNo', 'name', 'validUntil']) expect(r.body.fields[f]?.confidence, f).to.be.a('number');
      score('cn', t, r.body.fields);
    }
    expect(tally.cn.ok / tally.cn.total).to.be.at.least(0.9);
    expect(await chainHeight()).to.equal(h0);
  });

  it('reads English certificates', async () => {
    for (const [i, t] of PEOPLE_EN.entries()) {
      const file = path.join(dir, `en-${i}.png`);
      render(enText(t), file);
      const r = await ocr(file);
      expect(r.status, r.text).to.equal(200);
      score('en', t, r.body.fields);
    }
    expect(tally.en.ok / tally.en.total).to.be.at.least(0.9);
  });

  it('reports accuracy on noisy, slightly rotated scans (no threshold: a person confirms every field)', async () => {
    for (const [i, t] of PEOPLE_CN.entries()) {
      const file = path.join(dir, `noisy-${i}.png`);
      render(cnText(t), file, { noise: true, pointsize: 24 });
      const r = await ocr(file);
      expect(r.status, r.text).to.equal(200);
      score('noisy', t, r.body.fields);
    }
  });

  it('after a person confirmed the fields, the certificate goes to the ledger with the scan hash', async () => {
    const t = PEOPLE_CN[0]!;
    const file = path.join(dir, 'cn-0.png');
    const r = await ocr(file);
    const confirmed = r.body.fields;
    const wid = workerId(`ocr-${crypto.randomBytes(4).toString('hex')}`);
    expect((await officer.post('/v1/workers', { workerId: wid })).status).to.equal(201);
    const cert = await officer.post('/v1/certificates', {
      certificateId: `ocr-${crypto.randomBytes(4).toString('hex')}`,
      workerId: wid,
      category: confirmed.categoryId,
      item: confirmed.item.value,
      authority: '应急管理局',
      validFrom: `${confirmed.validFrom.value}T00:00:00Z`,
      validUntil: `${confirmed.validUntil.value}T00:00:00Z`,
      reviewDue: `${String(Number(t.validFrom.slice(0, 4)) + 3)}${t.validFrom.slice(4)}T00:00:00Z`,
      scanSha256: r.body.scanSha256,
    });
    expect(cert.status, cert.text).to.equal(201);
    expect(cert.body.record).to.include({ category: 'welding_cutting', scanSha256: r.body.scanSha256 });
  });

  it('refuses a non-image part (415) and a missing image (400)', async () => {
    const txt = path.join(dir, 'x.txt');
    fs.writeFileSync(txt, 'hello');
    expect((await ocr(txt, 'text/plain')).status).to.equal(415);
    expect((await officer.request('POST', '/v1/certificates/ocr', { body: new FormData() })).status).to.equal(400);
  });
});
