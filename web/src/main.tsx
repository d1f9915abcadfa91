/** The screen's shell: sign-in, the views the signed-in role opens, language switch, hash routes. */
import { render } from 'preact';
import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { Api, ApiFailure, type Session, type View } from './api.js';
import { type Lang, LangContext, translate, useT } from './i18n.js';
import { AlarmsView } from './views/alarms.js';
import { KPIS_PATH, KpisView } from './views/kpis.js';
import { PERMITS_FIRST_READS, PermitsView } from './views/permits.js';
import { RISK_MAP_PATH, RiskView } from './views/risk.js';
import { TimelineView } from './views/timeline.js';

const CREDENTIAL_KEY = 'ledger.credential';
const LANG_KEY = 'ledger.lang';
const TABS = ['alarms', 'permits', 'kpis', 'risk', 'timeline'] as const satisfies readonly View[];
type Tab = (typeof TABS)[number];

export interface Signed {
  api: Api;
  session: Session;
}

function route(): { tab: Tab; arg: string } {
  const [tab = '', arg = ''] = decodeURIComponent(location.hash.replace(/^#\/?/, '')).split('/');
  return { tab: (TABS as readonly string[]).includes(tab) ? (tab as Tab) : 'alarms', arg };
}

/** What each view reads first, sent with the session's check on a reload (Api.prefetch). */
const FIRST_READS: Partial<Record<Tab, readonly string[]>> = { permits: PERMITS_FIRST_READS, kpis: [KPIS_PATH], risk: [RISK_MAP_PATH] };

/**
 * A kept credential (a reload, or a new tab of a signed-in user): the session and the opened view's
 * data are asked for at once, as the script starts, not one after the other after the first render.
 */
const kept = sessionStorage.getItem(CREDENTIAL_KEY);
const keptApi = kept ? new Api(kept) : null;
keptApi?.prefetch(['/v1/session', ...(FIRST_READS[route().tab] ?? [])]);

function SignIn({ onSignedIn }: { onSignedIn: (s: Signed) => void }) {
  const t = useT();
  const [credential, setCredential] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const api = new Api(credential.trim());
    try {
      const session = await api.get<Session>('/v1/session');
      sessionStorage.setItem(CREDENTIAL_KEY, credential.trim());
      onSignedIn({ api, session });
    } catch (err) {
      setError(err instanceof ApiFailure ? `${err.code}: ${err.message}` : String(err));
    }
  };
  return (
    <form class="sign-in" onSubmit={submit} aria-labelledby="sign-in-title">
      <h2 id="sign-in-title">{t('signIn')}</h2>
      <label for="credential">{t('credential')}</label>
      <textarea id="credential" name="credential" rows={4} required value={credential} onInput={(e) => setCredential(e.currentTarget.value)} />
      <p class="help">{t('credentialHelp')}</p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit">{t('signIn')}</button>
    </form>
  );
}

function Shell({ signed, onSignOut, lang, setLang }: { signed: Signed; onSignOut: () => void; lang: Lang; setLang: (l: Lang) => void }) {
  const t = useT();
  const [where, setWhere] = useState(route());
  useEffect(() => {
    const f = () => setWhere(route());
    addEventListener('hashchange', f);
    return () => removeEventListener('hashchange', f);
  }, []);
  const allowed = (v: View) => signed.session.views.includes(v);
  const tabs = TABS.filter(allowed);
  const tab = where.tab;
  return (
    <>
      <header class="top">
        <h1>{t('title')}</h1>
        <p class="who" data-testid="who">
          {t('signedInAs')}: {signed.session.sub} ({signed.session.org} / {signed.session.role})
        </p>
        <p class="scope" data-testid="scope" data-enterprise={signed.session.enterprise ?? ''}>
          {signed.session.enterprise === null ? t('allEnterprises') : `${t('ownEnterprise')}: ${signed.session.enterprise}`}
        </p>
        <button type="button" onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')} lang={lang === 'zh' ? 'en' : 'zh'}>
          {t('switchLanguage')}
        </button>
        <button type="button" onClick={onSignOut}>
          {t('signOut')}
        </button>
      </header>
      <nav aria-label={t('title')}>
        <ul>
          {tabs.map((v) => (
            <li key={v}>
              <a href={`#/${v}`} aria-current={v === tab ? 'page' : undefined}>
                {t(v)}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="view" data-view={tab}>
        {!allowed(tab) ? (
          <p class="error" role="alert">
            {t('notAllowed')}
          </p>
        ) : tab === 'alarms' ? (
          <AlarmsView signed={signed} />
        ) : tab === 'permits' ? (
          <PermitsView signed={signed} />
        ) : tab === 'kpis' ? (
          <KpisView signed={signed} />
        ) : tab === 'risk' ? (
          <RiskView signed={signed} />
        ) : (
          <TimelineView signed={signed} permitNo={where.arg} />
        )}
      </main>
    </>
  );
}

function App() {
  const [lang, setLangState] = useState<Lang>(localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh');
  const [signed, setSigned] = useState<Signed | null>(null);
  const [checking, setChecking] = useState(true);
  const setLang = (l: Lang) => {
    localStorage.setItem(LANG_KEY, l);
    setLangState(l);
  };
  // With the labels' render, not after the next paint: a reader (or a test) that sees the new
  // labels sees the document's language change with them.
  useLayoutEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = translate(lang, 'title');
  }, [lang]);
  // A reload keeps the user signed in for this tab only (sessionStorage), as long as the token is valid.
  useEffect(() => {
    if (!keptApi) {
      setChecking(false);
      return;
    }
    const api = keptApi;
    api
      .get<Session>('/v1/session')
      .then((session) => setSigned({ api, session }))
      .catch(() => sessionStorage.removeItem(CREDENTIAL_KEY))
      .finally(() => setChecking(false));
  }, []);
  const signOut = () => {
    sessionStorage.removeItem(CREDENTIAL_KEY);
    setSigned(null);
  };
  return (
    <LangContext.Provider value={lang}>
      {checking ? null : signed ? (
        <Shell signed={signed} onSignOut={signOut} lang={lang} setLang={setLang} />
      ) : (
        <>
          <header class="top">
            <h1>{translate(lang, 'title')}</h1>
            <button type="button" onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')} lang={lang === 'zh' ? 'en' : 'zh'}>
              {translate(lang, 'switchLanguage')}
            </button>
          </header>
          <main>
            <SignIn onSignedIn={setSigned} />
          </main>
        </>
      )}
    </LangContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
