/** Times as the site reads them: in its own time zone (GATEWAY_SITE_TIME_ZONE), whatever the browser's. */
import type { Lang } from './i18n.js';

/** Making a DateTimeFormat costs far more than formatting with one, and a list formats hundreds of times: one per zone and language. */
const formats = new Map<string, Intl.DateTimeFormat>();

function format(timeZone: string, lang: Lang): Intl.DateTimeFormat {
  const key = `${lang} ${timeZone}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hour12: false,
      timeZoneName: 'short',
    });
    formats.set(key, f);
  }
  return f;
}

export function siteTime(iso: string | null | undefined, timeZone: string, lang: Lang): string {
  if (!iso) return '—';
  return format(timeZone, lang).format(new Date(iso));
}
