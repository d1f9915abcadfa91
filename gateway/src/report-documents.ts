/**
 * The monthly report as documents: CSV (one figure a row) and PDF with charts. The PDF names the
 * block its figures were read from, by number and header hash, so that a reader can check it
 * against the ledger (`ledger-verify --header-hash` on that block fetched from their own peer).
 * Charts are drawn with PDFKit's vector primitives: bars and axes need no charting library.
 */
import type PDFDocumentClass from 'pdfkit';
import type { EnterpriseFigures, MonthlyReport } from './regulator-repository.js';

const csvCell = (v: unknown) => {
  const s = v == null ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The CSV's columns: every row is one figure. */
export const REPORT_CSV_COLUMNS = ['section', 'key', 'value'] as const;

export function reportCsv(r: MonthlyReport): string {
  const lines = [REPORT_CSV_COLUMNS.join(',')];
  const add = (section: string, key: string, value: unknown) => lines.push([section, key, value].map(csvCell).join(','));
  add('report', 'month', r.month);
  add('report', 'time_zone', r.timeZone);
  add('report', 'window_from', r.window.from);
  add('report', 'window_to', r.window.to);
  add('report', 'org', r.scope.org ?? 'all');
  add('report', 'site', r.scope.site ?? 'all');
  add('report', 'built_from_block_number', r.builtFrom?.blockNumber);
  add('report', 'built_from_block_hash', r.builtFrom?.headerHash);
  add('report', 'permits_total', r.permitsTotal);
  for (const p of r.permits) add('permits', `${p.operationType}/${p.level}/${p.status}`, p.count);
  add('gas_tests', 'total', r.gasTests.total);
  add('gas_tests', 'failed', r.gasTests.failed);
  add('gate_checks', 'total', r.gateChecks.total);
  add('gate_checks', 'failed', r.gateChecks.failed);
  add('alarms', 'total', r.alarmsTotal);
  for (const a of r.alarms) {
    add('alarms', `grade_${a.grade}_count`, a.count);
    add('alarms', `grade_${a.grade}_average_response_seconds`, a.averageResponseSeconds);
  }
  add('evidence', 'records', r.evidenceRecords);
  add('flags', 'investigation_flags', r.investigationFlags);
  for (const d of r.daily) {
    add('daily_permits_applied', d.date, d.permitsApplied);
    add('daily_alarms', d.date, d.alarms);
  }
  for (const s of r.sites) {
    add('site_permits_applied', `${s.orgMsp}/${s.siteId}`, s.permitsApplied);
    add('site_alarms', `${s.orgMsp}/${s.siteId}`, s.alarms);
  }
  const k = r.kpis;
  add('kpi', 'average_alarm_response_seconds', k.averageAlarmResponseSeconds);
  add('kpi', 'training_coverage_ratio', k.trainingCoverage.ratio);
  add('kpi', 'repeat_violation_rate', k.repeatViolationRate.ratio);
  add('kpi', 'overdue_reviews', k.overdueReviews);
  add('kpi', 'certificates_expiring_within_60_days', k.certificatesExpiringWithin60Days);
  for (const p of k.permitsByTypeAndState) add('kpi_permits_by_type_state', `${p.operationType}/${p.status}`, p.count);
  const figures = (section: string, name: string, f: EnterpriseFigures) => {
    for (const field of ['permits', 'livePermits', 'alarms', 'averageAlarmResponseSeconds'] as const) add(section, `${name}/${field}`, f[field]);
  };
  for (const e of k.byEnterprise) figures('kpi_by_enterprise', e.orgMsp, e);
  for (const e of k.bySite) figures('kpi_by_site', `${e.orgMsp}/${e.siteId}`, e);
  return `${lines.join('\n')}\n`;
}

const PAGE_MARGIN = 48;
const INK = '#1f2933';
const MUTED = '#616e7c';
const BAR = '#2f6fab';
const BAR_2 = '#d9822b';

type Doc = PDFKit.PDFDocument;

interface Series {
  label: string;
  color: string;
  values: number[];
}

/** A bar chart (grouped when there are several series) with a zero-based axis and labelled maximum. */
function barChart(doc: Doc, title: string, labels: string[], series: Series[], o: { height: number; everyNthLabel?: number }): void {
  const left = PAGE_MARGIN + 28;
  const width = doc.page.width - PAGE_MARGIN - left;
  if (doc.y + o.height + 60 > doc.page.height - PAGE_MARGIN) doc.addPage();
  doc.font('Helvetica-Bold').fontSize(11).fillColor(INK).text(title, PAGE_MARGIN, doc.y);
  const legendY = doc.y + 2;
  let lx = PAGE_MARGIN;
  for (const s of series) {
    doc.rect(lx, legendY + 2, 8, 8).fill(s.color);
    doc
      .font('Helvetica')
      .fontSize(8)
      .fillColor(MUTED)
      .text(s.label, lx + 11, legendY + 1, { lineBreak: false });
    lx += 20 + doc.widthOfString(s.label);
  }
  const top = legendY + 18;
  const bottom = top + o.height;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  doc
    .strokeColor(MUTED)
    .lineWidth(0.5)
    .moveTo(left, top)
    .lineTo(left, bottom)
    .lineTo(left + width, bottom)
    .stroke();
  doc.font('Helvetica').fontSize(7).fillColor(MUTED);
  doc.text(String(max), PAGE_MARGIN, top - 3, { width: 24, align: 'right', lineBreak: false });
  doc.text('0', PAGE_MARGIN, bottom - 4, { width: 24, align: 'right', lineBreak: false });
  // A few categories keep bars of a readable width instead of stretching across the page.
  const slot = Math.min(width / Math.max(1, labels.length), 90);
  const barWidth = (slot * 0.8) / series.length;
  labels.forEach((label, i) => {
    series.forEach((s, j) => {
      const v = s.values[i] ?? 0;
      const h = (v / max) * o.height;
      if (h > 0) doc.rect(left + i * slot + slot * 0.1 + j * barWidth, bottom - h, barWidth, h).fill(s.color);
    });
    if (i % (o.everyNthLabel ?? 1) === 0) {
      doc
        .fillColor(MUTED)
        .fontSize(7)
        .text(label, left + i * slot, bottom + 3, { width: slot * (o.everyNthLabel ?? 1), align: 'left', lineBreak: false });
    }
  });
  doc.x = PAGE_MARGIN;
  doc.y = bottom + 18;
}

function table(doc: Doc, header: string[], rows: (string | number)[][], widths: number[]): void {
  const row = (cells: (string | number)[], bold: boolean) => {
    if (doc.y + 14 > doc.page.height - PAGE_MARGIN) doc.addPage();
    const y = doc.y;
    let x = PAGE_MARGIN;
    doc
      .font(bold ? 'Helvetica-Bold' : 'Helvetica')
      .fontSize(9)
      .fillColor(INK);
    cells.forEach((c, i) => {
      doc.text(String(c), x, y, { width: widths[i]!, lineBreak: false, ellipsis: true });
      x += widths[i]!;
    });
    doc.x = PAGE_MARGIN;
    doc.y = y + 13;
  };
  row(header, true);
  for (const r of rows) row(r, false);
  doc.moveDown(0.6);
}

/** A section heading, on a new page when its first rows would not fit under it. */
function heading(doc: Doc, title: string): void {
  if (doc.y + 60 > doc.page.height - PAGE_MARGIN) doc.addPage();
  doc.font('Helvetica-Bold').fontSize(12).fillColor(INK).text(title, PAGE_MARGIN);
  doc.moveDown(0.3);
}

const figure = (v: number | null, digits = 1) => (v == null ? 'n/a' : Number.isInteger(v) ? String(v) : v.toFixed(digits));

/** The report as a PDF (A4): provenance, summary, charts, breakdowns. */
export async function reportPdf(r: MonthlyReport, generatedAt: Date = new Date()): Promise<Buffer> {
  // Loaded on the first report, not at start: pdfkit and its fonts cost the gateway about 13 MiB
  // resident, which a gateway that never renders a report (an enterprise's) should not carry.
  const { default: PDFDocument } = (await import('pdfkit')) as { default: typeof PDFDocumentClass };
  const doc = new PDFDocument({
    size: 'A4',
    margin: PAGE_MARGIN,
    info: { Title: `Monthly safety report ${r.month}`, Subject: 'High-risk special operations (GB 30871)', CreationDate: generatedAt },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  doc.font('Helvetica-Bold').fontSize(18).fillColor(INK).text(`Monthly safety report ${r.month}`);
  doc.font('Helvetica').fontSize(10).fillColor(MUTED).text('High-risk special operations (GB 30871-2022) on the compliance ledger');
  doc.moveDown(0.5);
  doc.fillColor(INK).fontSize(10);
  doc.text(`Enterprise: ${r.scope.org ?? 'all'}    Site: ${r.scope.site ?? 'all'}`);
  doc.text(`Month in ${r.timeZone}: ${r.window.from} to ${r.window.to} (UTC, end exclusive)`);
  doc.text(`Generated: ${generatedAt.toISOString()}`);
  doc.moveDown(0.5);
  doc.font('Helvetica-Bold').text('Built from the ledger');
  if (r.builtFrom) {
    doc.font('Helvetica').text(`Block ${r.builtFrom.blockNumber} (block height ${r.builtFrom.blockHeight}), header hash:`);
    doc.font('Courier').fontSize(9).text(r.builtFrom.headerHash);
    doc
      .font('Helvetica')
      .fontSize(8)
      .fillColor(MUTED)
      .text(
        `Check it: fetch block ${r.builtFrom.blockNumber} from your own peer (peer channel fetch ${r.builtFrom.blockNumber}) and compare ` +
          'this hash with `ledger-verify --header-hash <block file>`.',
      );
  } else doc.font('Helvetica').text('The mirror held no block when this report was built.');
  doc.moveDown(0.8);

  heading(doc, 'Summary');
  const k = r.kpis;
  table(
    doc,
    ['figure', 'value'],
    [
      ['Permits applied', r.permitsTotal],
      ['Gas tests (failed)', `${r.gasTests.total} (${r.gasTests.failed})`],
      ['Gate checks (failed)', `${r.gateChecks.total} (${r.gateChecks.failed})`],
      ['Alarms recorded', r.alarmsTotal],
      ['Evidence files captured', r.evidenceRecords],
      ['Investigation flags', r.investigationFlags],
      ['Average alarm response (s)', figure(k.averageAlarmResponseSeconds)],
      ['Training coverage', k.trainingCoverage.ratio == null ? 'n/a' : `${(k.trainingCoverage.ratio * 100).toFixed(1)} %`],
      ['Repeat violation rate', k.repeatViolationRate.ratio == null ? 'n/a' : `${(k.repeatViolationRate.ratio * 100).toFixed(1)} %`],
      ['Overdue certificate reviews (now)', k.overdueReviews],
      ['Certificates expiring within 60 days (now)', k.certificatesExpiringWithin60Days],
    ],
    [300, 200],
  );

  const byType = new Map<string, number>();
  for (const p of r.permits) byType.set(p.operationType, (byType.get(p.operationType) ?? 0) + p.count);
  barChart(doc, 'Permits applied by operation type', [...byType.keys()], [{ label: 'permits', color: BAR, values: [...byType.values()] }], { height: 90 });
  barChart(
    doc,
    'Alarms by grade',
    [1, 2, 3, 4].map((g) => `grade ${g}`),
    [{ label: 'alarms', color: BAR_2, values: [1, 2, 3, 4].map((g) => r.alarms.find((a) => a.grade === g)?.count ?? 0) }],
    { height: 70 },
  );
  barChart(
    doc,
    `Each day (${r.timeZone})`,
    r.daily.map((d) => d.date.slice(8)),
    [
      { label: 'permits applied', color: BAR, values: r.daily.map((d) => d.permitsApplied) },
      { label: 'alarms', color: BAR_2, values: r.daily.map((d) => d.alarms) },
    ],
    { height: 90, everyNthLabel: 2 },
  );

  heading(doc, 'Permits by type, level and status');
  table(
    doc,
    ['operation type', 'level', 'status (now)', 'permits'],
    r.permits.map((p) => [p.operationType, p.level, p.status, p.count]),
    [170, 80, 150, 80],
  );
  heading(doc, 'Enterprises and sites');
  table(
    doc,
    ['enterprise', 'site', 'permits applied', 'alarms'],
    r.sites.map((s) => [s.orgMsp || '(unknown device owner)', s.siteId, s.permitsApplied, s.alarms]),
    [150, 170, 100, 80],
  );
  doc.end();
  return done;
}
