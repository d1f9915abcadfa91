/**
 * Live alarms by grade, pushed by the gateway's event stream; acknowledged from here by the roles
 * that may. An event re-renders only the rows of the alarms it changed: the list keeps every other
 * alarm's object (merge), and a row renders again only when its alarm object or the language changes,
 * so fifty screens of two hundred alarms do not rebuild every row at each event.
 */
import { Component } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiFailure } from '../api.js';
import { type Label, type Lang, LangContext, translate, useT } from '../i18n.js';
import type { Signed } from '../main.js';
import { siteTime } from '../time.js';
import { type Alarm, byGrade, GRADES, merge } from '../alarms.js';

/** After a dropped stream, the next try waits this long (the gateway may be restarting). */
const RECONNECT_MS = 2_000;

interface RowProps {
  alarm: Alarm;
  lang: Lang;
  timeZone: string;
  canAcknowledge: boolean;
  onAcknowledge: (a: Alarm) => void;
}

class AlarmRow extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const p = this.props;
    return next.alarm !== p.alarm || next.lang !== p.lang || next.timeZone !== p.timeZone || next.canAcknowledge !== p.canAcknowledge;
  }

  override render() {
    const { alarm: a, lang, timeZone, canAcknowledge, onAcknowledge } = this.props;
    const t = (key: Label) => translate(lang, key);
    return (
      <tr data-alarm-id={a.alarmId} data-status={a.status}>
        <td>{siteTime(a.recordedAt, timeZone, lang)}</td>
        <td>{a.siteId}</td>
        <td>{a.areaId}</td>
        <td>{a.kind}</td>
        <td>{a.deviceId}</td>
        <td>{a.status === 'open' ? t('open') : a.status === 'acknowledged' ? t('acknowledged') : a.status}</td>
        <td>{a.responseMs == null ? '—' : (a.responseMs / 1000).toFixed(1)}</td>
        {canAcknowledge && (
          <td>
            {a.status === 'open' && (
              <button type="button" onClick={() => onAcknowledge(a)} aria-label={`${t('acknowledge')} ${a.alarmId}`}>
                {t('acknowledge')}
              </button>
            )}
          </td>
        )}
      </tr>
    );
  }
}

export function AlarmsView({ signed }: { signed: Signed }) {
  const t = useT();
  const lang = useContext(LangContext);
  const [alarms, setAlarms] = useState(new Map<string, Alarm>());
  const [connected, setConnected] = useState(false);
  const [fresh, setFresh] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const canAcknowledge = signed.session.views.includes('acknowledge');

  useEffect(() => {
    const abort = new AbortController();
    const run = async () => {
      while (!abort.signal.aborted) {
        try {
          await signed.api.stream(
            '/v1/alarm-stream',
            (event, data) => {
              const d = data as { alarms: Alarm[] };
              setConnected(true);
              if (event === 'snapshot') setAlarms(merge(new Map(), d.alarms));
              else {
                setAlarms((m) => merge(m, d.alarms));
                setFresh((n) => n + d.alarms.filter((a) => a.status === 'open').length);
              }
            },
            abort.signal,
          );
        } catch (e) {
          if (abort.signal.aborted) return;
          if (e instanceof ApiFailure && e.status < 500) {
            setError(`${e.code}: ${e.message}`);
            return;
          }
        }
        setConnected(false);
        await new Promise((r) => setTimeout(r, RECONNECT_MS));
      }
    };
    void run();
    return () => abort.abort();
  }, [signed]);

  const acknowledge = useCallback(
    async (a: Alarm) => {
      try {
        await signed.api.post(`/v1/alarms/${encodeURIComponent(a.alarmId)}/acknowledge`, { note: 'acknowledged on the supervision screen' });
        setError(null);
      } catch (e) {
        setError(e instanceof ApiFailure ? `${e.code}: ${e.message}` : String(e));
      }
    },
    [signed],
  );
  const onAcknowledge = useCallback((a: Alarm) => void acknowledge(a), [acknowledge]);

  const grades = useMemo(() => byGrade(alarms), [alarms]);
  const shown = grades.reduce((n, rows) => n + rows.length, 0);
  return (
    <section aria-labelledby="alarms-title">
      <h2 id="alarms-title">{t('alarms')}</h2>
      <p role="status" data-testid="stream-state">
        {connected ? t('live') : t('reconnecting')}
        {fresh > 0 ? ` · ${fresh} ${t('newAlarms')}` : ''}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {shown === 0 && <p>{t('noAlarms')}</p>}
      {GRADES.map((g, i) => {
        const rows = grades[i]!;
        if (rows.length === 0) return null;
        return (
          <table key={g} class={`grade-${g}`} data-grade={g}>
            <caption>
              {lang === 'zh' ? `${g} ${t('gradeN')}` : `${t('gradeN')} ${g}`} ({rows.length})
            </caption>
            <thead>
              <tr>
                <th scope="col">{t('time')}</th>
                <th scope="col">{t('site')}</th>
                <th scope="col">{t('area')}</th>
                <th scope="col">{t('kind')}</th>
                <th scope="col">{t('device')}</th>
                <th scope="col">{t('status')}</th>
                <th scope="col">{t('responseSeconds')}</th>
                {canAcknowledge && <th scope="col">{t('acknowledge')}</th>}
              </tr>
            </thead>
            <tbody>
              {rows.map((a) => (
                <AlarmRow
                  key={a.alarmId}
                  alarm={a}
                  lang={lang}
                  timeZone={signed.session.timeZone}
                  canAcknowledge={canAcknowledge}
                  onAcknowledge={onAcknowledge}
                />
              ))}
            </tbody>
          </table>
        );
      })}
    </section>
  );
}
