/** The regulator's KPIs on one wall, with the repeat-violation trend as a uPlot line chart (uPlot in a chunk of its own). */
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { LangContext, useT } from '../i18n.js';
import type { Signed } from '../main.js';
import { siteTime } from '../time.js';
import { useLoad } from './load.js';

interface Kpis {
  window: { from: string; to: string };
  averageAlarmResponseSeconds: number | null;
  p90AlarmResponseSeconds: number | null;
  alarms: number;
  alarmsResponded: number;
  openAlarmsByGrade: { grade: number; count: number }[];
  trainingCoverage: { activeWorkers: number; coveredWorkers: number; ratio: number | null };
  repeatViolationRate: { workUnitsWithViolations: number; workUnitsWithRepeats: number; ratio: number | null };
  repeatViolationTrend: { month: string; ratio: number | null }[];
  overdueReviews: number;
  certificatesExpiringWithin60Days: number;
}

export const KPIS_PATH = '/v1/regulator/kpis';

const percent = (r: number | null) => (r == null ? '—' : `${(r * 100).toFixed(1)} %`);
const seconds = (s: number | null) => (s == null ? '—' : s.toFixed(1));

function TrendChart({ points, label }: { points: { month: string; ratio: number | null }[]; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current || points.length === 0) return;
    const xs = points.map((p) => Date.parse(`${p.month}-01T00:00:00Z`) / 1000);
    const ys = points.map((p) => (p.ratio == null ? null : p.ratio * 100));
    // uPlot is loaded with the first chart, not with the screen: the other views' first paint does not wait for it.
    let plot: { destroy(): void } | undefined;
    let gone = false;
    void import('uplot').then(({ default: uPlot }) => {
      if (gone || !box.current) return;
      plot = new uPlot(
        { width: 480, height: 200, series: [{}, { label, stroke: '#b00020', width: 2, points: { show: true } }], axes: [{}, { label: '%' }] },
        [xs, ys],
        box.current,
      );
    });
    return () => {
      gone = true;
      plot?.destroy();
    };
  }, [points, label]);
  return <div ref={box} role="img" aria-label={`${label}: ${points.map((p) => `${p.month} ${percent(p.ratio)}`).join(', ')}`} />;
}

export function KpisView({ signed }: { signed: Signed }) {
  const t = useT();
  const lang = useContext(LangContext);
  const [k, error] = useLoad(() => signed.api.get<Kpis>(KPIS_PATH), [signed]);
  const [trendLabel] = useState(() => t('repeatTrend'));
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!k) return <p>{t('loading')}</p>;
  const tile = (id: string, label: string, value: string, count?: number) => (
    <div class="tile" data-kpi={id}>
      <h3>{label}</h3>
      <p class="value" data-count={count}>
        {value}
      </p>
    </div>
  );
  return (
    <section aria-labelledby="kpis-title">
      <h2 id="kpis-title">{t('kpis')}</h2>
      <p>
        {t('window')}: {siteTime(k.window.from, signed.session.timeZone, lang)} – {siteTime(k.window.to, signed.session.timeZone, lang)}
      </p>
      <div class="tiles">
        {tile('average-response', t('averageResponse'), `${seconds(k.averageAlarmResponseSeconds)} ${t('seconds')}`)}
        {tile('p90-response', t('p90Response'), `${seconds(k.p90AlarmResponseSeconds)} ${t('seconds')}`)}
        {tile('responded', t('responded'), `${k.alarmsResponded} / ${k.alarms}`, k.alarmsResponded)}
        {tile(
          'open-by-grade',
          t('openByGrade'),
          k.openAlarmsByGrade.length === 0 ? '0' : k.openAlarmsByGrade.map((g) => `${g.grade}: ${g.count}`).join(' · '),
        )}
        {tile('expiring-60', t('expiring60'), String(k.certificatesExpiringWithin60Days))}
        {tile('repeat-rate', t('repeatRate'), percent(k.repeatViolationRate.ratio))}
        {tile('training-coverage', t('trainingCoverage'), percent(k.trainingCoverage.ratio))}
        {tile('overdue-reviews', t('overdueReviews'), String(k.overdueReviews))}
      </div>
      <h3>{t('repeatTrend')}</h3>
      {k.repeatViolationTrend.length === 0 ? <p>{t('noData')}</p> : <TrendChart points={k.repeatViolationTrend} label={trendLabel} />}
    </section>
  );
}
