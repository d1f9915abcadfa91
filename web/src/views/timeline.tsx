/**
 * A permit's timeline from the mirror (every step, who, block, transaction, evidence), and Verify:
 * the proof bundle the gateway serves is checked here, in the browser, by the verifier package,
 * against a block hash the user brings from their own peer, so the result does not rest on the server.
 */
import type { Check } from '@compliance-ledger/verifier';
import { useContext, useEffect, useState } from 'preact/hooks';
import { ApiFailure } from '../api.js';
import { LangContext, useT } from '../i18n.js';
import type { Signed } from '../main.js';
import { siteTime } from '../time.js';
import { useLoad } from './load.js';

interface TimelineEvent {
  at: string;
  kind: string;
  txId: string;
  blockNumber: number | null;
  detail: Record<string, unknown>;
}
interface EvidenceRow {
  step: string;
  cid: string;
  sha256: string;
  sizeBytes: number;
  mediaType: string;
  capturedAt: string;
}
interface Timeline {
  permit: Record<string, unknown> & { permitNo: string; status: string };
  events: TimelineEvent[];
  evidence: EvidenceRow[];
}

/** Who acted, from whichever actor columns the event's table has. */
function who(d: Record<string, unknown>): string {
  const org = d.actorMsp ?? d.analystMsp ?? d.recordedByMsp ?? d.flaggedByMsp;
  const role = d.actorRole ?? (d.actorDepartment ? `dept ${String(d.actorDepartment)}` : undefined);
  const worker = d.workerId ? `worker ${String(d.workerId).slice(0, 12)}…` : undefined;
  return [org, role, worker].filter(Boolean).join(' · ') || '—';
}

