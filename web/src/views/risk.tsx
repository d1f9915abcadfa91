/**
 * Risk analysis: alarms and violations per area and month, and violations per work unit
 * (contractor or team) and month, each as a heat-map table a screen reader can read.
 */
import { useT } from '../i18n.js';
import type { Signed } from '../main.js';
import { useLoad } from './load.js';

interface Cell {
  siteId: string;
  areaId: string;
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
function HeatTable(p: { caption: string; corner: string; rows: string[]; months: string[]; cell: (row: string, month: string) => { weight: number; text: string }; id: string }) {
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
            <th scope="row">{r}</th>
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

export function RiskView({ signed }: { signed: Signed }) {
  const t = useT();
  const [map, error] = useLoad(() => signed.api.get<{ cells: Cell[]; workUnits: UnitCell[] }>(RISK_MAP_PATH), [signed]);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!map) return <p>{t('loading')}</p>;
  const areaOf = (c: Cell) => `${c.siteId} / ${c.areaId}`;
  const byArea = new Map(map.cells.map((c) => [`${areaOf(c)}|${c.month}`, c]));
  const byUnit = new Map(map.workUnits.map((c) => [`${c.workUnit}|${c.month}`, c]));
  return (
    <section aria-labelledby="risk-title">
      <h2 id="risk-title">{t('risk')}</h2>
      {map.cells.length === 0 ? (
        <p>{t('noData')}</p>
      ) : (
        <HeatTable
          id="areas"
          caption={`${t('heatMap')} (${t('alarmsShort')} / ${t('violationsShort')})`}
          corner={t('area')}
          rows={sortedSet(map.cells.map(areaOf))}
          months={sortedSet(map.cells.map((c) => c.month))}
          cell={(row, month) => {
            const c = byArea.get(`${row}|${month}`);
            return { weight: c ? c.alarms + c.violations : 0, text: c ? `${c.alarms} / ${c.violations}` : '0 / 0' };
          }}
        />
      )}
      {map.workUnits.length > 0 && (
        <HeatTable
          id="work-units"
          caption={t('repeatByUnit')}
          corner={t('workUnit')}
          rows={sortedSet(map.workUnits.map((c) => c.workUnit))}
          months={sortedSet(map.workUnits.map((c) => c.month))}
          cell={(row, month) => {
            const n = byUnit.get(`${row}|${month}`)?.violations ?? 0;
            return { weight: n, text: n > 1 ? `${n} (${t('repeat')})` : String(n) };
          }}
        />
      )}
    </section>
  );
}
