import type { CertificateRecord, WorkerRecord } from '@compliance-ledger/schema';
import { DAY_MS, parseIso } from './clock';

/** Reviews are applied for within 60 days before the due date (特种作业操作证 复审). */
export const REVIEW_WINDOW_DAYS = 60;
/** 特种作业操作证: valid 6 years nationwide, reviewed every 3 years. */
export const CERTIFICATE_VALIDITY_YEARS = 6;
export const REVIEW_INTERVAL_YEARS = 3;

/** 特种作业: a holder off the job for 6 months or more takes the practical exam again before working. */
export const OFF_JOB_MONTHS = 6;

/** Calendar months in UTC (31 Aug + 6 months → 3 Mar in a common year, as Date.UTC rolls over). */
export function addMonthsMs(ms: number, months: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

/**
 * The last time the holder is known to have been on the job with this certificate: the worker's
 * last completed permit or their registration (the enterprise attests employment), the start of
 * the certificate, or a practical exam passed again. Records written before these fields existed
 * have neither, and count from the other dates.
 */
export function lastOnJobMs(worker: Pick<WorkerRecord, 'registeredAt'> & Partial<Pick<WorkerRecord, 'lastWorkedAt'>>, cert: CertificateRecord): number {
  const dates = [worker.registeredAt, worker.lastWorkedAt ?? null, cert.validFrom, ...(cert.practicalExams ?? []).map((e) => e.examinedAt)];
  return Math.max(...dates.filter((d): d is string => d !== null).map(parseIso));
}

/** Six months or more off the job by the window's start means a practical exam first. */
export function offJobProblem(
  worker: Pick<WorkerRecord, 'registeredAt'> & Partial<Pick<WorkerRecord, 'lastWorkedAt'>>,
  cert: CertificateRecord,
  windowStartMs: number,
): string | null {
  const since = lastOnJobMs(worker, cert);
  if (addMonthsMs(since, OFF_JOB_MONTHS) > windowStartMs) return null;
  return `off the job since ${new Date(since).toISOString()} (${OFF_JOB_MONTHS} months or more): the practical exam must be passed again and recorded`;
}

/** Calendar years in UTC (29 Feb + 1 year → 1 Mar), without any local time zone. */
export function addYearsMs(ms: number, years: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear() + years, d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

/** A certificate spanning more than 6 years, or a review set more than 3 years ahead, is not a real 操作证. */
export function certificateTermsProblem(validFromMs: number, validUntilMs: number): string | null {
  if (validUntilMs > addYearsMs(validFromMs, CERTIFICATE_VALIDITY_YEARS)) return `a certificate is valid for at most ${CERTIFICATE_VALIDITY_YEARS} years`;
  return null;
}

export function nextReviewProblem(previousDueMs: number, nextDueMs: number): string | null {
  if (nextDueMs > addYearsMs(previousDueMs, REVIEW_INTERVAL_YEARS))
    return `the next review is due at most ${REVIEW_INTERVAL_YEARS} years after the previous due date`;
  return null;
}

/** Regulators report certificates expiring within this many days. */
export const EXPIRY_WARNING_DAYS = 60;

export type CertificateCondition = 'valid' | 'suspended' | 'revoked' | 'not_yet_valid' | 'expired' | 'review_overdue';

/** What a certificate is worth at a moment: a missed review invalidates it just like expiry. */
export function certificateConditionAt(cert: CertificateRecord, atMs: number): CertificateCondition {
  if (cert.status !== 'valid') return cert.status;
  if (atMs < parseIso(cert.validFrom)) return 'not_yet_valid';
  if (atMs >= parseIso(cert.validUntil)) return 'expired';
  if (atMs > parseIso(cert.reviewDue)) return 'review_overdue';
  return 'valid';
}

/**
 * A certificate qualifies a worker for a window when it is in force, of the right category,
 * valid over the whole window, and its review does not fall due before the window ends (a
 * missed review would invalidate it mid-work).
 */
export function certificateProblem(
  cert: CertificateRecord,
  category: string,
  windowStartMs: number,
  windowEndMs: number,
  nowMs: number,
  holder?: Pick<WorkerRecord, 'registeredAt' | 'lastWorkedAt'>,
): string | null {
  if (cert.category !== category) return `category is ${cert.category}, not ${category}`;
  if (cert.status !== 'valid') return `certificate is ${cert.status}`;
  if (parseIso(cert.validFrom) > windowStartMs) return `certificate is valid only from ${cert.validFrom}, after the window starts`;
  if (parseIso(cert.validUntil) < windowEndMs) return `certificate is valid only until ${cert.validUntil}, before the window ends`;
  if (parseIso(cert.reviewDue) < nowMs) return `review was due ${cert.reviewDue} and is overdue`;
  if (parseIso(cert.reviewDue) < windowEndMs) return `review falls due ${cert.reviewDue}, before the window ends`;
  return holder === undefined ? null : offJobProblem(holder, cert, windowStartMs);
}

/** For each required category, whether the worker holds a qualifying certificate; returns the problems. */
export function workerCertificateProblems(
  certs: CertificateRecord[],
  categories: string[],
  windowStartMs: number,
  windowEndMs: number,
  nowMs: number,
  holder?: Pick<WorkerRecord, 'registeredAt' | 'lastWorkedAt'>,
): string[] {
  const problems: string[] = [];
  for (const category of categories) {
    const candidates = certs.filter((c) => c.category === category);
    const problem = (c: CertificateRecord) => certificateProblem(c, category, windowStartMs, windowEndMs, nowMs, holder);
    if (candidates.some((c) => problem(c) === null)) continue;
    if (candidates.length === 0) {
      problems.push(`no ${category} certificate`);
    } else {
      problems.push(`${category}: ${candidates.map((c) => `${c.certificateId} ${problem(c)}`).join('; ')}`);
    }
  }
  return problems;
}

/** A review may be recorded from 60 days before the due date up to the due date itself. */
export function reviewWindowProblem(cert: CertificateRecord, nowMs: number): string | null {
  const due = parseIso(cert.reviewDue);
  if (nowMs < due - REVIEW_WINDOW_DAYS * DAY_MS) {
    return `the review window opens ${new Date(due - REVIEW_WINDOW_DAYS * DAY_MS).toISOString()} (${REVIEW_WINDOW_DAYS} days before the due date)`;
  }
  if (nowMs > due) return `the review was due ${cert.reviewDue} and was missed; the certificate is invalid and needs a new examination`;
  return null;
}

export function certificateAlerts(cert: CertificateRecord, nowMs: number): { reviewWindowOpen: boolean; reviewOverdue: boolean; expiresWithin60Days: boolean } {
  const due = parseIso(cert.reviewDue);
  const until = parseIso(cert.validUntil);
  return {
    reviewWindowOpen: nowMs >= due - REVIEW_WINDOW_DAYS * DAY_MS && nowMs <= due,
    reviewOverdue: nowMs > due,
    expiresWithin60Days: nowMs < until && until - nowMs <= EXPIRY_WARNING_DAYS * DAY_MS,
  };
}
