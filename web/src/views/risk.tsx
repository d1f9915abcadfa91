/**
 * Risk analysis: alarms and violations per site and month, a page of sites at a time (a park's
 * year per area is megabytes), one site's areas per month on demand, and violations per work unit
 * (contractor or team) and month, each as a heat-map table a screen reader can read.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiFailure } from '../api.js';
import { useT } from '../i18n.js';
import type { Signed } from '../main.js';
import { useLoad } from './load.js';

interface Cell {
  siteId: string;
  areaId?: string;
  month: string;
  alarms: number;
  violations: number;
}
interface UnitCell {
  workUnit: string;
  month: string;
  violations: number;
}

/**
 * Background from white to deep red by the share of the busiest cell. Red between 50 % and 60 %
 * lightness holds neither dark nor white text at 4.5:1 (WCAG AA), so the scale jumps over it: the
 * lighter half keeps dark text, the darker half white.
 */
function heat(n: number, max: number): { background: string; color: string } {
  const f = max === 0 ? 0 : n / max;
  const light = f < 0.5 ? Math.round(97 - f * 74) : Math.round(50 - (f - 0.5) * 40);
  return { background: `hsl(0 75% ${light}%)`, color: light >= 60 ? '#1a1a1a' : '#fff' };
}

/** Rows × months; each cell's weight colours it and its text is what it says. */
function HeatTable(p: {
  caption: string;
  corner: string;
  rows: string[];
  months: string[];
  cell: (row: string, month: string) => { weight: number; text: string };
  id: string;
  rowHead?: (row: string) => ComponentChildren;
}) {
  const max = Math.max(0, ...p.rows.flatMap((r) => p.months.map((m) => p.cell(r, m).weight)));
  return (
    <table class="heat" data-heat={p.id}>
      <caption>{p.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{p.corner}</th>
          {p.months.map((m) => (
            <th key={m} scope="col">
              {m}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {p.rows.map((r) => (
          <tr key={r}>
            <th scope="row">{p.rowHead ? p.rowHead(r) : r}</th>
            {p.months.map((m) => {
              const c = p.cell(r, m);
              return (
                <td key={m} class="cell" style={heat(c.weight, max)} data-cell={`${r}|${m}`}>
                  {c.text}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export const RISK_MAP_PATH = '/v1/regulator/risk-map';

const sortedSet = (xs: string[]) => [...new Set(xs)].sort();

interface RiskPage {
  sites: string[];
  cells: Cell[];
  nextCursor: string | null;
  /** The first page's only: the work units do not depend on the page. */
  workUnits?: UnitCell[];
}

/** The park's sites page by page: "more" appends the next page's rows (one request at a time). */
function useSitePages(signed: Signed): [RiskPage[], string | null, (() => void) | null] {
  const [first, error] = useLoad(() => signed.api.get<RiskPage>(RISK_MAP_PATH), [signed]);
  const [more, setMore] = useState<{ of: RiskPage | null; pages: RiskPage[]; busy: boolean; error: string | null }>({
    of: null,
    pages: [],
    busy: false,
    error: null,
  });
  // Pages appended to an earlier first page (another sign-in) are not this one's.
  const extra = more.of === first ? more.pages : [];
  const pages = first ? [first, ...extra] : [];
  const cursor = pages[pages.length - 1]?.nextCursor ?? null;
  const next =
    cursor === null || more.busy
      ? null
      : () => {
          setMore({ of: first, pages: extra, busy: true, error: null });
          signed.api.get<RiskPage>(`${RISK_MAP_PATH}?cursor=${encodeURIComponent(cursor)}`).then(
            (p) => setMore({ of: first, pages: [...extra, p], busy: false, error: null }),
            (e: unknown) => setMore({ of: first, pages: extra, busy: false, error: e instanceof ApiFailure ? `${e.code}: ${e.message}` : String(e) }),
          );
        };
  return [pages, error ?? (more.of === first ? more.error : null), next];
}

function SiteAreas({ signed, site }: { signed: Signed; site: string }) {
  const t = useT();
  const [map, error] = useLoad(() => signed.api.get<RiskPage>(`${RISK_MAP_PATH}?site=${encodeURIComponent(site)}`), [signed, site]);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!map) return <p>{t('loading')}</p>;
  const areaOf = (c: Cell) => `${c.siteId} / ${c.areaId ?? ''}`;
  const byArea = new Map(map.cells.map((c) => [`${areaOf(c)}|${c.month}`, c]));
  if (map.cells.length === 0) return <p>{t('noData')}</p>;
  return (
    <HeatTable
      id="areas"
      caption={`${t('heatMap')}: ${site} (${t('alarmsShort')} / ${t('violationsShort')})`}
      corner={t('area')}
      rows={sortedSet(map.cells.map(areaOf))}
      months={sortedSet(map.cells.map((c) => c.month))}
      cell={(row, month) => {
        const c = byArea.get(`${row}|${month}`);
        return { weight: c ? c.alarms + c.violations : 0, text: c ? `${c.alarms} / ${c.violations}` : '0 / 0' };
      }}
    />
  );
}

export function RiskView({ signed }: { signed: Signed }) {
  const t = useT();
  const [pages, error, next] = useSitePages(signed);
  const [site, setSite] = useState<string | null>(null);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (pages.length === 0) return <p>{t('loading')}</p>;
  const sites = pages.flatMap((p) => p.sites);
  const cells = pages.flatMap((p) => p.cells);
  const bySite = new Map(cells.map((c) => [`${c.siteId}|${c.month}`, c]));
  const workUnits = pages[0]!.workUnits ?? [];
  const byUnit = new Map(workUnits.map((c) => [`${c.workUnit}|${c.month}`, c]));
  const more = pages[pages.length - 1]!.nextCursor !== null;
  const busy = more && next === null;
  return (
    <section aria-labelledby="risk-title">
      <h2 id="risk-title">{t('risk')}</h2>
      {cells.length === 0 && !more ? (
        <p>{t('noData')}</p>
      ) : (
        <HeatTable
          id="sites"
          caption={`${t('heatMapSites')} (${t('alarmsShort')} / ${t('violationsShort')})`}
          corner={t('site')}
          rows={sites}
          months={sortedSet(cells.map((c) => c.month))}
          rowHead={(r) => (
            <button type="button" data-site={r} aria-pressed={site === r} onClick={() => setSite(site === r ? null : r)}>
              {r}
            </button>
          )}
          cell={(row, month) => {
            const c = bySite.get(`${row}|${month}`);
            return { weight: c ? c.alarms + c.violations : 0, text: c ? `${c.alarms} / ${c.violations}` : '0 / 0' };
          }}
        />
      )}
      {more && (
        <button type="button" data-more-sites disabled={busy} onClick={() => next?.()}>
          {t('moreSites')}
        </button>
      )}
      {site === null ? <p>{t('pickSite')}</p> : <SiteAreas signed={signed} site={site} />}
      {workUnits.length > 0 && (
        <HeatTable
          id="work-units"
          caption={t('repeatByUnit')}
          corner={t('workUnit')}
          rows={sortedSet(workUnits.map((c) => c.workUnit))}
          months={sortedSet(workUnits.map((c) => c.month))}
          cell={(row, month) => {
            const n = byUnit.get(`${row}|${month}`)?.violations ?? 0;
            return { weight: n, text: n > 1 ? `${n} (${t('repeat')})` : String(n) };
          }}
        />
      )}
    </section>
  );
}
