/** The risk heat map: alarms and violations per area and month, as a table a screen reader can read. */
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

/** Background from white to deep red by the share of the busiest cell; text stays dark or turns white for contrast. */
function heat(n: number, max: number): { background: string; color: string } {
  const f = max === 0 ? 0 : n / max;
  const light = Math.round(97 - f * 65);
  return { background: `hsl(0 75% ${light}%)`, color: light < 55 ? '#fff' : '#1a1a1a' };
}

export function RiskView({ signed }: { signed: Signed }) {
  const t = useT();
  const [map, error] = useLoad(() => signed.api.get<{ cells: Cell[] }>('/v1/regulator/risk-map'), [signed]);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!map) return <p>{t('loading')}</p>;
  const months = [...new Set(map.cells.map((c) => c.month))].sort();
  const areas = [...new Set(map.cells.map((c) => `${c.siteId} / ${c.areaId}`))].sort();
  const at = new Map(map.cells.map((c) => [`${c.siteId} / ${c.areaId}|${c.month}`, c]));
  const max = Math.max(0, ...map.cells.map((c) => c.alarms + c.violations));
  return (
    <section aria-labelledby="risk-title">
      <h2 id="risk-title">{t('risk')}</h2>
      {map.cells.length === 0 ? (
        <p>{t('noData')}</p>
      ) : (
        <table class="heat">
          <caption>
            {t('heatMap')} ({t('alarmsShort')} / {t('violationsShort')})
          </caption>
          <thead>
            <tr>
              <th scope="col">{t('area')}</th>
              {months.map((m) => (
                <th key={m} scope="col">
                  {m}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {areas.map((a) => (
              <tr key={a}>
                <th scope="row">{a}</th>
                {months.map((m) => {
                  const c = at.get(`${a}|${m}`);
                  const n = c ? c.alarms + c.violations : 0;
                  return (
                    <td key={m} class="cell" style={heat(n, max)} data-cell={`${a}|${m}`}>
                      {c ? `${c.alarms} / ${c.violations}` : '0 / 0'}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