function summary(d: Record<string, unknown>): string {
  const skip = new Set(['actorMsp', 'actorRole', 'analystMsp', 'recordedByMsp', 'flaggedByMsp', 'at', 'recordedAt']);
  return Object.entries(d)
    .filter(([k, v]) => !skip.has(k) && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join('; ');
}

interface Verification {
  ok: boolean;
  checks: Check[];
  media: { cid: string; url: string; mediaType: string }[];
}

function VerifyPanel({ signed, permitNo, evidence }: { signed: Signed; permitNo: string; evidence: EvidenceRow[] }) {
  const t = useT();
  const [hash, setHash] = useState('');
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<Verification | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => () => result?.media.forEach((m) => URL.revokeObjectURL(m.url)), [result]);
  const run = async (e: Event) => {
    e.preventDefault();
    setRunning(true);
    setError(null);
    setResult(null);
    try {
      const [bundle, verifier] = await Promise.all([
        signed.api.blob(`/v1/audit/permits/${encodeURIComponent(permitNo)}/bundle`),
        import('@compliance-ledger/verifier'),
      ]);
      // Opened once, read by slices: the evidence is hashed as it streams from the Blob, never copied
      // whole, and shown from the same files the checks read (an unreadable bundle is one failed check).
      const { report, files } = await verifier.verifyBundleBlobFiles(bundle, { blockHash: hash.trim().toLowerCase() });
      // The files are shown only from the bundle just checked: what the verifier saw is what is shown.
      const media: Verification['media'] = [];
      if (files && report.checks.some((c) => c.id === 'bundle.format' && c.status === 'pass')) {
        for (const row of evidence) {
          const file = files.get(`evidence/${row.cid}`);
          if (file instanceof verifier.BlobFile && /^(image|video)\//.test(row.mediaType))
            media.push({ cid: row.cid, mediaType: row.mediaType, url: URL.createObjectURL(file.blob.slice(0, file.size, row.mediaType)) });
        }
      }
      setResult({ ok: report.ok, checks: report.checks, media });
    } catch (err) {
      setError(err instanceof ApiFailure ? `${err.code}: ${err.message}` : String(err));
    } finally {
      setRunning(false);
    }
  };
  const failedEvidence = result?.checks.filter((c) => c.status === 'fail' && c.id.startsWith('evidence.')) ?? [];
  const rowOf = (cid: string) => evidence.find((e) => e.cid === cid);
  return (
    <section aria-labelledby="verify-title">
      <h3 id="verify-title">{t('verify')}</h3>
      <form class="filters" onSubmit={run}>
        <label>
          {t('trustedHash')}
          <input
            name="trusted-hash"
            size={70}
            required
            pattern="[0-9a-fA-F]{64}"
            value={hash}
            onInput={(e) => setHash(e.currentTarget.value)}
            aria-describedby="trusted-hash-help"
          />
        </label>
        <button type="submit" disabled={running}>
          {running ? t('verifying') : t('verify')}
        </button>
      </form>
      <p class="help" id="trusted-hash-help">
        {t('trustedHashHelp')}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <>
          <p class={`summary ${result.ok ? 'ok' : 'bad'}`} role="status" data-testid="verify-summary" data-ok={String(result.ok)}>
            {result.ok ? t('verified') : `${t('notVerified')}: ${result.checks.filter((c) => c.status === 'fail').length} ${t('fail')}`}
          </p>
          {failedEvidence.length > 0 && (
            <div role="alert" data-testid="failed-files">
              <h4>{t('failedFiles')}</h4>
              <ul>
                {failedEvidence.map((c) => {
                  const cid = c.id.slice('evidence.'.length);
                  const row = rowOf(cid);
                  return (
                    <li key={c.id} data-cid={cid}>
                      <code>{cid}</code>
                      {row ? ` (${row.step}, ${row.mediaType}, ${row.sizeBytes} B)` : ''}: {c.detail}
                    </li>
                  );
                })}
              </ul>
            </div>
          )}
          {result.media.length > 0 && (
            <ul class="evidence-media" aria-label={t('evidence')}>
              {result.media.map((m) => (
                <li key={m.cid}>
                  {m.mediaType.startsWith('image/') ? <img src={m.url} alt={`${t('evidence')} ${m.cid}`} /> : <video src={m.url} controls aria-label={`${t('evidence')} ${m.cid}`} />}
                </li>
              ))}
            </ul>
          )}
          <table class="checks">
            <caption>
              {t('check')} ({result.checks.length})
            </caption>
            <thead>
              <tr>
                <th scope="col">{t('check')}</th>
                <th scope="col">{t('result')}</th>
                <th scope="col">{t('detail')}</th>
              </tr>
            </thead>
            <tbody>
              {result.checks.map((c) => (
                <tr key={c.id} class={c.status} data-check={c.id} data-status={c.status}>
                  <td>
                    <code>{c.id}</code>
                  </td>
                  <td>{t(c.status)}</td>
                  <td>{c.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

export function TimelineView({ signed, permitNo }: { signed: Signed; permitNo: string }) {
  const t = useT();
  const lang = useContext(LangContext);
  const [input, setInput] = useState(permitNo);
  const [tl, error] = useLoad(
    () => (permitNo ? signed.api.get<Timeline>(`/v1/regulator/permits/${encodeURIComponent(permitNo)}/timeline`) : Promise.resolve(null)),
    [signed, permitNo],
  );
  const open = (e: Event) => {
    e.preventDefault();
    location.hash = `#/timeline/${encodeURIComponent(input.trim())}`;
  };
  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title">
        {t('timeline')}
        {permitNo ? `: ${permitNo}` : ''}
      </h2>
      <form class="filters" onSubmit={open}>
        <label>
          {t('permitNo')}
          <input name="permit-no" required value={input} onInput={(e) => setInput(e.currentTarget.value)} />
        </label>
        <button type="submit">{t('openTimeline')}</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {tl && (
        <>
          <p>
            {t('state')}: <strong data-testid="permit-status">{tl.permit.status}</strong>
          </p>
          <table>
            <caption>
              {t('step')} ({tl.events.length})
            </caption>
            <thead>
              <tr>
                <th scope="col">{t('time')}</th>
                <th scope="col">{t('step')}</th>
                <th scope="col">{t('who')}</th>
                <th scope="col">{t('block')}</th>
                <th scope="col">{t('transaction')}</th>
                <th scope="col">{t('detail')}</th>
              </tr>
            </thead>
            <tbody>
              {tl.events.map((ev) => (
                <tr key={`${ev.txId}-${ev.kind}-${ev.at}`} data-event={ev.kind}>
                  <td>{siteTime(ev.at, signed.session.timeZone, lang)}</td>
                  <td>{ev.kind === 'step' ? String(ev.detail.action) : ev.kind}</td>
                  <td>{who(ev.detail)}</td>
                  <td>{ev.blockNumber ?? '—'}</td>
                  <td>
                    <code title={ev.txId}>{ev.txId.slice(0, 16)}…</code>
                  </td>
                  <td>{summary(ev.detail)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>{t('evidence')}</h3>
          {tl.evidence.length === 0 ? (
            <p>{t('noData')}</p>
          ) : (
            <ul>
              {tl.evidence.map((e) => (
                <li key={e.cid} data-evidence={e.cid}>
                  {e.step} · {e.mediaType} · {e.sizeBytes} B · <code>{e.cid}</code>
                </li>
              ))}
            </ul>
          )}
          {signed.session.views.includes('verify') && <VerifyPanel signed={signed} permitNo={permitNo} evidence={tl.evidence} />}
        </>
      )}
    </section>
  );
}
