/** Times as the site reads them: in its own time zone (GATEWAY_SITE_TIME_ZONE), whatever the browser's. */
import type { Lang } from './i18n.js';

export function siteTime(iso: string | null | undefined, timeZone: string, lang: Lang): string {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
    timeZoneName: 'short',
  }).format(new Date(iso));
}
