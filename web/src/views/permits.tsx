/** Permits by state, type and area, and the area plan: where work goes on and where alarms are open. */
import { useContext, useState } from 'preact/hooks';
import { LangContext, useT } from '../i18n.js';
import type { Signed } from '../main.js';
import { siteTime } from '../time.js';
import { useLoad } from './load.js';

interface PermitRow {
  permitNo: string;
  orgMsp: string;
  operationType: string;
  level: string;
  status: string;
  siteId: string;
  zoneId: string;
  appliedAt: string;
  validUntil: string | null;
}
interface AreaRow {
  siteId: string;
  areaId: string;
  activePermits: string[];
  openAlarms: { alarmId: string; grade: number }[];
}

/** What the view reads first, unfiltered (main.tsx sends these ahead on a reload). */
export const PERMITS_FIRST_READS = ['/v1/regulator/areas', `/v1/regulator/permits?${new URLSearchParams({ limit: '100' })}`];

const OPERATIONS = ['hot_work', 'confined_space', 'blind_plate', 'work_at_height', 'lifting', 'temporary_electricity', 'excavation', 'road_breaking'];
const STATES = ['applied', 'risk_assessed', 'gas_tested', 'issued', 'briefed', 'active', 'suspended', 'completed', 'closed', 'revoked', 'expired'];

function Choice(p: { label: string; any: string; options: readonly string[]; value: string; onChange: (e: Event) => void }) {
  return (
    <label>
      {p.label}
      <select value={p.value} onChange={p.onChange}>
        <option value="">{p.any}</option>
        {p.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

function AreaPlan({ signed }: { signed: Signed }) {
  const t = useT();
  const [areas, error] = useLoad(() => signed.api.get<{ items: AreaRow[] }>('/v1/regulator/areas'), [signed]);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!areas) return <p>{t('loading')}</p>;
  if (areas.items.length === 0) return <p>{t('noData')}</p>;
  return (
    <ul class="plan" aria-label={t('areaPlan')}>
      {areas.items.map((a) => {
        const worst = a.openAlarms.length ? Math.min(...a.openAlarms.map((x) => x.grade)) : null;
        return (
          <li
            key={`${a.siteId}/${a.areaId}`}
            class={`area ${a.openAlarms.length ? 'alarm' : a.activePermits.length ? 'working' : ''}`}
            data-area={`${a.siteId}/${a.areaId}`}
            style="list-style: none"
          >
            <h3>
              {a.siteId} / {a.areaId}
            </h3>
            <p>
              {a.activePermits.length} {t('activePermits')}
            </p>
            <p>
              {a.openAlarms.length} {t('openAlarms')}
              {worst != null ? ` (${t('grade')} ${worst})` : ''}
            </p>
          </li>
        );
      })}
    </ul>
  );
}

export function PermitsView({ signed }: { signed: Signed }) {
  const t = useT();
  const lang = useContext(LangContext);
  const [filter, setFilter] = useState({ state: '', type: '', area: '' });
  const query = new URLSearchParams({ limit: '100', ...Object.fromEntries(Object.entries(filter).filter(([, v]) => v)) });
  const [page, error] = useLoad(() => signed.api.get<{ items: PermitRow[]; total: number }>(`/v1/regulator/permits?${query}`), [signed, query.toString()]);
  const set = (k: keyof typeof filter) => (e: Event) => setFilter({ ...filter, [k]: (e.currentTarget as HTMLInputElement).value });
  return (
    <section aria-labelledby="permits-title">
      <h2 id="permits-title">{t('permits')}</h2>
      <h3>{t('areaPlan')}</h3>
      <AreaPlan signed={signed} />
      <div class="filters" role="search">
        <Choice label={t('state')} any={t('any')} options={STATES} value={filter.state} onChange={set('state')} />
        <Choice label={t('type')} any={t('any')} options={OPERATIONS} value={filter.type} onChange={set('type')} />
        <label>
          {t('area')}
          <input value={filter.area} onChange={set('area')} pattern="[A-Za-z0-9._-]*" />
        </label>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {page && (
        <table>
          <caption>
            {t('total')} {page.total}
          </caption>
          <thead>
            <tr>
              <th scope="col">{t('permitNo')}</th>
              <th scope="col">{t('enterprise')}</th>
              <th scope="col">{t('type')}</th>
              <th scope="col">{t('level')}</th>
              <th scope="col">{t('state')}</th>
              <th scope="col">{t('site')}</th>
              <th scope="col">{t('area')}</th>
              <th scope="col">{t('appliedAt')}</th>
              <th scope="col">{t('validUntil')}</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((p) => (
              <tr key={p.permitNo} data-permit-no={p.permitNo} data-org={p.orgMsp}>
                <td>
                  <a href={`#/timeline/${encodeURIComponent(p.permitNo)}`}>{p.permitNo}</a>
                </td>
                <td>{p.orgMsp}</td>
                <td>{p.operationType}</td>
                <td>{p.level}</td>
                <td>{p.status}</td>
                <td>{p.siteId}</td>
                <td>{p.zoneId}</td>
                <td>{siteTime(p.appliedAt, signed.session.timeZone, lang)}</td>
                <td>{siteTime(p.validUntil, signed.session.timeZone, lang)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
